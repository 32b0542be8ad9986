/**
 * What deploy needs to know about, and change on, an interface beyond its XDP program: its driver,
 * a veth's peer (and the namespace it lives in), ethtool features, the XDP program on a peer.
 * Mechanism only (iproute2 and ethtool, inside a namespace); the policy is lifecycle/link-prep.ts.
 */
import { join } from 'node:path';
import { bpfSourceDir } from '../strategy/external.js';
import { NetnsScope } from './netns.js';

/** A veth's other end: its name and namespace (null: the namespace of the veth itself). */
export interface VethPeer {
  name: string;
  /** The /run/netns name of the peer's namespace, or null when it is the veth's own. */
  netns: string | null;
}

/** Where the peer of a veth lives: found, or in a namespace without a /run/netns name (nsid). */
export type PeerLookup = { found: VethPeer } | { unreachable: string };

interface IpLink {
  ifindex: number;
  ifname: string;
  link?: string;
  link_index?: number;
  link_netnsid?: number;
  linkinfo?: { info_kind?: string };
  xdp?: { prog?: { id: number; name?: string }; attached?: Array<{ prog?: { id: number; name?: string } }> };
}

function ipLinks(ns: NetnsScope, dev?: string): IpLink[] {
  const r = ns.exec('ip', ['-j', '-d', 'link', 'show', ...(dev ? ['dev', dev] : [])], { allowFail: true });
  if (!r.ok) return [];
  try {
    return JSON.parse(r.stdout) as IpLink[];
  } catch {
    return [];
  }
}

/** The rtnetlink kind of an interface ('veth', 'bridge', ... ; undefined for a plain device). */
export function linkKind(ns: NetnsScope, dev: string): string | undefined {
  return ipLinks(ns, dev)[0]?.linkinfo?.info_kind;
}

/** The peer of veth `dev` in `ns`; undefined when `dev` is not a veth. */
export function vethPeer(ns: NetnsScope, dev: string): PeerLookup | undefined {
  const l = ipLinks(ns, dev)[0];
  if (!l || l.linkinfo?.info_kind !== 'veth') return undefined;
  if (l.link_netnsid === undefined) {
    // Same namespace: iproute2 names the peer.
    const name = l.link ?? ipLinks(ns).find((x) => x.ifindex === l.link_index)?.ifname;
    return name ? { found: { name, netns: ns.name } } : { unreachable: `peer ifindex ${l.link_index ?? '?'} not found` };
  }
  const ids = ns.exec('ip', ['-j', 'netns', 'list-id'], { allowFail: true });
  let named: Array<{ nsid: number; name?: string }> = [];
  try {
    named = JSON.parse(ids.stdout || '[]') as typeof named;
  } catch {
    /* no named namespaces */
  }
  const netns = named.find((n) => n.nsid === l.link_netnsid)?.name;
  if (!netns)
    return { unreachable: `its peer is in network namespace nsid ${l.link_netnsid}, which has no /run/netns name xdp-lb can enter` };
  const peer = ipLinks(new NetnsScope(netns)).find((x) => x.ifindex === l.link_index);
  return peer ? { found: { name: peer.ifname, netns } } : { unreachable: `peer ifindex ${l.link_index} not found in netns ${netns}` };
}

/** ethtool's name for a feature in `ethtool -k` output, by the name `ethtool -K` takes. */
export const FEATURE_LABEL: Record<string, string> = {
  tx: 'tx-checksumming',
  txvlan: 'tx-vlan-offload',
  'tx-vlan-stag-hw-insert': 'tx-vlan-stag-hw-insert',
  rxvlan: 'rx-vlan-offload',
  'rx-vlan-stag-hw-parse': 'rx-vlan-stag-hw-parse',
};

export interface FeatureState {
  on: boolean;
  fixed: boolean;
}

/**
 * The features of FEATURE_LABEL that `dev` reports (`ethtool -k`), by their -K name; undefined when
 * ethtool could not tell (not installed, or the device does not answer).
 */
export function features(ns: NetnsScope, dev: string): Record<string, FeatureState> | undefined {
  const r = ns.exec('ethtool', ['-k', dev], { allowFail: true });
  if (!r.ok) return undefined;
  const out: Record<string, FeatureState> = {};
  for (const [key, label] of Object.entries(FEATURE_LABEL)) {
    const m = new RegExp(`^${label}: (on|off)( \\[fixed\\])?`, 'm').exec(r.stdout);
    if (m) out[key] = { on: m[1] === 'on', fixed: Boolean(m[2]) };
  }
  return out;
}

/** `ethtool -K dev key value ...`; throws with ethtool's first error line. */
export function setFeatures(ns: NetnsScope, dev: string, values: Record<string, 'on' | 'off'>): void {
  const args = Object.entries(values).flat();
  if (args.length) ns.exec('ethtool', ['-K', dev, ...args]);
}

/** The id of the XDP program on `dev` (any mode), or undefined. */
export function xdpProgramOn(ns: NetnsScope, dev: string): { id: number; name?: string } | undefined {
  const x = ipLinks(ns, dev)[0]?.xdp;
  return x?.prog ?? x?.attached?.[0]?.prog;
}

/** The xdp_pass object (bpf/progs/xdp_pass.bpf.c, built into bpf/obj). */
export function xdpPassObject(): string {
  return join(bpfSourceDir(), 'obj', 'xdp_pass.bpf.o');
}

/** Attaches xdp_pass to `dev` in native mode over netlink (it outlives this process); its id. */
export function attachXdpPass(ns: NetnsScope, dev: string): number {
  ns.exec('ip', ['link', 'set', 'dev', dev, 'xdpdrv', 'obj', xdpPassObject(), 'sec', 'xdp']);
  const p = xdpProgramOn(ns, dev);
  if (!p) throw new Error(`xdp_pass on ${dev}: attached, but ip link shows no program`);
  return p.id;
}

/** Removes the native XDP program of `dev` if it is still program `id` (nobody replaced it). */
export function detachXdpIf(ns: NetnsScope, dev: string, id: number): boolean {
  if (xdpProgramOn(ns, dev)?.id !== id) return false;
  ns.exec('ip', ['link', 'set', 'dev', dev, 'xdpdrv', 'off']);
  return true;
}
