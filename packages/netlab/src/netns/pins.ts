// bpffs pin directories that a lab owns (e.g. an LB instance deployed inside it). Removal is
// limited to paths under /sys/fs/bpf so a bad registration can never delete anything else.
import { rmSync } from 'node:fs';
import { resolve } from 'node:path';

export const BPFFS_ROOT = '/sys/fs/bpf';

/** Throws unless `dir` is strictly below /sys/fs/bpf; returns it normalised. */
export function checkPinDir(dir: string): string {
  const abs = resolve(dir);
  if (!abs.startsWith(`${BPFFS_ROOT}/`)) throw new TypeError(`pin dir ${dir} is not below ${BPFFS_ROOT}`);
  return abs;
}

/** Removes pin dirs recursively (unpinning what is inside); missing ones are fine. */
export function removePinDirs(dirs: readonly string[]): void {
  for (const d of dirs) rmSync(checkPinDir(d), { recursive: true, force: true });
}
