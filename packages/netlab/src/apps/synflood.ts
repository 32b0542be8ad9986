// A bounded SYN flood from inside a lab host (lab-scripts/synflood.py, AF_PACKET): the one way the
// suites flood a load balancer, so that its pacing and its source-address scheme live in one place.
import { labScript } from '../lab/assets.js';
import type { NetnsLike } from '../netns/netns.js';

export interface SynFloodOptions {
  /** Source MAC: the sending interface's (LabHost.mac). */
  smac: string;
  /** Destination MAC: the next hop's (the LB host's LabHost.mac). */
  dmac: string;
  /** Destination address (the VIP). */
  dst: string;
  /** Default 80. */
  dport?: number;
  /** SYNs to send (default 10,000); with `seconds`, whichever ends first. */
  count?: number;
  /** Stop after this many seconds instead. */
  seconds?: number;
  /** First SYN's number: floods with different offsets come from different (address, port)s. */
  offset?: number;
  /** Pause after every burst of 64 frames, µs (default 300: the veth rings do not overflow). */
  pauseUs?: number;
  /** Default `eth0`. */
  iface?: string;
  /** Default: 30 s, or `seconds` + 20 s. */
  timeoutMs?: number;
}

/**
 * Sends spoofed TCP SYNs from `host`, each its own new flow: number n = i + offset comes from
 * 198.19.(n >> 8 & 255).(n & 255), port 1024 + (n * 7919) % 64000. Returns what was sent and how
 * long it took.
 */
export async function synFlood(host: NetnsLike, o: SynFloodOptions): Promise<{ sent: number; ms: number }> {
  const argv = ['python3', labScript('synflood.py'), '--iface', o.iface ?? 'eth0', '--smac', o.smac, '--dmac', o.dmac];
  argv.push('--dst', o.dst, '--dport', String(o.dport ?? 80), '--offset', String(o.offset ?? 0));
  if (o.count !== undefined) argv.push('--count', String(o.count));
  if (o.seconds !== undefined) argv.push('--seconds', String(o.seconds));
  if (o.pauseUs !== undefined) argv.push('--pause-us', String(o.pauseUs));
  const r = await host.exec(argv, { timeoutMs: o.timeoutMs ?? (o.seconds !== undefined ? (o.seconds + 20) * 1000 : 30_000) });
  return JSON.parse(r.stdout.trim()) as { sent: number; ms: number };
}
