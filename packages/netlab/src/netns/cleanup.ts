// The process-wide safety net: everything that owns kernel state or a child process registers
// here, and is torn down synchronously when this process exits, is told to stop (SIGINT, SIGTERM,
// SIGHUP), or is about to die of an uncaught error. Synchronous because an 'exit' listener cannot
// wait for promises.

/** Something that can tear itself down without awaiting (idempotently). */
export interface SyncDestroyable {
  destroySync(): void;
}

const owners = new Set<SyncDestroyable>();
let installed = false;

/** Registers `owner` for teardown at exit; installs the hooks on first use. */
export function trackForExit(owner: SyncDestroyable): void {
  owners.add(owner);
  installHooks();
}

export function untrackForExit(owner: SyncDestroyable): void {
  owners.delete(owner);
}

/** Tears down everything registered, newest first (processes before the namespaces they run in). */
export function destroyAllSync(): void {
  for (const owner of [...owners].reverse()) {
    try {
      owner.destroySync();
    } catch (e) {
      process.stderr.write(`netlab: cleanup failed: ${(e as Error).message}\n`);
    }
    owners.delete(owner);
  }
}

function installHooks(): void {
  if (installed) return;
  installed = true;
  process.on('exit', destroyAllSync);
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    const onSignal = (): void => {
      destroyAllSync();
      // Listening to a signal disables Node's default "terminate". When nobody else listens,
      // restore that default and re-raise, so the process still dies of the signal.
      if (process.listenerCount(sig) === 1) {
        process.removeListener(sig, onSignal);
        process.kill(process.pid, sig);
      }
    };
    process.on(sig, onSignal);
  }
  // The monitor observes without changing behaviour; clean up only when the error is going to end
  // the process (nobody handles it). 'exit' is not emitted in that case.
  process.on('uncaughtExceptionMonitor', (_err, origin) => {
    const handled =
      process.listenerCount('uncaughtException') > 0 ||
      (origin === 'unhandledRejection' && process.listenerCount('unhandledRejection') > 0);
    if (!handled) destroyAllSync();
  });
}
