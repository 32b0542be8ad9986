import type { IpAddress } from '../config/address.js';
import type { NetnsScope } from './netns.js';

/**
 * Makes the kernel resolve the next hop of each backend, so that the data plane's
 * bpf_fib_lookup() finds a neighbour entry (XDP cannot trigger resolution itself; a miss is
 * counted as drop_no_neigh and the client retransmits). `ip neigh add ... nud incomplete use`
 * starts ordinary ARP/ND resolution without sending anything else to the backend.
 * Returns the backends whose next hop is still unresolved (for the caller to report).
 */
export function primeNeighbours(ns: NetnsScope, addresses: readonly IpAddress[]): string[] {
  const pending: { addr: string; dev: string; via: string }[] = [];
  for (const a of addresses) {
    const route = ns.exec('ip', [`-${a.family}`, '-o', 'route', 'get', a.text], { allowFail: true });
    if (!route.ok) continue;
    const dev = /\bdev (\S+)/.exec(route.stdout)?.[1];
    const via = /\bvia (\S+)/.exec(route.stdout)?.[1] ?? a.text;
    if (!dev || dev === 'lo') continue;
    const state = ns.exec('ip', [`-${a.family}`, 'neigh', 'show', via, 'dev', dev], { allowFail: true }).stdout;
    if (/REACHABLE|STALE|DELAY|PROBE|PERMANENT|NOARP/.test(state)) continue;
    ns.exec('ip', [`-${a.family}`, 'neigh', 'replace', via, 'dev', dev, 'nud', 'incomplete', 'use'], { allowFail: true });
    pending.push({ addr: a.text, dev, via });
  }
  // Resolution takes one round trip on a LAN; wait briefly so that the first flows find it.
  const deadline = Date.now() + 1500;
  let unresolved = pending;
  while (unresolved.length > 0 && Date.now() < deadline) {
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 50);
    unresolved = unresolved.filter(
      (p) => !/lladdr/.test(ns.exec('ip', ['neigh', 'show', p.via, 'dev', p.dev], { allowFail: true }).stdout),
    );
  }
  return unresolved.map((p) => p.addr);
}
