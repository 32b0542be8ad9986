/**
 * Whether this process may run the kernel-facing suites, and why not. Suites call
 * `describe.skipIf(reason !== null)` and print the reason, so a run without privileges says what
 * it skipped instead of failing.
 *
 * CI guard: with XDP_LB_REQUIRE_KERNEL=1 (scripts/test.sh sets it) a whole kernel suite that would
 * skip for want of BPF, privileges or namespaces fails instead: a green run that tested nothing is
 * worse than a red one. A test of one optional kernel feature (live frames) still skips, with the
 * probe's reason printed.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { probe } from '@xdp-lb/native';

const CAP_NET_ADMIN = 12n;
const CAP_SYS_ADMIN = 21n;

function hasCapability(bit: bigint): boolean {
  const line = readFileSync('/proc/self/status', 'utf8').match(/^CapEff:\s*([0-9a-f]+)$/m);
  return line !== null && ((BigInt(`0x${line[1]}`) >> bit) & 1n) === 1n;
}

/** The machine, probed once per test file (the live-frames probe loads and runs a program). */
const probed = probe();

function computeBpfReason(): string | null {
  const p = probed;
  if (!p.bpf) return `no usable bpf(): ${p.reasons.join('; ')}`;
  if (!p.xdp) return `no XDP: ${p.reasons.join('; ')}`;
  return null;
}

function computeNetnsReason(): string | null {
  if (bpfSkipReason !== null) return bpfSkipReason;
  if (process.getuid?.() !== 0) return 'not root: creating network namespaces and veths needs root';
  if (!hasCapability(CAP_SYS_ADMIN)) return 'no CAP_SYS_ADMIN: entering a network namespace (setns) needs it';
  if (!hasCapability(CAP_NET_ADMIN)) return 'no CAP_NET_ADMIN: XDP attach needs it';
  const ip = spawnSync('ip', ['-V'], { encoding: 'utf8' });
  if (ip.status !== 0) return 'iproute2 (ip) is not installed';
  return null;
}

/** null when BPF objects can be loaded, else why not. */
export const bpfSkipReason: string | null = computeBpfReason();
/** null when BPF objects can also be opened by id (bpf_*_get_fd_by_id needs CAP_SYS_ADMIN), else why not. */
export const byIdSkipReason: string | null =
  bpfSkipReason ?? (hasCapability(CAP_SYS_ADMIN) ? null : 'no CAP_SYS_ADMIN: opening BPF objects by id needs it');
/** null when namespaces, veths and XDP attach can be used, else why not. */
export const netnsSkipReason: string | null = computeNetnsReason();

/** null when BPF_PROG_RUN takes BPF_F_TEST_XDP_LIVE_FRAMES (the addon's probe), else the probe's reason. */
export const liveFramesSkipReason: string | null = (() => {
  if (bpfSkipReason !== null) return bpfSkipReason;
  const p = probed;
  return p.liveFrames ? null : (p.reasons.find((r) => r.includes('live frames')) ?? `live frames refused (${p.liveFramesErrno})`);
})();

/**
 * Prints why a suite is skipped. A whole kernel suite (`optional` false) may not skip where
 * XDP_LB_REQUIRE_KERNEL=1: it throws, failing the file.
 */
export function announceSkip(suite: string, reason: string | null, optional = false): void {
  if (reason === null) return;
  if (!optional && process.env.XDP_LB_REQUIRE_KERNEL === '1') {
    throw new Error(`[${suite}] cannot run and XDP_LB_REQUIRE_KERNEL=1 forbids skipping it: ${reason}`);
  }
  console.warn(`[${suite}] skipped: ${reason}`);
}
