import type { LbConfig } from '../../config/types.js';
import * as abi from '../../dataplane/abi.js';
import { ConntrackTable } from '../../dataplane/flowsync.js';
import { ftSlotAgeNs } from '../../dataplane/flowtab.js';
import { FWD } from '../../lifecycle/reconcile.js';
import { serviceIdentity } from '../../state/allocation.js';
import { instancePaths } from '../../state/paths.js';
import { readState } from '../../state/store.js';
import { KIND_CLOSING, KIND_OPEN, type WireFlow } from './protocol.js';

/** bpf/include/lb_abi.h LB_CT_F_*: the sync bits of an lb_ct entry. */
export const CT_F_SYNC_ODD = 0x02;
export const CT_F_SYNCED = 0x08;
/** struct lb_sync_rec (bpf/include/lb_abi.h): a record of the data plane's ring. */
export const SYNC_REC = 52;

/** What became of a peer's flow. */
export type InsertResult = 'inserted' | 'refreshed' | 'kept-local' | 'unknown-service' | 'unknown-backend' | 'nat';

interface SvcIndex {
  id: number;
  fwd: number;
  backends: Map<string, { id: number; gen: number }>;
}

/** The coarse monotonic clock the data plane stamps entries with (bpf_ktime_get_coarse_ns: the
 * same base as CLOCK_MONOTONIC, which process.hrtime reads; at most a tick apart). */
export function monotonicNs(): bigint {
  return process.hrtime.bigint();
}

const hex = (b: Buffer) => b.toString('hex');

/**
 * The node's side of flow sync: data-plane records to wire flows (backend ids to addresses) and
 * wire flows to conntrack entries (addresses to this node's ids), from the applied state. Ids are
 * per node (they depend on each node's history); addresses and the tuple are the same everywhere.
 */
export class FlowTable {
  private services = new Map<string, SvcIndex>();
  private backendsById = new Map<number, { addr: Buffer; port: number; gen: number }>();
  private ct: ConntrackTable | undefined;
  private timeouts = { tcp: 300n, udp: 30n, closing: 10n };

  constructor(private readonly instance: string) {}

  /** Re-reads the applied ids and re-opens lb_ct (a re-deploy may have replaced it). */
  refresh(cfg: LbConfig): void {
    const state = readState(this.instance);
    this.services.clear();
    this.backendsById.clear();
    const sec = 1_000_000_000n;
    this.timeouts = {
      tcp: BigInt(cfg.limits.tcpTimeoutSec) * sec,
      udp: BigInt(cfg.limits.udpTimeoutSec) * sec,
      closing: BigInt(cfg.limits.tcpClosingTimeoutSec) * sec,
    };
    if (!state) return;
    for (const svc of cfg.services) {
      const alloc = state.allocation.services[serviceIdentity(svc)];
      if (!alloc) continue;
      const backends = new Map<string, { id: number; gen: number }>();
      for (const b of svc.backends) {
        const a = alloc.backends[b.key];
        if (!a) continue;
        const addr = abi.encodeAddr(b.address);
        backends.set(`${hex(addr)}:${b.port}`, a);
        this.backendsById.set(a.id, { addr, port: b.port, gen: a.gen });
      }
      this.services.set(`${hex(abi.encodeAddr(svc.vip))}:${svc.port}:${abi.protoNumber(svc.protocol)}`, {
        id: alloc.id,
        fwd: FWD[svc.forward],
        backends,
      });
    }
    this.ct?.dispose();
    this.ct = new ConntrackTable(instancePaths(this.instance).maps);
  }

  close(): void {
    this.ct?.dispose();
    this.ct = undefined;
  }

  /** A record of the data plane's ring as a wire flow; undefined if its backend id is not (or no longer) one of ours. */
  fromRecord(rec: Buffer): WireFlow | undefined {
    if (rec.length < SYNC_REC) return undefined;
    const be = this.backendsById.get(rec.readUInt32LE(44));
    if (!be) return undefined;
    return { tuple: Buffer.from(rec.subarray(0, 37)), kind: rec.readUInt8(48), backendAddr: be.addr, backendPort: be.port };
  }

  private service(tuple: Buffer): SvcIndex | undefined {
    const dst = hex(tuple.subarray(16, 32));
    const proto = tuple.readUInt8(36);
    return this.services.get(`${dst}:${tuple.readUInt16BE(34)}:${proto}`) ?? this.services.get(`${dst}:0:${proto}`);
  }

  private timeout(proto: number, state: number): bigint {
    if (proto === abi.IPPROTO_UDP) return this.timeouts.udp;
    return state === abi.CT_CLOSING ? this.timeouts.closing : this.timeouts.tcp;
  }

  /**
   * A peer's flow into lb_ct. A new entry is inserted with BPF_NOEXIST, so it never replaces an
   * entry this node wrote itself: only a copy from a peer (LB_CT_F_SYNCED) is refreshed, or an
   * entry of ours that has expired (which the data plane would replace at the flow's next packet
   * anyway, by the table: the very thing sync is for). `now`: monotonicNs().
   */
  insert(f: WireFlow, now: bigint): InsertResult {
    const svc = this.service(f.tuple);
    if (!svc) return 'unknown-service';
    if (svc.fwd === abi.FWD_NAT) return 'nat';
    const be = svc.backends.get(`${hex(f.backendAddr)}:${f.backendPort}`);
    if (!be || !this.ct) return 'unknown-backend';
    const key = Buffer.alloc(abi.SIZES.flow);
    f.tuple.copy(key, 0, 0, 37);
    const closing = f.kind === KIND_CLOSING;
    const v = abi.encodeCt({
      backendId: be.id,
      backendGen: be.gen,
      seenNs: now,
      svcId: svc.id,
      state: closing ? abi.CT_CLOSING : abi.CT_OPEN,
      fwd: svc.fwd,
      closeReason: closing ? abi.CT_CLOSE_FIN : 0,
      flags: CT_F_SYNCED,
      encapHash: 0,
    });
    if (this.ct.insertNew(key, v)) return 'inserted';
    const old = this.ct.lookup(key);
    if (!old) return this.ct.insertNew(key, v) ? 'inserted' : 'kept-local'; // it went, and came back
    const mine = (old.readUInt8(47) & CT_F_SYNCED) === 0;
    const expired = now - old.readBigUInt64LE(8) > this.timeout(f.tuple.readUInt8(36), old.readUInt8(20));
    if (mine && !expired) return 'kept-local';
    // A refresh of a copy keeps the close it saw.
    if (!closing && old.readUInt8(20) === abi.CT_CLOSING && !mine) v.writeUInt8(abi.CT_CLOSING, 20);
    return this.ct.replace(key, v) ? 'refreshed' : 'kept-local';
  }

  /**
   * Every live flow a peer could take over (all but nat, not expired, its backend still ours with
   * the same generation), for a starting peer's pull. Reads lb_ct and the flow table (lb_ft4's
   * open slots) in batches.
   */
  async live(now: bigint): Promise<WireFlow[]> {
    if (!this.ct) return [];
    const { keys, values } = await this.ct.entries();
    const out: WireFlow[] = [];
    keys.forEach((k, i) => {
      const v = values[i]!;
      const fwd = v.readUInt8(21);
      const state = v.readUInt8(20);
      if (fwd === abi.FWD_NAT || state !== abi.CT_OPEN) return;
      if (now - v.readBigUInt64LE(8) > this.timeout(k.readUInt8(36), state)) return;
      const be = this.backendsById.get(v.readUInt32LE(0));
      if (!be || be.gen !== v.readUInt32LE(4)) return;
      out.push({ tuple: Buffer.from(k.subarray(0, 37)), kind: KIND_OPEN, backendAddr: be.addr, backendPort: be.port });
    });
    for (const b of await this.ct.flowTableBuckets())
      for (const s of abi.decodeFtBucket(b)) {
        if (s.fwd === abi.FWD_NAT || s.state !== abi.CT_OPEN) continue;
        if (ftSlotAgeNs(s, now) > this.timeout(s.proto, s.state)) continue;
        const be = this.backendsById.get(s.backendId);
        if (!be || be.gen !== s.backendGen) continue;
        const tuple = abi.encodeFlow(abi.ftSlotFlow(s)).subarray(0, 37);
        out.push({ tuple, kind: KIND_OPEN, backendAddr: be.addr, backendPort: be.port });
      }
    return out;
  }
}
