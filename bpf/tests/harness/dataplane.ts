/**
 * One strategy object loaded for BPF_PROG_TEST_RUN, with the maps filled the way the control plane
 * fills them (but from the test): addresses (lb_addrs and their lb_addr_slots), services, backends,
 * slot tables, SNAT pool. Next hops are static (lb_nh.checked_ns = LB_NH_STATIC) unless a test asks
 * for the FIB.
 */
import { it } from 'vitest';
import { BUILTIN_IDS, builtinStrategy } from '@xdp-lb/builtins';
import { BpfMap, BpfObject, type BpfProgram, MapFlags, MapType, probe, XdpAction } from '@xdp-lb/native';
import { parseMac } from '@xdp-lb/netlab';
import {
  addr,
  addrSlot,
  addrSlotValue,
  backendValue,
  type BackendValue,
  type Counters,
  CT_OFF,
  type CtValue,
  decodeAddrSlot,
  decodeCt,
  decodeNh,
  decodeSnatVal,
  type Flow,
  flowKey,
  LB_ADDR_FT,
  LB_ADDR_VIP,
  LB_FWD_DSR,
  LB_FWD_GUE,
  LB_FWD_IP6IP6,
  LB_FWD_IPIP,
  LB_FWD_NAT,
  LB_NH_STATIC,
  LB_SLOT_EMPTY,
  LB_SLOT_ONE,
  LB_SLOT_SHARED,
  netKey,
  type NhValue,
  nhValue,
  type Proto,
  type Reason,
  REASONS,
  type SnatValue,
  sumCounters,
  svcKey,
  svcNetKey,
  svcValue,
  type SvcValue,
  u32,
  u64,
} from './abi.js';
import { MAC } from './frames.js';
import { FlowTable } from './flowtab.js';

/** A built-in strategy's id (@xdp-lb/builtins). */
export type StrategyId = string;
const FWD = { dsr: LB_FWD_DSR, nat: LB_FWD_NAT, ipip: LB_FWD_IPIP, ip6ip6: LB_FWD_IP6IP6, gue: LB_FWD_GUE } as const;
/** The built-in strategies, from their registry (a strategy registered there runs in every suite that runs per strategy). */
export const STRATEGIES: readonly StrategyId[] = [...BUILTIN_IDS].sort();

/** The strategy's built object; XDP_LB_TEST_OBJ_DIR=<dir> takes `<dir>/lb_<id>.bpf.o` instead (a build of work in progress). */
export function objectPath(id: StrategyId): string {
  const dir = process.env.XDP_LB_TEST_OBJ_DIR;
  if (dir) return `${dir}/lb_${id}.bpf.o`;
  return builtinStrategy(id).objectPath;
}

/** Why kernel-facing tests cannot run here (null: they can). */
export const bpfSkipReason: string | null = (() => {
  try {
    const p = probe();
    if (!p.bpf) return `no usable bpf(): ${p.reasons.join('; ')}`;
    if (!p.xdp) return `no XDP: ${p.reasons.join('; ')}`;
    return null;
  } catch (e) {
    return `native addon unavailable: ${(e as Error).message}`;
  }
})();

/**
 * XLB_TEST_FT=1: the suites run with the flow table on (bpf/lib/flowtab.h; see loadObject). A test
 * that states lb_ct's or lb_ct_syn's own behaviour where the flow table differs by design says so
 * with `it.skipIf(FT_MODE)` and names the flowtab.test.ts test that states the table's.
 */
export const FT_MODE = Boolean(process.env['XLB_TEST_FT']);

/**
 * `it`, skipped in the flow-table pass (FT_MODE) with `why` printed: for a test that states lb_ct's
 * own behaviour where the flow table differs by design (`why` names the test that states the
 * table's).
 */
export function itLbCtOnly(why: string): ReturnType<typeof it.skipIf> {
  if (FT_MODE) console.warn(`[bpf flow-table pass] skipped: ${why}`);
  return it.skipIf(FT_MODE);
}

/** Rodata knobs (bpf/lib/config.h); numbers or bigints, encoded at each variable's own size. */
export type Knobs = Partial<
  Record<
    | 'tcp_timeout_ns'
    | 'tcp_closing_timeout_ns'
    | 'udp_timeout_ns'
    | 'ct_refresh_ns'
    | 'nh_refresh_ns'
    | 'snat_grace_ns'
    | 'snat_reuse_ns'
    | 'chain_next_slot'
    | 'filter_udp_port'
    | 'hash_seed'
    | 'snat_port_min'
    | 'snat_port_max'
    | 'ct_new_rate'
    | 'icmp_echo'
    | 'frag_timeout_ns'
    | 'encap_src4'
    | 'encap_src6'
    | 'icmp_too_big_rate'
    | 'gue_port'
    | 'vip_nets'
    | 'flow_sync'
    | 'flow_sync_shift'
    | 'flow_sync_rate'
    | 'ft_mask',
    number | bigint | Buffer
  >
>;

export const VERDICT: Record<number, string> = {
  [XdpAction.ABORTED]: 'ABORTED',
  [XdpAction.DROP]: 'DROP',
  [XdpAction.PASS]: 'PASS',
  [XdpAction.TX]: 'TX',
  [XdpAction.REDIRECT]: 'REDIRECT',
};
export type Verdict = 'ABORTED' | 'DROP' | 'PASS' | 'TX' | 'REDIRECT';

export interface RunResult {
  verdict: Verdict;
  data: Buffer;
}

export interface BackendSpec extends BackendValue {
  /** The backend's MAC for a static next hop; null: leave lb_nh empty (the FIB fills it). */
  mac?: string | null;
  /** Egress interface of the static next hop; default 1 (loopback: the test run's ingress). */
  ifindex?: number;
}

export interface ServiceSpec extends Omit<SvcValue, 'fwd'> {
  vip: string;
  port: number;
  proto: Proto;
  fwd: 'dsr' | 'nat' | 'ipip' | 'ip6ip6' | 'gue';
}

export class TestDataplane {
  readonly program: BpfProgram;

  private constructor(
    /** The strategy id, or for an assembled program (several strategies) the label it was loaded with. */
    readonly strategy: string,
    readonly object: BpfObject,
  ) {
    this.program = object.program('xdp_lb');
  }

  /**
   * Opens, configures (rodata) and loads the strategy's object. lb_ct and lb_snat get `ctSize`
   * entries (default 65536, as the control plane resizes them before load), which keeps loads fast;
   * lb_ct_syn `halfSize` (default `ctSize`), and then lb_snat `ctSize + halfSize`.
   * `reuse`: maps of the object replaced by existing ones (bpf_map__reuse_fd) before load.
   */
  static async load(
    strategy: StrategyId,
    knobs: Knobs = {},
    ctSize = 65536,
    reuse: Record<string, BpfMap> = {},
    halfSize?: number,
  ): Promise<TestDataplane> {
    return TestDataplane.loadObject(objectPath(strategy), strategy, knobs, ctSize, reuse, halfSize);
  }

  /** As load(), from any object (`label` names it in messages): a program core assembled from several strategies. */
  static async loadObject(
    file: string,
    label: string,
    knobs: Knobs = {},
    ctSize = 65536,
    reuse: Record<string, BpfMap> = {},
    halfSize?: number,
  ): Promise<TestDataplane> {
    const strategy = label;
    // XLB_TEST_FT=1: every suite with the flow table on (bpf/lib/flowtab.h), sized as core deploys
    // it: 2 slots per conntrack entry
    if (FT_MODE && knobs.ft_mask === undefined) knobs = { ...knobs, ft_mask: Math.max(1024, ctSize / 2) - 1 };
    const object = BpfObject.open(file);
    try {
      // e.g. lb_root_progs: the chain root's array, as the control plane reuses its pin
      for (const [name, m] of Object.entries(reuse)) object.map(name).reuseFd(m);
      object.map('lb_ct').setMaxEntries(ctSize);
      object.map('lb_ct_syn').setMaxEntries(halfSize ?? ctSize);
      // as the control plane sizes it: room for the established and the half-open flows' reverse entries
      object.map('lb_snat').setMaxEntries(ctSize + (halfSize ?? 0));
      // the flow table (bpf/lib/flowtab.h): on when the test sets ft_mask, sized to match it
      if (knobs.ft_mask !== undefined && Number(knobs.ft_mask) > 0) object.map('lb_ft4').setMaxEntries(Number(knobs.ft_mask) + 1);
      const vars = new Map(object.variables().map((v) => [v.name, v]));
      for (const [name, value] of Object.entries(knobs)) {
        const v = vars.get(name);
        if (!v) throw new Error(`${strategy}: no rodata variable ${name}`);
        object.setVariable(name, Buffer.isBuffer(value) ? value : v.size === 8 ? u64(BigInt(value)) : u32(Number(value)));
      }
      await object.load();
      const dp = new TestDataplane(strategy, object);
      if (Number(knobs.ft_mask ?? 0) > 0) dp.ft = new FlowTable(object.map('lb_ft4'), Number(knobs.hash_seed ?? 0));
      return dp;
    } catch (e) {
      object.dispose();
      throw e;
    }
  }

  /** lb_ft4 when the program was loaded with the flow table on (knob ft_mask), else null. */
  ft: FlowTable | null = null;

  dispose(): void {
    this.object.dispose();
  }

  map(name: string): BpfMap {
    return this.object.map(name);
  }

  variable(name: string): Buffer {
    return this.object.getVariable(name);
  }

  /** Our addresses as the test gave them (lb_addrs' content), for their lb_addr_slots slots. */
  private readonly addrs = new Map<string, { ip: string; flags: number }>();

  /**
   * An address into lb_addrs, then its lb_addr_slots slot (as the control plane orders it: a slot
   * names an address only once lb_addrs holds it). Setting an address again changes its flags.
   */
  addAddr(ip: string, flags: number): void {
    // with the flow table on, every VIP as if it had a dsr/ipip/gue service (core sets LB_ADDR_FT
    // only then; unset, the table is not looked up: flowtab.test.ts tests that with addAddrExact)
    if (this.ft && flags & LB_ADDR_VIP) flags |= LB_ADDR_FT;
    this.addAddrExact(ip, flags);
  }

  /** addAddr with exactly these flags. */
  addAddrExact(ip: string, flags: number): void {
    this.map('lb_addrs').update(addr(ip), u32(flags));
    this.addrs.set(addr(ip).toString('hex'), { ip, flags });
    this.writeSlot(this.slotOf(ip));
  }

  /** An address out of its slot, then out of lb_addrs. */
  removeAddr(ip: string): void {
    this.addrs.delete(addr(ip).toString('hex'));
    this.writeSlot(this.slotOf(ip));
    this.map('lb_addrs').delete(addr(ip));
  }

  /** The lb_addr_slots index of an address (the harness's own reading of lb_hash.h). */
  slotOf(ip: string): number {
    return addrSlot(ip, this.map('lb_addr_slots').maxEntries);
  }

  /** What the data plane reads in an address's slot. */
  slot(ip: string): ReturnType<typeof decodeAddrSlot> {
    return decodeAddrSlot(this.map('lb_addr_slots').lookup(u32(this.slotOf(ip))) as Buffer);
  }

  /** Slot `index` from the addresses hashing to it: none EMPTY, one ONE, more SHARED. Tests run
   * one packet at a time, so one write per change will do (core's planner orders them for
   * readers on other CPUs: packages/core/src/dataplane/addr-slots.ts). */
  private writeSlot(index: number): void {
    const here = [...this.addrs.values()].filter((a) => this.slotOf(a.ip) === index);
    const value =
      here.length === 0
        ? { addr: null, flags: 0, state: LB_SLOT_EMPTY }
        : here.length === 1
          ? { addr: here[0]!.ip, flags: here[0]!.flags, state: LB_SLOT_ONE }
          : { addr: null, flags: 0, state: LB_SLOT_SHARED };
    this.map('lb_addr_slots').update(u32(index), addrSlotValue(value));
  }

  addService(s: ServiceSpec): void {
    this.map('lb_services').update(svcKey(s.vip, s.port, s.proto), svcValue({ ...s, fwd: FWD[s.fwd] }));
  }

  /** A large prefix VIP ("198.18.10.0/24") into lb_vip_nets with its roles (needs the knob vip_nets). */
  addNet(prefix: string, flags: number): void {
    this.map('lb_vip_nets').update(netKey(prefix), u32(flags));
  }

  /** A large prefix VIP's service into lb_svc_nets (`vip` is the prefix). */
  addNetService(s: ServiceSpec): void {
    this.map('lb_svc_nets').update(svcNetKey(s.vip, s.port, s.proto), svcValue({ ...s, fwd: FWD[s.fwd] }));
  }

  /** A QUIC service's server id -> backend id (lb_quic_ids). */
  setQuicId(svcId: number, serverId: number, backendId: number): void {
    const k = Buffer.alloc(8);
    k.writeUInt32LE(svcId, 0);
    k.writeUInt32LE(serverId, 4);
    this.map('lb_quic_ids').update(k, u32(backendId));
  }

  removeService(vip: string, port: number, proto: Proto): void {
    this.map('lb_services').delete(svcKey(vip, port, proto));
  }

  setBackend(id: number, b: BackendSpec): void {
    this.map('lb_backends').update(u32(id), backendValue(b));
    const mac = b.mac === undefined ? backendMac(id) : b.mac;
    const nh: NhValue =
      mac === null
        ? { dmac: Buffer.alloc(6), smac: Buffer.alloc(6), ifindex: 0, checkedNs: 0n }
        : { dmac: parseMac(mac), smac: parseMac(MAC.lb), ifindex: b.ifindex ?? 1, checkedNs: LB_NH_STATIC };
    this.map('lb_nh').update(u32(id), nhValue(nh));
  }

  nextHop(id: number): NhValue {
    return decodeNh(this.map('lb_nh').lookup(u32(id)) as Buffer);
  }

  /** Swaps in a new slot table for a service: slot[0] = n, slot[1..n] = ids. */
  setTable(svcId: number, ids: ArrayLike<number>): void {
    const inner = BpfMap.create({
      type: MapType.ARRAY,
      keySize: 4,
      valueSize: 4,
      maxEntries: ids.length + 1,
      flags: MapFlags.INNER_MAP,
      name: `lb_tbl_${svcId}`,
    });
    try {
      const keys = [u32(0)];
      const values = [u32(ids.length)];
      for (let i = 0; i < ids.length; i++) {
        keys.push(u32(i + 1));
        values.push(u32(ids[i]!));
      }
      for (let i = 0; i < keys.length; i++) inner.update(keys[i]!, values[i]!);
      this.map('lb_tables').update(u32(svcId), inner);
    } finally {
      inner.dispose();
    }
  }

  setSnatPool(index: number, ip: string): void {
    this.map('lb_snat_pool').update(u32(index), addr(ip));
  }

  /** BPF_PROG_TEST_RUN of one frame; the ingress interface is loopback unless given. */
  run(frame: Buffer, ingressIfindex = 1): RunResult {
    const ctx = Buffer.alloc(24);
    ctx.writeUInt32LE(frame.length, 4); // data_end: the kernel wants the data length
    ctx.writeUInt32LE(ingressIfindex, 12);
    const r = this.program.testRun({ data: frame, ctx });
    return { verdict: (VERDICT[r.retval] ?? `retval ${r.retval}`) as Verdict, data: r.data as Buffer };
  }

  reasons(): Record<Reason, bigint> {
    const m = this.map('lb_reasons');
    const out = {} as Record<Reason, bigint>;
    REASONS.forEach((name, i) => {
      const v = m.lookup(u32(i)) as Buffer[];
      out[name] = v.reduce((a, b) => a + b.readBigUInt64LE(0), 0n);
    });
    return out;
  }

  /** Reason counters added by `fn`. Only non-zero ones are listed. */
  countDelta(fn: () => void): Partial<Record<Reason, number>> {
    const before = this.reasons();
    fn();
    const after = this.reasons();
    const out: Partial<Record<Reason, number>> = {};
    for (const r of REASONS) if (after[r] !== before[r]) out[r] = Number(after[r] - before[r]);
    return out;
  }

  /**
   * The flow's conntrack entry: established (lb_ct), else half-open (lb_ct_syn, `half` true). TCP
   * flows start half-open (bpf/lib/halfopen.h); established() and halfOpen() read one table.
   */
  ct(flow: Flow): (CtValue & { half: boolean }) | null {
    const e = this.established(flow);
    if (e) return { ...e, half: false };
    const h = this.halfOpen(flow);
    return h ? { ...h, half: true } : null;
  }

  /** The flow's lb_ct entry (an established TCP flow, or UDP); with the flow table on, its
   * lb_ft4 slot first (an established one). */
  established(flow: Flow): CtValue | null {
    const s = this.ftSlot(flow);
    if (s) return s.half ? null : s;
    const v = this.map('lb_ct').lookup(flowKey(flow));
    return v ? decodeCt(v as Buffer) : null;
  }

  /** The flow's lb_ct_syn entry (a half-open TCP flow). */
  halfOpen(flow: Flow): CtValue | null {
    const s = this.ftSlot(flow);
    if (s) return s.half ? s : null;
    const v = this.map('lb_ct_syn').lookup(flowKey(flow));
    return v ? decodeCt(v as Buffer) : null;
  }

  /** The flow's lb_ft4 slot (an IPv4 flow, the flow table on). */
  ftSlot(flow: Flow): ReturnType<FlowTable['find']> {
    return this.ft && !flow.src.includes(':') ? this.ft.find(flow) : null;
  }

  /** The table that holds the flow's entry (lb_ct first). */
  private ctMapOf(flow: Flow): BpfMap {
    const key = flowKey(flow);
    return this.map('lb_ct').lookup(key) || !this.map('lb_ct_syn').lookup(key) ? this.map('lb_ct') : this.map('lb_ct_syn');
  }

  /**
   * Time passes for one conntrack entry without sleeping: its last packet (seen_ns, coarse clock)
   * becomes `ns` older. The data plane's clock keeps running, so the age it sees is `ns` plus the
   * real time since: assert "not yet" with an age that leaves a margin below the limit.
   */
  ageCt(flow: Flow, ns: bigint): void {
    if (this.ftSlot(flow)) return this.ft!.age(flow, ns);
    this.ageIn(this.ctMapOf(flow), flow, ns, 'ageCt: no lb_ct entry');
  }

  /** ageCt for the flow's half-open entry (lb_ct_syn), when lb_ct holds one of the tuple too. */
  ageHalfOpen(flow: Flow, ns: bigint): void {
    if (this.ftSlot(flow)?.half) return this.ft!.age(flow, ns);
    this.ageIn(this.map('lb_ct_syn'), flow, ns, 'ageHalfOpen: no lb_ct_syn entry');
  }

  private ageIn(m: BpfMap, flow: Flow, ns: bigint, missing: string): void {
    const raw = m.lookup(flowKey(flow)) as Buffer | null;
    if (!raw) throw new Error(`${missing} for ${JSON.stringify(flow)}`);
    raw.writeBigUInt64LE(raw.readBigUInt64LE(CT_OFF.seenNs) - ns, CT_OFF.seenNs);
    m.update(flowKey(flow), raw);
  }

  /** Rewrites one byte of a conntrack entry (e.g. close_reason 0, as an older program left it). */
  setCtByte(flow: Flow, offset: number, value: number): void {
    if (this.ftSlot(flow)) {
      // a slot has no lb_ct layout: only its flags byte has a place there (lb_ft_slot.flags)
      if (offset !== CT_OFF.flags) throw new Error(`setCtByte: lb_ft4 slots have no byte ${offset} of struct lb_ct`);
      return this.ft!.edit(flow, (b, o) => {
        b[o + 15] = value;
      });
    }
    const m = this.ctMapOf(flow);
    const raw = m.lookup(flowKey(flow)) as Buffer;
    raw[offset] = value;
    m.update(flowKey(flow), raw);
  }

  /**
   * The same for a TCP tombstone (nat.h: a reverse entry's lease with the top bit set and the coarse
   * time it was stamped, in 2^20 ns units): the stamp becomes `ns` older.
   */
  ageTomb(reply: Flow, ns: bigint): void {
    const m = this.map('lb_snat');
    const raw = m.lookup(flowKey(reply)) as Buffer | null;
    const lease = raw?.readUInt32LE(36) ?? 0;
    if (!raw || lease >>> 31 !== 1 || lease === 0xffffffff)
      throw new Error(`ageTomb: ${JSON.stringify(reply)} holds no tombstone (lease ${lease})`);
    let aged = (0x80000000 | ((lease - Number(ns >> 20n)) & 0x7fffffff)) >>> 0;
    if (aged === 0xffffffff) aged -= 1; // never LB_SNAT_LEASE_BUSY (lb_snat_tomb does the same)
    raw.writeUInt32LE(aged, 36);
    m.update(flowKey(reply), raw);
  }

  deleteCt(flow: Flow): boolean {
    if (this.ftSlot(flow)) return this.ft!.forget(flow);
    return this.ctMapOf(flow).delete(flowKey(flow));
  }

  /** The reverse NAT entry of a reply tuple (src = backend, dst = SNAT address). */
  snat(reply: Flow): SnatValue | null {
    const v = this.map('lb_snat').lookup(flowKey(reply));
    return v ? decodeSnatVal(v as Buffer) : null;
  }

  deleteSnat(reply: Flow): boolean {
    return this.map('lb_snat').delete(flowKey(reply));
  }

  svcStats(id: number): Counters {
    return sumCounters(this.map('lb_svc_stats').lookup(u32(id)) as Buffer[]);
  }

  beStats(id: number): Counters {
    return sumCounters(this.map('lb_be_stats').lookup(u32(id)) as Buffer[]);
  }
}

/** The MAC the suite gives backend `id` (02:be:00:00:hi:lo): a frame's destination MAC names its backend. */
export function backendMac(id: number): string {
  const hex = (n: number) => n.toString(16).padStart(2, '0');
  return `02:be:00:00:${hex((id >> 8) & 0xff)}:${hex(id & 0xff)}`;
}

/** The backend id a frame was sent to, read from its destination MAC (see backendMac). */
export function backendOf(frame: Buffer): number {
  if (frame[0] !== 0x02 || frame[1] !== 0xbe) return -1;
  return frame.readUInt16BE(4);
}
