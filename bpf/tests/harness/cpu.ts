/**
 * CPU pinning for tests of per-CPU state (lb_flood's window, lb_scratch's caches, which CPU wins an
 * insert), with taskset(1).
 */
import { execFileSync } from 'node:child_process';

/** Why taskset cannot be used here (null: it can). */
export const tasksetSkipReason: string | null = (() => {
  try {
    execFileSync('taskset', ['-p', String(process.pid)], { stdio: 'pipe' });
    return null;
  } catch (e) {
    return `taskset unavailable: ${(e as Error).message}`;
  }
})();

/** Pins every thread of this process to CPU 0; returns the call that restores the previous mask. */
export function pinToCpu0(): () => void {
  const out = execFileSync('taskset', ['-p', String(process.pid)], { encoding: 'utf8' });
  const mask = /:\s*([0-9a-f]+)\s*$/.exec(out.trim())?.[1] ?? 'ffffffff';
  execFileSync('taskset', ['-a', '-p', '-c', '0', String(process.pid)], { stdio: 'pipe' });
  return () => execFileSync('taskset', ['-a', '-p', mask, String(process.pid)], { stdio: 'pipe' });
}
