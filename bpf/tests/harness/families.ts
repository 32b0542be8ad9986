/** The addresses of the dual-stack suites (icmp, malformed), one set per family, and their setup. */
import { LB_ADDR_SNAT, LB_ADDR_VIP } from './abi.js';
import type { TestDataplane } from './dataplane.js';

export const V4 = { vip: '198.18.0.10', snat: '198.18.0.2', client: '198.18.1.1', be: '198.18.2.1', router: '198.18.3.254' };
export const V6 = {
  vip: '2001:db8:18::10',
  snat: '2001:db8:18::2',
  client: '2001:db8:1::1',
  be: '2001:db8:2::1',
  router: '2001:db8:3::fe',
};
export type Fam = typeof V4;

/** The families with their SNAT pool slot (0: IPv4, 1: IPv6). */
export const FAMILIES = [
  [0, V4],
  [1, V6],
] as const;

/** Registers family `f`'s VIP and SNAT address and puts the SNAT address in pool slot `n`. */
export function addFamily(dp: TestDataplane, n: number, f: Fam): void {
  dp.addAddr(f.vip, LB_ADDR_VIP);
  dp.addAddr(f.snat, LB_ADDR_SNAT);
  dp.setSnatPool(n, f.snat);
}
