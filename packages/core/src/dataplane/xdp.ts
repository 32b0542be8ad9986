import { existsSync, rmSync } from 'node:fs';
import { BpfLink, BpfProgram, ifNameToIndex, xdpDetachNetlink, xdpQuery } from '@xdp-lb/native';
import type { XdpMode } from '../config/defaults.js';

export type KernelMode = 'skb' | 'drv' | 'hw';

export const KERNEL_MODE: Record<Exclude<XdpMode, 'auto'>, KernelMode> = { native: 'drv', generic: 'skb', offload: 'hw' };
export const MODE_NAME: Record<KernelMode, string> = { drv: 'native', skb: 'generic', hw: 'offload' };

/** What is attached to an interface now, as far as deploy's safety checks care. */
export interface XdpOccupant {
  progId: number;
  attachment: 'link' | 'netlink' | null;
  linkId?: number;
  mode: string;
}

/** The name libxdp gives its multi-program dispatcher (xdp-loader, xdp_multiprog). */
export const LIBXDP_DISPATCHER = 'xdp_dispatcher';

/** What to tell a user whose interface runs libxdp's dispatcher. */
export const LIBXDP_NOTE = (ifname: string): string =>
  `libxdp's dispatcher (xdp-loader); xdp-lb does not join it (its members are extension programs, which \`lb doctor\` says whether this kernel allows): ` +
  `unload it (xdp-loader unload ${ifname} --all) and run the programs with xdp-lb's chain mode (chain: {name, slot, next})`;

/** A loaded program's name by id (15 characters at most, the kernel's limit), or undefined. */
export function programName(progId: number): string | undefined {
  try {
    const prog = BpfProgram.fromId(progId);
    try {
      return prog.name;
    } finally {
      prog.dispose();
    }
  } catch {
    return undefined;
  }
}

export function ifindexOf(name: string): number {
  return ifNameToIndex(name);
}

export function occupant(ifindex: number): XdpOccupant | undefined {
  const q = xdpQuery(ifindex);
  if (!q.progId && q.mode === 'none') return undefined;
  return { progId: q.progId, attachment: q.attachment, linkId: q.linkId, mode: q.mode };
}

/**
 * Attaches as a bpf_link in the requested mode; `auto` tries native, then generic (only when the
 * user asked for auto: a silent fallback would hide a 5x slower data plane).
 */
export function attach(program: BpfProgram, ifindex: number, ifname: string, mode: XdpMode): { link: BpfLink; mode: KernelMode } {
  const tries: KernelMode[] = mode === 'auto' ? ['drv', 'skb'] : [KERNEL_MODE[mode]];
  let last: Error | undefined;
  for (const m of tries) {
    try {
      return { link: BpfLink.attachXdp(program, ifindex, { mode: m }), mode: m };
    } catch (e) {
      last = e as Error;
    }
  }
  throw explainAttachError(last!, ifname, mode);
}

function explainAttachError(e: Error & { code?: string }, ifname: string, mode: XdpMode): Error {
  let why = e.message;
  if (mode === 'offload') why = `offload (hw) XDP is not supported by ${ifname} (${e.code ?? e.message})`;
  else if (mode === 'native' && (e.code === 'EOPNOTSUPP' || e.code === 'EINVAL')) {
    why = `the driver of ${ifname} has no native XDP support (${e.code}); use --mode generic, or auto to fall back`;
  } else if (e.code === 'EBUSY' || e.code === 'EEXIST') why = `${ifname} already has an XDP program (${e.code})`;
  const err = new Error(`attach ${ifname} (${mode}): ${why}`) as Error & { code?: string };
  err.code = e.code;
  return err;
}

export function detachNetlink(ifindex: number, mode: string): void {
  xdpDetachNetlink(ifindex, mode as KernelMode);
}

/** bpf_link_update through a pin: the new program replaces the old one atomically. */
export function updatePinnedLink(pin: string, program: BpfProgram): void {
  const link = BpfLink.fromPinned(pin);
  try {
    link.update(program);
  } finally {
    link.dispose();
  }
}

/** Detaches a pinned link and removes its pin (a missing pin is already gone). */
export function detachPinnedLink(pin: string): void {
  if (!existsSync(pin)) return;
  const link = BpfLink.fromPinned(pin);
  try {
    link.detach();
  } finally {
    link.dispose();
    rmSync(pin, { force: true });
  }
}

/** The program a pinned link runs, or null when the pin is gone or the link is defunct. */
export function pinnedLinkProgram(pin: string): number | null {
  if (!existsSync(pin)) return null;
  const link = BpfLink.fromPinned(pin);
  try {
    const info = link.info();
    return info.ifindex ? info.progId : null;
  } finally {
    link.dispose();
  }
}

/** Detach and unpin links created by a deploy that is being rolled back. */
export function rollbackLinks(links: readonly BpfLink[]): void {
  for (const link of links) {
    try {
      link.detach();
      if (link.pinPath) link.unpin();
    } catch {
      /* best effort: the link may not be pinned yet */
    }
  }
}
