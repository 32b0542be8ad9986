import { existsSync, readFileSync, statfsSync } from 'node:fs';
import { dirname } from 'node:path';
import { bpffsRoot } from '../state/paths.js';
import { NetnsScope } from '../dataplane/netns.js';
import { LbError } from './errors.js';

const CAP_NET_ADMIN = 12;
const CAP_SYS_ADMIN = 21;
const CAP_BPF = 39;

/** Effective capabilities of this process, from /proc/self/status. */
function effectiveCaps(): bigint {
  const line = readFileSync('/proc/self/status', 'utf8')
    .split('\n')
    .find((l) => l.startsWith('CapEff:'));
  return line ? BigInt(`0x${line.split(/\s+/)[1]}`) : 0n;
}

const has = (caps: bigint, bit: number) => (caps & (1n << BigInt(bit))) !== 0n;

/** Whether this process may load BPF and attach XDP (CAP_BPF or CAP_SYS_ADMIN, and CAP_NET_ADMIN). */
export function hasPrivileges(): boolean {
  const caps = effectiveCaps();
  return (has(caps, CAP_BPF) || has(caps, CAP_SYS_ADMIN)) && has(caps, CAP_NET_ADMIN);
}

/** Throws a one-line reason unless this process may load BPF and attach XDP. */
export function requirePrivileges(action: string): void {
  if (hasPrivileges()) return;
  throw new LbError(`${action}: needs CAP_BPF and CAP_NET_ADMIN (run as root)`, 'EPERM');
}

/** statfs f_type of a BPF filesystem (linux/magic.h BPF_FS_MAGIC). */
const BPF_FS_MAGIC = 0xcafe4a11;

/**
 * Throws a one-line reason unless the pin root lies on a BPF filesystem: without one, the load
 * failed later with a bare "Invalid argument" from libbpf's pinning.
 */
export function requireBpffs(): void {
  let dir = bpffsRoot();
  while (!existsSync(dir) && dirname(dir) !== dir) dir = dirname(dir);
  if (statfsSync(dir).type === BPF_FS_MAGIC) return;
  throw new LbError(
    `${dir} is not a BPF filesystem, so nothing can be pinned there: mount one (mount -t bpf bpf /sys/fs/bpf) or point XDP_LB_BPFFS into one`,
    'ENOTSUP',
  );
}

/** Throws a one-line reason when a named namespace does not exist (else its interfaces look missing). */
export function requireNetns(netns: string | null): void {
  const p = new NetnsScope(netns).path;
  if (p !== null && !existsSync(p))
    throw new LbError(`no network namespace ${netns} (${p}): ip netns list shows the ones there are`, 'ENOENT');
}
