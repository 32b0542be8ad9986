import { isExpanded, NET_EXPAND } from './prefix.js';
import type { ServiceConfig } from './types.js';
import { planVips } from './vip-plan.js';

/**
 * The data plane's VIP maps' sizes: lb_services' keys, lb_addrs (SNAT addresses included) and the
 * large prefixes' trie (lb_svc_nets). Read from the object or the pinned maps
 * (dataplane/capacity.ts), never hard-coded: bpf/include/lb_abi.h's sizes are build-time overrides.
 * An expanded prefix VIP takes one lb_services key and one lb_addrs entry per address.
 */
export interface VipCapacity {
  serviceKeys: number;
  addresses: number;
  nets: number;
}

/** Reports a config whose VIPs would not fit those maps, saying what takes the room. */
export function checkVipCapacity(
  services: readonly ServiceConfig[],
  snatCount: number,
  cap: VipCapacity,
  report: (path: string, message: string) => void,
): void {
  if (!services.some((s) => s.prefix !== undefined)) return; // exact VIPs: the service count limits them (allocation)
  const plan = planVips(services);
  const expanded = services.some((s) => s.prefix !== undefined && isExpanded(s.vip.family, s.prefix));
  const why = expanded ? ` (prefix VIPs of up to ${NET_EXPAND} addresses take one per address)` : '';
  if (plan.exact.size > cap.serviceKeys)
    report('services', `the services need ${plan.exact.size} service keys, the data plane holds ${cap.serviceKeys}${why}`);
  if (plan.addrs.size + snatCount > cap.addresses)
    report(
      'services',
      `the VIPs and SNAT addresses are ${plan.addrs.size + snatCount} addresses, the data plane holds ${cap.addresses}${why}`,
    );
  if (plan.nets.size > cap.nets)
    report('services', `${plan.nets.size} services on prefixes of more than ${NET_EXPAND} addresses, the data plane holds ${cap.nets}`);
}
