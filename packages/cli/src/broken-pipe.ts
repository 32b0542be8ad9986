/**
 * Output whose reader went away (`lb --help | head -1`, `lb stats | head`): the write fails with
 * EPIPE, which Node (it ignores SIGPIPE) emits as an 'error' event on process.stdout/stderr and,
 * unhandled, turns into a crash with a stack trace. Handled here as a program killed by SIGPIPE
 * would end, without being killed mid-change: further output to that stream is dropped, a running
 * command is asked to stop as by Ctrl-C (SIGINT listeners: `lb stats`, `lb serve`; a one-shot command
 * such as a deploy finishes what it does), and the exit status is 141 (128 + SIGPIPE, what a shell
 * reports for `git log | head -1`), or the command's own failure status.
 */

/** 128 + SIGPIPE (13). */
export const EXIT_BROKEN_PIPE = 141;

export interface BrokenPipe {
  /** True once a guarded stream's reader has gone. */
  readonly broken: boolean;
  /** The exit status for a command that returned `code`. */
  exitCode(code: number): number;
}

/**
 * Guards `streams` (default: stdout and stderr); `stop` runs once, on the first broken pipe. The
 * EPIPE of a write often arrives after the command has returned (it is emitted on a later tick), so
 * the main entry applies exitCode() when the process exits: exitStatusOnExit().
 */
export function guardBrokenPipe(
  streams: NodeJS.WriteStream[] = [process.stdout, process.stderr],
  stop: () => void = () => process.emit('SIGINT'),
): BrokenPipe {
  let broken = false;
  const onError = (e: NodeJS.ErrnoException): void => {
    // ERR_STREAM_DESTROYED: a write after the EPIPE destroyed the stream; dropped as well.
    if (e.code !== 'EPIPE' && e.code !== 'ERR_STREAM_DESTROYED') throw e;
    if (broken) return;
    broken = true;
    stop();
  };
  for (const s of streams) s.on('error', onError);
  return {
    get broken() {
      return broken;
    },
    exitCode: (code) => (broken && code === 0 ? EXIT_BROKEN_PIPE : code),
  };
}

/** Sets the process's exit status to `pipe`'s verdict on it when the process exits. */
export function exitStatusOnExit(pipe: BrokenPipe): void {
  process.once('exit', (code) => {
    process.exitCode = pipe.exitCode(typeof process.exitCode === 'number' ? process.exitCode : code);
  });
}
