import { existsSync } from 'node:fs';
import type { LbConfig } from '../config/types.js';
import { localAddresses, type NetnsScope } from '../dataplane/netns.js';
import { parseIp } from '../config/address.js';
import {
  ifindexOf,
  KERNEL_MODE,
  LIBXDP_DISPATCHER,
  LIBXDP_NOTE,
  MODE_NAME,
  occupant,
  programName,
  type XdpOccupant,
} from '../dataplane/xdp.js';
import type { InstanceState } from '../state/store.js';
import { LbError } from './errors.js';
import { type LinkPlan, planLink } from './link-prep.js';

export interface InterfacePlan {
  name: string;
  ifindex: number;
  /**
   * 'update': our own link, replaced atomically; 'attach': free; 'replace': foreign netlink
   * program, --force; 'shared': the interface already runs our chain's root (chained mode);
   * 'reattach': our own link, in another XDP mode than the one now asked for (a link cannot change
   * its mode: detach, then attach; not atomic, said in a warning).
   */
  action: 'update' | 'attach' | 'replace' | 'shared' | 'reattach';
  occupant?: XdpOccupant;
  /** The mode to attach in (`auto` is generic on a veth) and the veth peer deploy prepares. */
  link: LinkPlan;
}

/**
 * The largest MTU a single-buffer XDP program can take in native mode with 4 KiB pages: the frame
 * (MTU + 14) must fit in one page after XDP's 256-byte headroom and the skb_shared_info tail
 * (4096 - 256 - 320 - 14 = 3506, veth's exact limit). Larger (jumbo) frames need a multi-buffer
 * (`xdp.frags`) program, which the data plane is not; some drivers allow less (Intel i40e, ice and
 * ixgbe with 3 KiB buffers: 3046), and their attach error is then the kernel's.
 */
export const XDP_MAX_NATIVE_MTU = 3506;

/** An interface's MTU (undefined if unknown), read inside the namespace. */
export function mtuOf(ns: NetnsScope, name: string): number | undefined {
  const r = ns.exec('ip', ['-o', 'link', 'show', 'dev', name], { allowFail: true });
  const m = /\bmtu (\d+)/.exec(r.stdout);
  return m ? Number(m[1]) : undefined;
}

/**
 * Everything deploy checks before it touches the kernel: each interface exists and is free (or
 * ours, or --force and netlink-attached), its MTU fits single-buffer XDP in the requested mode
 * (jumbo frames: generic mode only), a veth in native mode has a peer deploy can prepare
 * (link-prep.ts), and the SNAT port range cannot collide with the host's own ephemeral ports.
 * Throws one LbError naming the first problem.
 */
export function planInterfaces(
  cfg: LbConfig,
  ns: NetnsScope,
  prev: InstanceState | undefined,
  force: boolean,
  chainRootId?: number,
): { plans: InterfacePlan[]; warnings: string[] } {
  const warnings: string[] = [];
  const plans = ns.run(() =>
    cfg.interfaces.map((iface): InterfacePlan => {
      let ifindex: number;
      try {
        ifindex = ifindexOf(iface.name);
      } catch {
        throw new LbError(`interface ${iface.name}: no such interface${ns.name ? ` in netns ${ns.name}` : ''}`, 'ENODEV');
      }
      const mtu = mtuOf(ns, iface.name);
      if (mtu !== undefined && mtu > XDP_MAX_NATIVE_MTU) {
        if (iface.mode === 'native' || iface.mode === 'offload') {
          throw new LbError(
            `interface ${iface.name} has MTU ${mtu}: ${iface.mode} XDP takes frames of one page at most (MTU <= ${XDP_MAX_NATIVE_MTU}; ` +
              `jumbo frames need a multi-buffer program, which xdp-lb does not provide): lower the MTU, or attach in generic mode (${iface.name}:generic), which handles jumbo frames at a lower packet rate`,
            'EMSGSIZE',
          );
        }
        if (iface.mode === 'auto')
          warnings.push(
            `interface ${iface.name} has MTU ${mtu} (jumbo frames): native XDP is impossible, auto mode attaches in generic mode`,
          );
      }
      const link = planLink(ns, iface.name, iface.mode, warnings);
      const occ = occupant(ifindex);
      if (!occ) return { name: iface.name, ifindex, action: 'attach', link };
      if (chainRootId !== undefined && occ.progId === chainRootId)
        return { name: iface.name, ifindex, action: 'shared', occupant: occ, link };
      const ours = prev?.interfaces.find((i) => i.ifindex === ifindex && existsSync(i.linkPin));
      if (ours && occ.attachment === 'link') {
        // The mode the link plan attaches in (auto: generic on a veth; otherwise what it gets).
        const wanted = link.mode === 'auto' ? undefined : KERNEL_MODE[link.mode];
        if (wanted === undefined || wanted === ours.mode) return { name: iface.name, ifindex, action: 'update', occupant: occ, link };
        warnings.push(
          `interface ${iface.name}: XDP mode ${MODE_NAME[ours.mode]} -> ${MODE_NAME[wanted]}: re-attached (detach, then attach: not atomic, packets reach the host's stack unbalanced in between; conntrack kept)`,
        );
        return { name: iface.name, ifindex, action: 'reattach', occupant: occ, link };
      }
      if (programName(occ.progId) === LIBXDP_DISPATCHER && !force) {
        throw new LbError(`interface ${iface.name} has XDP program ${occ.progId}, ${LIBXDP_NOTE(iface.name)}`, 'EBUSY');
      }
      if (occ.attachment === 'link') {
        throw new LbError(
          `interface ${iface.name} has XDP program ${occ.progId} held by bpf_link ${occ.linkId ?? '?'}: a link cannot be replaced by another owner; detach it with the tool that created it`,
          'EBUSY',
        );
      }
      if (!force) {
        throw new LbError(
          `interface ${iface.name} already has XDP program ${occ.progId} (${occ.mode}, netlink): refusing to replace it; use --force to replace it (not atomic)`,
          'EBUSY',
        );
      }
      warnings.push(
        `replacing XDP program ${occ.progId} on ${iface.name}: detach then attach, not atomic (packets pass unfiltered in between)`,
      );
      return { name: iface.name, ifindex, action: 'replace', occupant: occ, link };
    }),
  );
  return { plans, warnings };
}

/**
 * A SNAT address must be one of the LB's own (in its namespace): backends answer to it, and only
 * an address the host holds (answers ARP/ND for) gets those replies back to the LB. Another
 * address was accepted before, and every NAT flow then hung after its first packet.
 */
export function checkSnatOwned(cfg: LbConfig, ns: NetnsScope): void {
  const addrs = cfg.snat?.addresses ?? [];
  if (addrs.length === 0) return;
  const own = new Set(localAddresses(ns.name).flatMap((a) => parseIp(a)?.text ?? []));
  const foreign = addrs.filter((a) => !own.has(a.text));
  if (foreign.length === 0) return;
  throw new LbError(
    `snat address ${foreign.map((a) => a.text).join(', ')} is not an address of this host${ns.name ? ` (netns ${ns.name})` : ''}: backends' replies would never reach the LB; ` +
      `use one of its addresses (ip addr), e.g. ${
        [...own]
          .filter((a) => !a.startsWith('127.') && a !== '::1' && !a.startsWith('fe80'))
          .slice(0, 3)
          .join(', ') || 'none found'
      }`,
    'EADDRNOTAVAIL',
  );
}

/** The SNAT range must lie outside the host's ephemeral port range, or replies would collide. */
export function checkSnatPorts(cfg: LbConfig, ns: NetnsScope): void {
  if (!cfg.snat || !cfg.services.some((s) => s.forward === 'nat')) return;
  const range = ns.sysctlRead('net.ipv4.ip_local_port_range');
  if (!range) return;
  const [lo, hi] = range.split(/\s+/).map(Number) as [number, number];
  const { portMin, portMax } = cfg.snat;
  if (portMin <= hi && portMax >= lo) {
    throw new LbError(
      `snat.ports ${portMin}-${portMax} overlaps the host's ephemeral ports ${lo}-${hi} (net.ipv4.ip_local_port_range): choose a range outside it, e.g. 20000-29999`,
      'EINVAL',
    );
  }
}
