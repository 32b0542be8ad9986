import { isExpanded, NET_EXPAND } from './prefix.js';
import type { ServiceConfig } from './types.js';
import { planVips } from './vip-plan.js';

/**
 * The data plane's VIP maps' sizes (bpf/include/lb_abi.h): lb_services (LB_MAX_SERVICES), lb_addrs
 * (LB_MAX_ADDRS, SNAT addresses included) and the large prefixes' tries (LB_MAX_VIP_NETS). An
 * expanded prefix VIP takes one lb_services key and one lb_addrs entry per address.
 */
export const VIP_CAPACITY = { serviceKeys: 512, addresses: 1024, nets: 256 } as const;

/** Reports a config whose VIPs would not fit those maps, saying what takes the room. */
export function checkVipCapacity(services: readonly ServiceConfig[], snatCount: number, report: (path: string, message: string) => void): void {
  if (!services.some((s) => s.prefix !== undefined)) return; // exact VIPs: the service count limits them (allocation)
  const plan = planVips(services);
  const expanded = services.some((s) => s.prefix !== undefined && isExpanded(s.vip.family, s.prefix));
  const why = expanded ? ` (prefix VIPs of up to ${NET_EXPAND} addresses take one per address)` : '';
  if (plan.exact.size > VIP_CAPACITY.serviceKeys) report('services', `the services need ${plan.exact.size} service keys, the data plane holds ${VIP_CAPACITY.serviceKeys}${why}`);
  if (plan.addrs.size + snatCount > VIP_CAPACITY.addresses) report('services', `the VIPs and SNAT addresses are ${plan.addrs.size + snatCount} addresses, the data plane holds ${VIP_CAPACITY.addresses}${why}`);
  if (plan.nets.size > VIP_CAPACITY.nets) report('services', `${plan.nets.size} services on prefixes of more than ${NET_EXPAND} addresses, the data plane holds ${VIP_CAPACITY.nets}`);
}
