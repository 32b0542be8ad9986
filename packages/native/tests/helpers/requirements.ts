/**
 * Whether this process may run the kernel-facing suites, and why not. Suites call
 * `describe.skipIf(reason !== null)` and print the reason, so a run without privileges says what
 * it skipped instead of failing.
 */
import { spawnSync } from 'node:child_process';
import { probe } from '@xdp-lb/native';

function computeBpfReason(): string | null {
  const p = probe();
  if (!p.bpf) return `no usable bpf(): ${p.reasons.join('; ')}`;
  if (!p.xdp) return `no XDP: ${p.reasons.join('; ')}`;
  return null;
}

function computeNetnsReason(): string | null {
  const bpf = computeBpfReason();
  if (bpf !== null) return bpf;
  if (process.getuid?.() !== 0) return 'not root: creating network namespaces and veths needs root';
  const ip = spawnSync('ip', ['-V'], { encoding: 'utf8' });
  if (ip.status !== 0) return 'iproute2 (ip) is not installed';
  return null;
}

/** null when BPF objects can be loaded, else why not. */
export const bpfSkipReason: string | null = computeBpfReason();
/** null when namespaces, veths and XDP attach can be used, else why not. */
export const netnsSkipReason: string | null = computeNetnsReason();

export function announceSkip(suite: string, reason: string | null): void {
  if (reason !== null) console.warn(`[${suite}] skipped: ${reason}`);
}
