import type { IpAddress } from './address.js';
import { ANY_PORT } from './address.js';
import { expandPrefix, hostBits, isExpanded, prefixContains, serviceText } from './prefix.js';
import type { ServiceConfig } from './types.js';

/** The roles of an address or a large prefix, as the data plane's lb_addr_info flags say them. */
export interface VipRoles {
  vip: boolean;
  snat: boolean;
  /** One of its services (or one of an enclosing large prefix) serves every port. */
  anyPort: boolean;
  /** A large prefix covers it: its services are looked up in the LPM trie after the exact key. */
  net: boolean;
  /**
   * One of its services (or one of an enclosing large prefix) forwards dsr/ipip/ip6ip6/gue: its
   * IPv4 flows may live in the flow table (bpf/lib/flowtab.h), so the data plane looks there. A
   * NAT-only address is spared that lookup.
   */
  ft: boolean;
}

/** An exact key of lb_services (an exact VIP, or an address of an expanded prefix) and its service. */
export interface ExactKey {
  vip: IpAddress;
  port: number;
  protocol: ServiceConfig['protocol'];
  /** serviceIdentity of the service that owns the key (the longest prefix of those that cover it). */
  owner: string;
}

/** A key of lb_svc_nets: a large prefix VIP's service. */
export interface NetKey {
  vip: IpAddress;
  prefix: number;
  port: number;
  protocol: ServiceConfig['protocol'];
  owner: string;
}

/**
 * What the data plane's VIP maps must hold for `services` (and the SNAT addresses): exact keys,
 * with the owner of each one the longest prefix that covers it (an exact VIP beats every prefix,
 * a /30 beats the /28 around it); LPM keys of large prefixes; the roles of every exact address
 * and of every large prefix. A large prefix's roles include those of every large prefix around it
 * (the trie returns the longest match alone), and an exact address inside a large prefix carries
 * the prefix's roles too (its packets find the slot, never the trie). Pure: the reconciler writes
 * it, the config's capacity check counts it.
 */
export interface VipPlan {
  exact: Map<string, ExactKey>;
  nets: Map<string, NetKey>;
  addrs: Map<string, { ip: IpAddress; roles: VipRoles }>;
  vipNets: Map<string, { ip: IpAddress; prefix: number; roles: VipRoles }>;
}

const NO_ROLES: VipRoles = { vip: false, snat: false, anyPort: false, net: false, ft: false };

export function planVips(services: readonly ServiceConfig[], snat: readonly IpAddress[] = []): VipPlan {
  const plan: VipPlan = { exact: new Map(), nets: new Map(), addrs: new Map(), vipNets: new Map() };
  const ownerLen = new Map<string, number>();
  const role = (ip: IpAddress, r: Partial<VipRoles>) => {
    const cur = plan.addrs.get(ip.text) ?? { ip, roles: { ...NO_ROLES } };
    cur.roles = merge(cur.roles, r);
    plan.addrs.set(ip.text, cur);
  };
  const large = services.filter((s) => !isExpanded(s.vip.family, s.prefix));
  for (const s of services) {
    const owner = serviceText(s);
    if (large.includes(s)) {
      plan.nets.set(owner, { vip: s.vip, prefix: s.prefix!, port: s.port, protocol: s.protocol, owner });
      const key = `${s.vip.text}/${s.prefix}`;
      if (!plan.vipNets.has(key)) plan.vipNets.set(key, { ip: s.vip, prefix: s.prefix!, roles: { ...NO_ROLES } });
      continue;
    }
    const len = s.prefix ?? hostBits(s.vip.family);
    for (const ip of expandPrefix(s.vip, s.prefix)) {
      role(ip, { vip: true, anyPort: s.port === ANY_PORT, ft: s.forward !== 'nat' });
      const key = `${ip.text}|${s.port}|${s.protocol}`;
      if ((ownerLen.get(key) ?? -1) >= len) continue;
      ownerLen.set(key, len);
      plan.exact.set(key, { vip: ip, port: s.port, protocol: s.protocol, owner });
    }
  }
  for (const ip of snat) role(ip, { snat: true });
  // the roles large prefixes lend to what they cover
  for (const s of large) {
    const lent: Partial<VipRoles> = { vip: true, net: true, anyPort: s.port === ANY_PORT, ft: s.forward !== 'nat' };
    for (const n of plan.vipNets.values()) if (prefixContains(s.vip, s.prefix!, n.ip, n.prefix)) n.roles = merge(n.roles, lent);
    for (const a of plan.addrs.values()) if (prefixContains(s.vip, s.prefix!, a.ip)) a.roles = merge(a.roles, lent);
  }
  return plan;
}

function merge(a: VipRoles, b: Partial<VipRoles>): VipRoles {
  return { vip: a.vip || !!b.vip, snat: a.snat || !!b.snat, anyPort: a.anyPort || !!b.anyPort, net: a.net || !!b.net, ft: a.ft || !!b.ft };
}
