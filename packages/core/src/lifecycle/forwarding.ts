import type { LbConfig } from '../config/types.js';
import type { NetnsScope } from '../dataplane/netns.js';

/**
 * bpf_fib_lookup() answers only for an ingress interface that forwards (per interface, per
 * family). Turns forwarding on for the LB's interfaces — IPv6 too when a VIP or backend is IPv6, with
 * accept_ra raised from 1 to 2 so that router advertisements keep configuring the host — and
 * records each value it changed in `restore` (first value wins: an earlier deploy's original).
 */
export function enableForwarding(ns: NetnsScope, cfg: LbConfig, restore: Record<string, string>): void {
  // IPv6 VIPs, and IPv6 backends behind IPv4 VIPs (4in6: the next hop is looked up in IPv6)
  const v6 = cfg.services.some((s) => s.vip.family === 6 || s.backends.some((b) => b.address.family === 6));
  for (const iface of cfg.interfaces) {
    const name = iface.name.replaceAll('.', '/'); // sysctl(8) key syntax: a VLAN's eth0.100 is eth0/100
    set(ns, `net.ipv4.conf.${name}.forwarding`, () => '1', restore);
    if (!v6) continue;
    set(ns, `net.ipv6.conf.${name}.accept_ra`, (was) => (was === '1' ? '2' : was), restore);
    set(ns, `net.ipv6.conf.${name}.forwarding`, () => '1', restore);
  }
}

function set(ns: NetnsScope, key: string, value: (was: string) => string, restore: Record<string, string>): void {
  const was = ns.sysctlRead(key);
  if (was === undefined) return; // IPv6 disabled on the interface, or no such knob
  const want = value(was);
  if (want === was) return;
  if (!(key in restore)) restore[key] = was;
  ns.sysctlWrite(key, want);
}
