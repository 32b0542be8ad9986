// Small /proc readers: which processes live in a network namespace (what `ip netns pids` does,
// without spawning it, so exit handlers stay fast and synchronous) and whether a pid is still the
// process that created something (pids get reused; the start time tells them apart).
import { readdirSync, readFileSync, readlinkSync, statSync } from 'node:fs';
import { NETNS_DIR } from './names.js';

/** Pids whose network namespace is one of the named ones (by inode, as `ip netns pids` does). */
export function pidsInNetns(names: readonly string[]): Map<string, number[]> {
  const byInode = new Map<number, string>();
  for (const name of names) {
    try {
      byInode.set(statSync(`${NETNS_DIR}/${name}`).ino, name);
    } catch {
      // gone already
    }
  }
  const out = new Map<string, number[]>(names.map((n) => [n, []]));
  if (byInode.size === 0) return out;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const link = readlinkSync(`/proc/${entry}/ns/net`); // "net:[4026532283]"
      const name = byInode.get(Number(link.slice(5, -1)));
      if (name !== undefined && Number(entry) !== process.pid) out.get(name)?.push(Number(entry));
    } catch {
      // exited meanwhile, or a kernel thread
    }
  }
  return out;
}

/** Start time of `pid` in clock ticks since boot (field 22 of /proc/<pid>/stat), or undefined if gone. */
export function processStartTime(pid: number): string | undefined {
  return statFields(pid)?.[19];
}

/** Fields 3.. of /proc/<pid>/stat (state first), or undefined if the process is gone. */
function statFields(pid: number): string[] | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may contain spaces and parentheses: split after the last ')'.
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  } catch {
    return undefined;
  }
}

/** True while `pid` runs (not a zombie; and, when `startTime` is given, is still the same process). */
export function processAlive(pid: number, startTime?: string): boolean {
  try {
    process.kill(pid, 0);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  const fields = statFields(pid);
  if (!fields || fields[0] === 'Z') return false; // exited, waiting to be reaped
  return startTime === undefined || fields[19] === startTime;
}

/** SIGKILLs every pid, ignoring the ones already gone. */
export function killAll(pids: Iterable<number>): number[] {
  const killed: number[] = [];
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
      killed.push(pid);
    } catch {
      // gone
    }
  }
  return killed;
}
