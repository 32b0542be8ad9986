/**
 * What an interface needs besides the XDP program, so that no frame is lost, left with a partial
 * checksum, or moved to another VLAN by the LB (issue 15 #4, #6). Deploy applies it and records each
 * change in the instance state; undeploy puts every recorded change back.
 *
 * VLAN tags must be in the frame, where the program reads (and keeps) them. The kernel may hold a
 * tag outside the frame instead (skb metadata), and the program then sees the frame untagged: a
 * tagged SYN is answered untagged, and of a QinQ frame it sees the inner tag only (so it balances
 * what it must pass). Who does that: the receiving NIC's rx VLAN offload (`rxvlan`,
 * `rx-vlan-stag-hw-parse`), and on a veth the PEER's tx VLAN offload (`txvlan`,
 * `tx-vlan-stag-hw-insert`: the tag crosses the pair as metadata; measured on 6.18, native and
 * generic, while the veth's own rxvlan changes nothing). Deploy turns those off; the kernel then
 * keeps tags in the frame and VLAN sub-interfaces of the host still work (tags are parsed in software).
 *
 * Native XDP on a veth additionally needs, on the peer:
 *  - an XDP program: veth hands XDP_TX'd and redirected frames only to a peer that runs XDP; without
 *    one every forwarded frame is dropped while the deploy looks fine. Deploy attaches xdp_pass when
 *    the peer has none (removed at undeploy if still there). Its cost: the peer's traffic takes veth's
 *    XDP path, where TCP sees more retransmits than on the plain path.
 *  - TX checksum offload off: with it on, frames the peer transmits for local senders carry partial
 *    checksums (CHECKSUM_PARTIAL), which native XDP_TX forwards unfinished (backends count
 *    TcpInCsumErrors, nothing is served); off, the kernel completes them before they cross.
 * A peer in a namespace xdp-lb cannot enter (no /run/netns name) cannot be prepared: native mode is
 * refused there with the cause and `--mode generic`; `auto` picks generic on every veth.
 */
import type { XdpMode } from '../config/defaults.js';
import { attachXdpPass, detachXdpIf, features, setFeatures, vethPeer, xdpProgramOn, type VethPeer } from '../dataplane/links.js';
import { NetnsScope } from '../dataplane/netns.js';
import { LbError } from './errors.js';

/** What preflight found about an interface: its effective mode and, for a veth, its peer. */
export interface LinkPlan {
  name: string;
  /** The mode to attach in: the requested one, but generic for `auto` on a veth. */
  mode: XdpMode;
  veth: boolean;
  peer?: VethPeer;
}

/** One change deploy made to a device, with what undeploy needs to undo it. */
export interface LinkChange {
  /** The device's namespace (/run/netns name), or null for the caller's own. */
  netns: string | null;
  dev: string;
  /** ethtool features turned off, each to be set back to on. */
  features?: string[];
  /** The id of the xdp_pass deploy attached (undeploy removes it if it is still there). */
  xdpPass?: number;
}

const VETH_PEER_VLAN = ['txvlan', 'tx-vlan-stag-hw-insert'];
const NIC_VLAN = ['rxvlan', 'rx-vlan-stag-hw-parse'];

/** Preflight (reads only): refuses native/offload on a veth whose peer cannot be prepared. */
export function planLink(ns: NetnsScope, name: string, mode: XdpMode, warnings: string[]): LinkPlan {
  const lookup = vethPeer(ns, name);
  if (!lookup) return { name, mode, veth: false };
  if ('found' in lookup) return { name, mode: mode === 'auto' ? 'generic' : mode, veth: true, peer: lookup.found };
  if (mode === 'native' || mode === 'offload') {
    throw new LbError(
      `interface ${name} is a veth whose peer xdp-lb cannot prepare (${lookup.unreachable}): native XDP on veth needs an XDP program on the peer and its TX checksum offload off; use --mode generic (or ${name}:generic)`,
      'EOPNOTSUPP',
    );
  }
  warnings.push(
    `interface ${name} is a veth whose peer xdp-lb cannot prepare (${lookup.unreachable}): VLAN tags the peer sends as metadata reach the LB untagged; turn off tx-vlan-offload on the peer if VLANs cross it`,
  );
  return { name, mode: mode === 'auto' ? 'generic' : mode, veth: true };
}

/** Turns `want` off on `dev` where on and changeable; returns the ones turned off. */
function featuresOff(scope: NetnsScope, dev: string, want: string[], warnings: string[], what: string): string[] {
  const have = features(scope, dev);
  if (!have) {
    warnings.push(`${dev}: ethtool -k failed (is ethtool installed?): ${want.join(', ')} left as they are; ${what} if they are on`);
    return [];
  }
  const off = want.filter((k) => have[k]?.on && !have[k]!.fixed);
  const fixed = want.filter((k) => have[k]?.on && have[k]!.fixed);
  if (fixed.length) warnings.push(`${dev}: ${fixed.join(', ')} on [fixed]: ${what}`);
  setFeatures(scope, dev, Object.fromEntries(off.map((k) => [k, 'off' as const])));
  return off;
}

/**
 * Applies the plans (kernel changes): returns what was changed and one line per device for the
 * deploy's output. On an error, what this call changed is undone before it throws.
 */
export function prepareLinks(ns: NetnsScope, plans: readonly LinkPlan[], warnings: string[]): { changes: LinkChange[]; notes: string[] } {
  const changes: LinkChange[] = [];
  const notes: string[] = [];
  try {
    for (const p of plans) {
      if (!p.veth) {
        const off = featuresOff(ns, p.name, NIC_VLAN, warnings, 'tagged frames reach the program untagged (the NIC strips the tag)');
        if (off.length) {
          changes.push({ netns: ns.name, dev: p.name, features: off });
          notes.push(`${p.name}: ${off.join(', ')} off (VLAN tags stay in the frame); restored at undeploy`);
        }
        continue;
      }
      if (!p.peer) continue;
      const scope = new NetnsScope(p.peer.netns);
      const where = `${p.name}'s veth peer ${p.peer.name}${p.peer.netns && p.peer.netns !== ns.name ? ` (netns ${p.peer.netns})` : ''}`;
      const native = p.mode === 'native';
      const done: string[] = [];
      const off = featuresOff(
        scope,
        p.peer.name,
        native ? ['tx', ...VETH_PEER_VLAN] : VETH_PEER_VLAN,
        warnings,
        'tagged frames reach the LB untagged',
      );
      if (off.length) {
        changes.push({ netns: p.peer.netns, dev: p.peer.name, features: off }); // recorded at once: undone if what follows fails
        done.push(`${off.join(', ')} off`);
      }
      if (native && !xdpProgramOn(scope, p.peer.name)) {
        const id = attachXdpPass(scope, p.peer.name);
        changes.push({ netns: p.peer.netns, dev: p.peer.name, xdpPass: id });
        done.push(`xdp_pass attached (program ${id})`);
      }
      if (done.length) notes.push(`${where}: ${done.join(', ')}; restored at undeploy`);
    }
  } catch (e) {
    restoreLinks(changes);
    throw e;
  }
  return { changes, notes };
}

/** Undoes recorded changes, newest first; best effort (a device or namespace may be gone). */
export function restoreLinks(changes: readonly LinkChange[]): void {
  for (const c of [...changes].reverse()) {
    const scope = new NetnsScope(c.netns);
    try {
      if (c.xdpPass !== undefined) detachXdpIf(scope, c.dev, c.xdpPass);
    } catch {
      /* gone */
    }
    try {
      if (c.features?.length) setFeatures(scope, c.dev, Object.fromEntries(c.features.map((k) => [k, 'on' as const])));
    } catch {
      /* gone */
    }
  }
}
