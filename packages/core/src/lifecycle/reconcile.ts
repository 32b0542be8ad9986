import type { ServiceConfig, LbConfig } from '../config/types.js';
import { ANY_PORT } from '../config/address.js';
import type { Allocation } from '../state/allocation.js';
import { serviceIdentity } from '../state/allocation.js';
import type { Strategy } from '../strategy/strategy.js';
import * as abi from '../dataplane/abi.js';
import type { InstanceMaps } from '../dataplane/maps.js';

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
 *  2. each service's new slot table, swapped in whole, then its service entry, then its VIP
 *     (lb_addrs, then its lb_addr_slots slot: InstanceMaps.writeAddrs);
 *  3. only then removals: services (entry first, table after), addresses (slot first, lb_addrs
 *     after), then backends of the old state (their conntrack entries see state EMPTY and
 *     re-balance; a draining backend keeps its flows).
 */
export async function reconcile(maps: InstanceMaps, strategy: Strategy<any>, next: Desired, prev: Desired | undefined): Promise<void> {
  const cfg = next.config;
  // The SNAT pool holds IPv4 addresses first, then IPv6: a service draws from its family's run.
  const pool = [...(cfg.snat?.addresses ?? [])].sort((a, b) => a.family - b.family);
  pool.forEach((ip, i) => maps.setSnatPool(i, ip));
  const n4 = pool.filter((a) => a.family === 4).length;
  const snatRun = (svc: ServiceConfig) =>
    svc.forward !== 'nat' ? { snatFirst: 0, snatCount: 0 } : svc.vip.family === 4 ? { snatFirst: 0, snatCount: n4 } : { snatFirst: n4, snatCount: pool.length - n4 };

  const prevBackendIds = new Map<number, number>(); // id -> gen, for reset decisions
  for (const s of Object.values(prev?.allocation.services ?? {})) for (const b of Object.values(s.backends)) prevBackendIds.set(b.id, b.gen);

  // Draining backends are written after the tables: a new flow that read a table still naming
  // one (it is being taken out) must find it active, or it is dropped (drop_no_backend) and the
  // client waits a SYN retransmission.
  const drains: (() => void)[] = [];
  for (const svc of cfg.services) {
    const alloc = next.allocation.services[serviceIdentity(svc)]!;
    for (const b of svc.backends) {
      const { id, gen } = alloc.backends[b.key]!;
      if (prevBackendIds.get(id) !== gen) maps.resetBackendCounters(id);
      const write = () => maps.setBackend(id, { addr: b.address, port: b.port, state: b.state === 'active' ? abi.BE_ACTIVE : abi.BE_DRAINING, gen });
      if (b.state === 'active') write();
      else drains.push(write);
    }
  }

  const addrFlags = new Map<string, { ip: ServiceConfig['vip']; flags: number }>();
  const flag = (ip: ServiceConfig['vip'], f: number) => {
    const cur = addrFlags.get(ip.text) ?? { ip, flags: 0 };
    cur.flags |= f;
    addrFlags.set(ip.text, cur);
  };
  for (const ip of cfg.snat?.addresses ?? []) flag(ip, abi.ADDR_SNAT);
  const prevSvcIds = new Set(Object.values(prev?.allocation.services ?? {}).map((s) => s.id));

  for (const svc of cfg.services) {
    const alloc = next.allocation.services[serviceIdentity(svc)]!;
    const active = svc.backends.filter((b) => b.state === 'active').map((b) => ({ id: alloc.backends[b.key]!.id, key: b.key, weight: b.weight }));
    await maps.swapTable(alloc.id, strategy.buildTable(active, svc.options));
    if (!prevSvcIds.has(alloc.id)) maps.resetServiceCounters(alloc.id);
    maps.setService(svcKey(svc), {
      id: alloc.id,
      flags: strategy.serviceFlags(svc.options),
      fwd: FWD[svc.forward],
      ...snatRun(svc),
    });
    flag(svc.vip, svc.port === ANY_PORT ? abi.ADDR_VIP | abi.ADDR_ANY_PORT : abi.ADDR_VIP);
  }
  for (const write of drains) write();
  await maps.writeAddrs([...addrFlags.values()], []);

  if (!prev) return;
  const nextKeys = new Set(cfg.services.map(serviceIdentity));
  for (const svc of prev.config.services) {
    if (nextKeys.has(serviceIdentity(svc))) continue;
    maps.deleteService(svcKey(svc));
    maps.clearTable(prev.allocation.services[serviceIdentity(svc)]!.id);
  }
  const gone = new Map<string, ServiceConfig['vip']>();
  for (const ip of [...prev.config.services.map((s) => s.vip), ...(prev.config.snat?.addresses ?? [])]) {
    if (!addrFlags.has(ip.text)) gone.set(ip.text, ip);
  }
  if (gone.size > 0) await maps.writeAddrs([], [...gone.values()]);
  const live = new Map<number, number>();
  for (const s of Object.values(next.allocation.services)) for (const b of Object.values(s.backends)) live.set(b.id, b.gen);
  for (const [id, gen] of prevBackendIds) if (live.get(id) !== gen && !live.has(id)) maps.clearBackend(id);
}

/** Forwarding mode -> lb_svc.fwd (bpf/include/lb_abi.h LB_FWD_*). */
const FWD = { nat: abi.FWD_NAT, dsr: abi.FWD_DSR, ipip: abi.FWD_IPIP, ip6ip6: abi.FWD_IP6IP6, gue: abi.FWD_GUE } as const;

export function svcKey(svc: Pick<ServiceConfig, 'vip' | 'port' | 'protocol'>): abi.SvcKey {
  return { vip: svc.vip, port: svc.port, proto: abi.protoNumber(svc.protocol) };
}
