import { join } from 'node:path';
import { BpfMap, type BpfObject } from '@xdp-lb/native';
import type { IpAddress } from '../config/address.js';
import * as abi from './abi.js';
import { planAddrSlots, type SlotAddress } from './addr-slots.js';

const BPF_MAP_TYPE_ARRAY = 2;
const BPF_F_INNER_MAP = 0x1000;

type MapName = (typeof abi.MAPS)[keyof typeof abi.MAPS];

/**
 * Typed access to one instance's maps, opened from a freshly loaded object or from the pins of a
 * running deployment. Encoding is abi.ts's job; ordering of writes (what makes an update safe)
 * is the reconciler's.
 */
export class InstanceMaps {
  private constructor(
    private readonly maps: Map<MapName, BpfMap>,
    private readonly owned: boolean,
  ) {}

  static fromObject(obj: BpfObject): InstanceMaps {
    const maps = new Map<MapName, BpfMap>();
    for (const name of Object.values(abi.MAPS)) maps.set(name, obj.map(name));
    return new InstanceMaps(maps, false);
  }

  static fromPins(dir: string): InstanceMaps {
    const maps = new Map<MapName, BpfMap>();
    for (const name of Object.values(abi.MAPS)) maps.set(name, BpfMap.fromPinned(join(dir, name)));
    return new InstanceMaps(maps, true);
  }

  map(name: MapName): BpfMap {
    const m = this.maps.get(name);
    if (!m) throw new Error(`map ${name} is not open`);
    return m;
  }

  get maxServices(): number {
    return this.map(abi.MAPS.svcStats).maxEntries;
  }

  get maxBackends(): number {
    return this.map(abi.MAPS.backends).maxEntries;
  }

  /**
   * Sets (adds, or changes the roles of) and removes our addresses: lb_addrs, the source of
   * truth, and lb_addr_slots, the data plane's first lookup, derived from lb_addrs' content. The
   * order is what keeps every address that stays configured reachable while packets flow (the
   * reasoning: planAddrSlots() in addr-slots.ts):
   *  1. lb_addrs gets the set addresses (a reader sent there by a shared slot finds them);
   *  2. every slot whose content must change goes through planAddrSlots()'s steps, one write each;
   *  3. only then are the removed addresses deleted from lb_addrs (no slot names them any more).
   */
  async writeAddrs(set: readonly { ip: IpAddress; flags: number }[], remove: readonly IpAddress[]): Promise<void> {
    const addrs = this.map(abi.MAPS.addrs);
    const present = new Map<string, SlotAddress>();
    for (const k of addrs.keys()) {
      const v = addrs.lookup(k) as Buffer | null;
      if (v) present.set(k.toString('hex'), { addr: k, flags: v.readUInt32LE(0) });
    }
    for (const ip of remove) present.delete(abi.encodeAddr(ip).toString('hex'));
    for (const { ip, flags } of set) {
      const k = abi.encodeAddr(ip);
      addrs.update(k, abi.encodeAddrInfo(flags));
      present.set(k.toString('hex'), { addr: k, flags });
    }
    const slots = this.map(abi.MAPS.addrSlots);
    for (const w of planAddrSlots(await this.addrSlots(), [...present.values()]))
      slots.update(abi.u32(w.index), abi.encodeAddrSlot(w.value));
    for (const ip of remove) if (!present.has(abi.encodeAddr(ip).toString('hex'))) addrs.delete(abi.encodeAddr(ip));
  }

  /**
   * Removes every address of lb_addrs that `keep` (encoded addresses, hex) does not name, in
   * writeAddrs' order: the slots stop naming them first, then lb_addrs drops them.
   */
  async pruneAddrs(keep: ReadonlySet<string>): Promise<void> {
    const addrs = this.map(abi.MAPS.addrs);
    const present: SlotAddress[] = [];
    const stale: Buffer[] = [];
    for (const k of addrs.keys()) {
      const v = addrs.lookup(k) as Buffer | null;
      if (!v) continue;
      if (keep.has(k.toString('hex'))) present.push({ addr: k, flags: v.readUInt32LE(0) });
      else stale.push(k);
    }
    if (stale.length === 0) return;
    const slots = this.map(abi.MAPS.addrSlots);
    for (const w of planAddrSlots(await this.addrSlots(), present)) slots.update(abi.u32(w.index), abi.encodeAddrSlot(w.value));
    for (const k of stale) addrs.delete(k);
  }

  /** The whole lb_addr_slots table, by index. */
  async addrSlots(): Promise<abi.AddrSlot[]> {
    const m = this.map(abi.MAPS.addrSlots);
    const out: abi.AddrSlot[] = Array.from({ length: m.maxEntries }, () => abi.EMPTY_SLOT);
    const { keys, values } = await m.lookupBatch();
    keys.forEach((k, i) => {
      out[k.readUInt32LE(0)] = abi.decodeAddrSlot(values[i] as Buffer);
    });
    return out;
  }

  setService(key: abi.SvcKey, value: abi.SvcValue): void {
    this.map(abi.MAPS.services).update(abi.encodeSvcKey(key), abi.encodeSvc(value));
  }

  deleteService(key: abi.SvcKey): void {
    this.map(abi.MAPS.services).delete(abi.encodeSvcKey(key));
  }

  service(key: abi.SvcKey): abi.SvcValue | undefined {
    const v = this.map(abi.MAPS.services).lookup(abi.encodeSvcKey(key)) as Buffer | null;
    return v ? abi.decodeSvc(v) : undefined;
  }

  /** A large prefix VIP's service (lb_svc_nets). */
  setNetService(key: abi.SvcKey, prefix: number, value: abi.SvcValue): void {
    this.map(abi.MAPS.svcNets).update(abi.encodeSvcNetKey(key, prefix), abi.encodeSvc(value));
  }

  deleteNetService(key: abi.SvcKey, prefix: number): void {
    this.map(abi.MAPS.svcNets).delete(abi.encodeSvcNetKey(key, prefix));
  }

  /** The entry of lb_svc_nets that a lookup of this prefix finds (its own, or the longest around it). */
  netService(key: abi.SvcKey, prefix: number): abi.SvcValue | undefined {
    const v = this.map(abi.MAPS.svcNets).lookup(abi.encodeSvcNetKey(key, prefix)) as Buffer | null;
    return v ? abi.decodeSvc(v) : undefined;
  }

  /** A large prefix VIP's roles (lb_vip_nets), set or removed. */
  setVipNet(vip: IpAddress, prefix: number, flags: number): void {
    this.map(abi.MAPS.vipNets).update(abi.encodeNetKey(vip, prefix), abi.encodeAddrInfo(flags));
  }

  deleteVipNet(vip: IpAddress, prefix: number): void {
    this.map(abi.MAPS.vipNets).delete(abi.encodeNetKey(vip, prefix));
  }

  /** A QUIC service's server id -> backend id (lb_quic_ids), set or removed. */
  setQuicId(svcId: number, serverId: number, backendId: number): void {
    this.map(abi.MAPS.quicIds).update(abi.encodeQuicKey(svcId, serverId), abi.u32(backendId));
  }

  deleteQuicId(svcId: number, serverId: number): void {
    this.map(abi.MAPS.quicIds).delete(abi.encodeQuicKey(svcId, serverId));
  }

  setBackend(id: number, value: abi.BackendValue): void {
    this.map(abi.MAPS.backends).update(abi.u32(id), abi.encodeBackend(value));
  }

  clearBackend(id: number): void {
    this.map(abi.MAPS.backends).update(abi.u32(id), Buffer.alloc(abi.SIZES.backend));
  }

  backend(id: number): abi.BackendValue | undefined {
    const v = this.map(abi.MAPS.backends).lookup(abi.u32(id)) as Buffer | null;
    return v ? abi.decodeBackend(v) : undefined;
  }

  /**
   * Builds the service's new slot table aside as its own inner map and switches to it with one
   * write of the outer map: a reader sees the old table or the new one, never a mix.
   */
  async swapTable(svcId: number, ids: Uint32Array): Promise<void> {
    const inner = BpfMap.create({
      type: BPF_MAP_TYPE_ARRAY,
      keySize: 4,
      valueSize: 4,
      maxEntries: ids.length + 1,
      flags: BPF_F_INNER_MAP,
      name: `lb_tbl_${svcId}`.slice(0, 15),
    });
    try {
      // One batch syscall instead of one per slot: a 65537-slot Maglev table goes in ~10 ms, not ~250.
      const values = abi.encodeSlotTable(ids);
      await inner.updateBatch(
        values.map((_, i) => abi.u32(i)),
        values,
      );
      this.map(abi.MAPS.tables).update(abi.u32(svcId), inner);
    } finally {
      // The outer map holds its own reference; ours can go.
      inner.dispose();
    }
  }

  clearTable(svcId: number): void {
    this.map(abi.MAPS.tables).delete(abi.u32(svcId));
  }

  /** The slot table the data plane currently reads for a service (backend ids, no count). */
  table(svcId: number): Uint32Array | undefined {
    const v = this.map(abi.MAPS.tables).lookup(abi.u32(svcId)) as Buffer | null;
    if (!v) return undefined;
    const inner = BpfMap.fromId(v.readUInt32LE(0));
    try {
      const n = (inner.lookup(abi.u32(0)) as Buffer).readUInt32LE(0);
      const out = new Uint32Array(n);
      for (let i = 0; i < n; i++) out[i] = (inner.lookup(abi.u32(i + 1)) as Buffer).readUInt32LE(0);
      return out;
    } finally {
      inner.dispose();
    }
  }

  /** A service's table as cheaply as possible (3 lookups): its slot count and the first slot's backend id. */
  tableHead(svcId: number): { count: number; first: number | undefined } | undefined {
    const v = this.map(abi.MAPS.tables).lookup(abi.u32(svcId)) as Buffer | null;
    if (!v) return undefined;
    const inner = BpfMap.fromId(v.readUInt32LE(0));
    try {
      const count = (inner.lookup(abi.u32(0)) as Buffer).readUInt32LE(0);
      return { count, first: count > 0 ? (inner.lookup(abi.u32(1)) as Buffer).readUInt32LE(0) : undefined };
    } finally {
      inner.dispose();
    }
  }

  setSnatPool(index: number, ip: IpAddress): void {
    this.map(abi.MAPS.snatPool).update(abi.u32(index), abi.encodeAddr(ip));
  }

  setTxPort(ifindex: number): void {
    const v = Buffer.alloc(this.map(abi.MAPS.txPorts).valueSize);
    v.writeUInt32LE(ifindex, 0);
    this.map(abi.MAPS.txPorts).update(abi.u32(ifindex), v);
  }

  deleteTxPort(ifindex: number): void {
    this.map(abi.MAPS.txPorts).delete(abi.u32(ifindex));
  }

  serviceCounters(svcId: number): abi.Counters {
    return abi.sumCounters(this.map(abi.MAPS.svcStats).lookup(abi.u32(svcId)) as Buffer[]);
  }

  backendCounters(beId: number): abi.Counters {
    return abi.sumCounters(this.map(abi.MAPS.beStats).lookup(abi.u32(beId)) as Buffer[]);
  }

  /** Zeroes a backend's or service's counters when its id is given to something new. */
  resetBackendCounters(beId: number): void {
    this.map(abi.MAPS.beStats).update(abi.u32(beId), Buffer.alloc(abi.SIZES.counters));
  }

  resetServiceCounters(svcId: number): void {
    this.map(abi.MAPS.svcStats).update(abi.u32(svcId), Buffer.alloc(abi.SIZES.counters));
  }

  reasons(): Record<abi.Reason, bigint> {
    const m = this.map(abi.MAPS.reasons);
    return Object.fromEntries(abi.REASONS.map((r, i) => [r, abi.sumU64(m.lookup(abi.u32(i)) as Buffer[])])) as Record<abi.Reason, bigint>;
  }

  /** Live conntrack entries of lb_ct, or of `table` (lb_ct_syn): walks the keys, cheap enough for status, not for a hot loop. */
  conntrackCount(limit = Infinity, table: MapName = abi.MAPS.ct): number {
    let n = 0;
    for (const _ of this.map(table).keys()) if (++n >= limit) break;
    return n;
  }

  conntrackEntries(limit = 1000): { flow: abi.Flow; ct: abi.CtValue }[] {
    const ct = this.map(abi.MAPS.ct);
    const out: { flow: abi.Flow; ct: abi.CtValue }[] = [];
    for (const k of ct.keys()) {
      const v = ct.lookup(k) as Buffer | null;
      if (v) out.push({ flow: abi.decodeFlow(k), ct: abi.decodeCt(v) });
      if (out.length >= limit) break;
    }
    return out;
  }

  pinAll(dir: string): void {
    for (const [name, m] of this.maps) m.pin(join(dir, name));
  }

  dispose(): void {
    if (this.owned) for (const m of this.maps.values()) m.dispose();
    this.maps.clear();
  }
}
