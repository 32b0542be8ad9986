import type { ServiceConfig } from '../config/types.js';
import * as abi from '../dataplane/abi.js';
import type { InstanceMaps } from '../dataplane/maps.js';
import type { ServiceAllocation } from '../state/allocation.js';
import { expandPrefix, isExpanded } from '../config/prefix.js';
import { svcKey } from './reconcile.js';

/**
 * Why a service cannot take a new flow now, read from the kernel (undefined: it can). What a new
 * flow's first packet needs, in the data plane's order: the service entry under its VIP, port and
 * protocol naming the service's id; a slot table under that id with slots; and a slot naming a
 * backend of this service that is active in lb_backends. Cheap (a handful of lookups): status,
 * every metrics scrape, /healthz and the agent's resync all ask. This is what said "ok" while the
 * id-reuse defect dropped every new flow (0 slots, backends active).
 */
export function servingProblem(maps: InstanceMaps, svc: ServiceConfig, alloc: ServiceAllocation): string | undefined {
  const active = svc.backends.filter((b) => b.state === 'active').map((b) => alloc.backends[b.key]?.id);
  if (active.length === 0) return 'no backend in rotation (every backend is draining)';
  const entry = serviceEntryOf(maps, svc, alloc.id);
  if (!entry) return "not in the data plane's service map: its packets go to the host";
  if (entry.id !== alloc.id) return `the service map names table ${entry.id}, not its own ${alloc.id}`;
  const head = maps.tableHead(alloc.id);
  if (!head || head.count === 0) return '0 slots: its table is empty, every new flow is dropped (drop_no_backend)';
  if (!active.includes(head.first)) return 'its table names no active backend of the service';
  const be = maps.backend(head.first!);
  if (!be || be.state !== abi.BE_ACTIVE) return 'no backend in rotation in the data plane (its table names a backend that is not active)';
  return undefined;
}

/**
 * The entry a new flow of the service finds: its key in lb_services; for a prefix VIP, the first
 * of its addresses whose key names it (an exact VIP or a longer prefix inside may own the others),
 * or its key in lb_svc_nets.
 */
function serviceEntryOf(maps: InstanceMaps, svc: ServiceConfig, id: number): abi.SvcValue | undefined {
  if (svc.prefix === undefined) return maps.service(svcKey(svc));
  if (!isExpanded(svc.vip.family, svc.prefix)) return maps.netService(svcKey(svc), svc.prefix);
  const entries = expandPrefix(svc.vip, svc.prefix).map((vip) => maps.service(svcKey({ ...svc, vip })));
  return entries.find((e) => e?.id === id) ?? entries.find((e) => e);
}
