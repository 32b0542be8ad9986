import { ipToBytes, parseIp } from '../config/address.js';
import { cpus } from 'node:os';
import { halfOpenSize } from '../config/defaults.js';
import type { LbConfig } from '../config/types.js';
import { needsVipNets } from '../config/prefix.js';

/**
 * The data plane's `const volatile` knobs (bpf/lib/config.h, documented in bpf/README.md), as the
 * buffers BpfObject.setVariable() writes before load. Fixed for the program's life: changing one
 * means a re-deploy (which keeps conntrack).
 */
export function rodataFor(cfg: LbConfig): Record<string, Buffer> {
  const sec = (s: number) => u64(BigInt(s) * 1_000_000_000n);
  return {
    tcp_timeout_ns: sec(cfg.limits.tcpTimeoutSec),
    tcp_closing_timeout_ns: sec(cfg.limits.tcpClosingTimeoutSec),
    // half-open TCP flows (bpf/lib/halfopen.h)
    syn_timeout_ns: sec(cfg.limits.synTimeoutSec),
    udp_timeout_ns: sec(cfg.limits.udpTimeoutSec),
    // NAT: TIME_WAIT-safe reuse of a TCP SNAT port (bpf/README.md "Port reuse and TIME_WAIT").
    snat_reuse_ns: sec(cfg.limits.snatReuseSec),
    hash_seed: u32(cfg.hashSeed),
    // SYN-flood guard, new flows per second per CPU (bpf/README.md "Connection tracking under
    // pressure"); 0 = never.
    ct_new_rate: u32(cfg.limits.newFlowsPerSec),
    // ... and keyed to the half-open table's pressure: past the rate per CPU that replaces the whole
    // table within 100 ms, dsr services of a stateless strategy go stateless (bpf/lib/flood.h); off
    // with the guard.
    ct_syn_churn: u32(cfg.limits.newFlowsPerSec ? Math.ceil((10 * halfOpenSize(cfg.limits)) / Math.max(1, cpus().length)) : 0),
    icmp_echo: u32(cfg.limits.icmpEcho ? 1 : 0),
    // Path MTU discovery through the LB (bpf/lib/toobig.h): ICMP too-big messages per second per CPU.
    icmp_too_big_rate: u32(cfg.limits.icmpTooBigPerSec),
    // Outer source prefixes of ipip / ip6ip6, as network-order bytes (the low 16 / 32 bits are the data plane's).
    encap_src4: Buffer.from(ipToBytes({ text: cfg.limits.encapSource4, family: 4 }).subarray(12, 16)),
    encap_src6: Buffer.from(ipToBytes(parseIp(cfg.limits.encapSource6) ?? { text: '100::', family: 6 })),
    gue_port: u32(cfg.limits.guePort),
    // Large prefix VIPs (bpf/lib/service.h): only then does the not-for-us path read lb_vip_nets.
    vip_nets: u32(needsVipNets(cfg) ? 1 : 0),
    // Chained: what xdp-lb passes on goes to this slot of the chain (CHAIN_OFF: plain XDP_PASS).
    chain_next_slot: u32(cfg.chain?.next ?? 0xffffffff),
    // Cluster flow sync (bpf/lib/flowsync.h): records for the agent, a live flow re-sent once per
    // period; two periods stay below the shortest idle timeout, so a peer's copy never idles out
    // while the flow lives.
    flow_sync: u32(cfg.cluster ? 1 : 0),
    flow_sync_shift: u32(flowSyncShift(cfg)),
    ...(cfg.snat ? { snat_port_min: u32(cfg.snat.portMin), snat_port_max: u32(cfg.snat.portMax) } : {}),
  };
}

/** The largest period 2^shift ns (at most 2^33, 8.6 s) of which two fit in the shortest idle timeout. */
export function flowSyncShift(cfg: LbConfig): number {
  const shortest = Math.min(cfg.limits.tcpTimeoutSec, cfg.limits.udpTimeoutSec) * 1e9;
  let shift = 33;
  while (shift > 20 && 2 * 2 ** shift >= shortest) shift--;
  return shift;
}

function u64(n: bigint): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(n);
  return b;
}

function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n >>> 0);
  return b;
}
