import { readFileSync } from 'node:fs';
import { LbError } from './errors.js';

const CAP_NET_ADMIN = 12;
const CAP_SYS_ADMIN = 21;
const CAP_BPF = 39;

/** Effective capabilities of this process, from /proc/self/status. */
function effectiveCaps(): bigint {
  const line = readFileSync('/proc/self/status', 'utf8').split('\n').find((l) => l.startsWith('CapEff:'));
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
