import type { ServiceConfig, LbConfig } from '../config/types.js';
import { planVips, type VipPlan, type VipRoles } from '../config/vip-plan.js';
import type { Allocation } from '../state/allocation.js';
import { serviceIdentity } from '../state/allocation.js';
import type { ProgramStrategies } from '../strategy/program.js';
import * as abi from '../dataplane/abi.js';
import type { InstanceMaps } from '../dataplane/maps.js';
import { sweepStale } from './sweep.js';

export interface Desired {
  config: LbConfig;
  allocation: Allocation;
}

/**
 * Makes the maps say what `next` says, starting from what `prev` said (undefined: empty maps).
 * The order is what keeps traffic safe while it flows:
 *  1. SNAT pool and backends first (a table never names a backend the map does not hold), but a
 *     backend turning draining only after the tables without it (a table never names a
 *     backend that is not active);
 *  2. every service's new slot table, swapped in whole, then the service entries (each key goes
 *     to the longest prefix that covers it: config/vip-plan.ts), then the VIPs (lb_addrs, then
 *     their lb_addr_slots slots: InstanceMaps.writeAddrs; the large prefixes' lb_vip_nets);
 *  3. only then removals: service keys no service owns any more, tables of removed services,
 *     addresses (slot first, lb_addrs after) and large prefixes, then backends of the old state (their conntrack entries see state EMPTY and
 *     re-balance; a draining backend keeps its flows).
 * Ids are diffed by identity (service: VIP, port, protocol; backend: address, port, gen): a
 * removal never clears an id that `next` gives to something (allocate() keeps removed ids out of
 * the same update; when it had to reuse one, the old service's entry goes first, before the id's
 * new table is written), and counters are zeroed whenever an id changes hands.
 */
export async function reconcile(
  maps: InstanceMaps,
  strategies: ProgramStrategies,
  next: Desired,
  prev: Desired | undefined,
  opts: { full?: boolean } = {},
): Promise<void> {
  const cfg = next.config;
  // Only what changed is written (a health flip rebuilds one service's table, not every Maglev
  // table of the instance): what `prev` wrote is known exactly, by identity. `full` rewrites
  // everything: after a new program load, and to repair maps that disagree with `prev`.
  // The VIP plans of both configs, computed once: the diff, the removals and the sweep read them.
  const plan = planVips(cfg.services, cfg.snat?.addresses ?? []);
  const prevPlan = prev && planVips(prev.config.services, prev.config.snat?.addresses ?? []);
  const written = opts.full ? undefined : prev && writtenBy(prev, prevPlan!, strategies);
  const pool = snatPool(cfg);
  pool.forEach((ip, i) => {
    if (written?.pool[i] !== ip.text) maps.setSnatPool(i, ip);
  });
  const snatRun = snatRunOf(pool);

  const prevBackendIds = new Map<number, number>(); // id -> gen, for reset decisions
  for (const s of Object.values(prev?.allocation.services ?? {}))
    for (const b of Object.values(s.backends)) prevBackendIds.set(b.id, b.gen);

  // Draining backends are written after the tables: a new flow that read a table still naming
  // one (it is being taken out) must find it active, or it is dropped (drop_no_backend) and the
  // client waits a SYN retransmission.
  const drains: (() => void)[] = [];
  for (const svc of cfg.services) {
    const alloc = next.allocation.services[serviceIdentity(svc)]!;
    for (const b of svc.backends) {
      const { id, gen } = alloc.backends[b.key]!;
      if (prevBackendIds.get(id) !== gen) maps.resetBackendCounters(id);
      if (written?.backends.get(id) === backendSig(b, gen)) continue;
      const write = () =>
        maps.setBackend(id, { addr: b.address, port: b.port, state: b.state === 'active' ? abi.BE_ACTIVE : abi.BE_DRAINING, gen });
      if (b.state === 'active') write();
      else drains.push(write);
    }
  }

  // Which identity held each service id before this update, and which ids `next` holds.
  const prevOwner = new Map(Object.entries(prev?.allocation.services ?? {}).map(([key, s]) => [s.id, key]));
  const nextIds = new Set(Object.values(next.allocation.services).map((s) => s.id));
  const nextKeys = new Set(cfg.services.map(serviceIdentity));
  const removed = (prev?.config.services ?? []).filter((svc) => !nextKeys.has(serviceIdentity(svc)));
  // A removed service whose id is given to a new one (allocate()'s last resort when the id space
  // is full): its entries go before the id's new table is written, so that none of its packets
  // reach the new service's backends, and its table is not cleared afterwards.
  for (const svc of removed) {
    if (!nextIds.has(prev!.allocation.services[serviceIdentity(svc)]!.id)) continue;
    for (const k of prevPlan!.exact.values()) if (k.owner === serviceIdentity(svc)) maps.deleteService(svcKey(k));
    for (const k of prevPlan!.nets.values()) if (k.owner === serviceIdentity(svc)) maps.deleteNetService(svcKey(k), k.prefix);
  }

  const values = new Map<string, abi.SvcValue>();
  for (const svc of cfg.services) {
    const identity = serviceIdentity(svc);
    const alloc = next.allocation.services[identity]!;
    const entry = serviceEntry(svc, alloc, strategies, snatRun);
    values.set(identity, entry.value);
    if (written?.services.get(identity) === JSON.stringify(entry)) continue;
    await maps.swapTable(alloc.id, strategies.of(svc.strategy).buildTable(entry.active, svc.options));
    if (prevOwner.get(alloc.id) !== identity) maps.resetServiceCounters(alloc.id);
  }
  // QUIC server ids before the entries that turn the lookup on; the backends they name are written.
  const quicIds = quicIdsOf(next);
  const prevQuic = prev && quicIdsOf(prev);
  for (const [k, q] of quicIds)
    if (opts.full || prevQuic?.get(k)?.backendId !== q.backendId) maps.setQuicId(q.svcId, q.serverId, q.backendId);
  // Each service's entries under every key it owns (an exact VIP, the addresses of a small
  // prefix, a large prefix's trie key: config/vip-plan.ts), after every table.
  for (const [k, e] of plan.exact) {
    const v = values.get(e.owner)!;
    if (written?.keys.get(`exact ${k}`) !== JSON.stringify(v)) maps.setService(svcKey(e), v);
  }
  for (const [k, e] of plan.nets) {
    const v = values.get(e.owner)!;
    if (written?.keys.get(`net ${k}`) !== JSON.stringify(v)) maps.setNetService(svcKey(e), e.prefix, v);
  }
  for (const write of drains) write();
  await maps.writeAddrs(
    [...plan.addrs.values()].map((a) => ({ ip: a.ip, flags: roleFlags(a.roles) })),
    [],
  );
  for (const [k, n] of plan.vipNets) {
    const flags = roleFlags(n.roles);
    if (opts.full || !prevPlan || roleFlags(prevPlan.vipNets.get(k)?.roles) !== flags) maps.setVipNet(n.ip, n.prefix, flags);
  }

  // What no state names (a change killed before it wrote its state) goes too.
  if (opts.full) await sweepStale(maps, next, plan);
  if (!prev) return;
  for (const [k, e] of prevPlan!.exact) if (!plan.exact.has(k)) maps.deleteService(svcKey(e));
  for (const [k, e] of prevPlan!.nets) if (!plan.nets.has(k)) maps.deleteNetService(svcKey(e), e.prefix);
  for (const svc of removed) {
    const id = prev.allocation.services[serviceIdentity(svc)]!.id;
    if (!nextIds.has(id)) maps.clearTable(id); // else: the id's table is the new service's now
  }
  const gone = [...prevPlan!.addrs.values()].filter((a) => !plan.addrs.has(a.ip.text)).map((a) => a.ip);
  if (gone.length > 0) await maps.writeAddrs([], gone);
  for (const [k, n] of prevPlan!.vipNets) if (!plan.vipNets.has(k)) maps.deleteVipNet(n.ip, n.prefix);
  for (const [k, q] of prevQuic!) if (!quicIds.has(k)) maps.deleteQuicId(q.svcId, q.serverId);
  const live = new Map<number, number>();
  for (const s of Object.values(next.allocation.services)) for (const b of Object.values(s.backends)) live.set(b.id, b.gen);
  for (const [id, gen] of prevBackendIds) if (live.get(id) !== gen && !live.has(id)) maps.clearBackend(id);
}

type SnatRun = (svc: ServiceConfig) => { snatFirst: number; snatCount: number };

/** The SNAT pool holds IPv4 addresses first, then IPv6: a service draws from its family's run. */
function snatPool(cfg: LbConfig): ServiceConfig['vip'][] {
  return [...(cfg.snat?.addresses ?? [])].sort((a, b) => a.family - b.family);
}

function snatRunOf(pool: readonly ServiceConfig['vip'][]): SnatRun {
  const n4 = pool.filter((a) => a.family === 4).length;
  return (svc) =>
    svc.forward !== 'nat'
      ? { snatFirst: 0, snatCount: 0 }
      : svc.vip.family === 4
        ? { snatFirst: 0, snatCount: n4 }
        : { snatFirst: n4, snatCount: pool.length - n4 };
}

/** What a service puts into the maps: its lb_services value and the input of its slot table. */
function serviceEntry(
  svc: ServiceConfig,
  alloc: Desired['allocation']['services'][string],
  strategies: ProgramStrategies,
  snatRun: SnatRun,
) {
  // A strategy the program does not carry (the previous state's, before a deploy replaced it) writes
  // index -1: never equal to what is written now, so the service is rewritten.
  const carried = strategies.carries(svc.strategy);
  return {
    value: {
      id: alloc.id,
      flags: (carried ? strategies.of(svc.strategy).serviceFlags(svc.options) : 0) | (svc.quic ? abi.SVC_F_QUIC : 0),
      fwd: FWD[svc.forward],
      strategy: carried ? strategies.index(svc.strategy) : -1,
      ...snatRun(svc),
    },
    active: svc.backends.filter((b) => b.state === 'active').map((b) => ({ id: alloc.backends[b.key]!.id, key: b.key, weight: b.weight })),
    options: svc.options,
  };
}

const backendSig = (b: ServiceConfig['backends'][number], gen: number) => `${b.address.text}|${b.port}|${b.state}|${gen}`;

/** Everything `prev` wrote into the maps, by identity, in the form the diff compares. */
function writtenBy(prev: Desired, plan: VipPlan, strategies: ProgramStrategies) {
  const pool = snatPool(prev.config);
  const run = snatRunOf(pool);
  const services = new Map<string, string>();
  const backends = new Map<number, string>();
  for (const svc of prev.config.services) {
    const alloc = prev.allocation.services[serviceIdentity(svc)]!;
    services.set(serviceIdentity(svc), JSON.stringify(serviceEntry(svc, alloc, strategies, run)));
    for (const b of svc.backends) backends.set(alloc.backends[b.key]!.id, backendSig(b, alloc.backends[b.key]!.gen));
  }
  const keys = new Map<string, string>();
  const value = (owner: string) => JSON.stringify(JSON.parse(services.get(owner)!).value);
  for (const [k, e] of plan.exact) keys.set(`exact ${k}`, value(e.owner));
  for (const [k, e] of plan.nets) keys.set(`net ${k}`, value(e.owner));
  return { pool: pool.map((a) => a.text), services, backends, keys };
}

/** Forwarding mode -> lb_svc.fwd (bpf/include/lb_abi.h LB_FWD_*). */
export const FWD = { nat: abi.FWD_NAT, dsr: abi.FWD_DSR, ipip: abi.FWD_IPIP, ip6ip6: abi.FWD_IP6IP6, gue: abi.FWD_GUE } as const;

export function svcKey(svc: Pick<ServiceConfig, 'vip' | 'port' | 'protocol'>): abi.SvcKey {
  return { vip: svc.vip, port: svc.port, proto: abi.protoNumber(svc.protocol) };
}

/** lb_quic_ids' content: every QUIC service's server ids and the backend ids they name. */
function quicIdsOf(d: Desired): Map<string, { svcId: number; serverId: number; backendId: number }> {
  const out = new Map<string, { svcId: number; serverId: number; backendId: number }>();
  for (const svc of d.config.services) {
    if (!svc.quic) continue;
    const alloc = d.allocation.services[serviceIdentity(svc)]!;
    for (const b of svc.backends) {
      if (b.quicServerId !== undefined)
        out.set(`${alloc.id}|${b.quicServerId}`, { svcId: alloc.id, serverId: b.quicServerId, backendId: alloc.backends[b.key]!.id });
    }
  }
  return out;
}

/** An address's (or a large prefix's) roles as lb_addr_info flags. */
function roleFlags(r: VipRoles | undefined): number {
  if (!r) return 0;
  return (
    (r.vip ? abi.ADDR_VIP : 0) |
    (r.snat ? abi.ADDR_SNAT : 0) |
    (r.anyPort ? abi.ADDR_ANY_PORT : 0) |
    (r.net ? abi.ADDR_NET : 0) |
    (r.ft ? abi.ADDR_FT : 0)
  );
}
