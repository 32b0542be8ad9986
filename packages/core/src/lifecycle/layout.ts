import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { LAYOUT_VERSION, MAPS } from '../dataplane/abi.js';
import { readLayoutPin, writeLayoutPin } from '../dataplane/layout.js';
import type { InstancePaths } from '../state/paths.js';
import { LbError } from './errors.js';

/** Deployments made before the stamp existed all had layout 1 (the only one there was). */
const UNSTAMPED_LAYOUT = 1;

export function layoutPin(paths: InstancePaths): string {
  return join(paths.root, 'layout');
}

/** The layout of the instance's pinned maps; undefined when it has none (not deployed). */
export function pinnedLayout(paths: InstancePaths): number | undefined {
  const stamped = readLayoutPin(layoutPin(paths));
  if (stamped !== undefined) return stamped;
  return existsSync(join(paths.maps, MAPS.ct)) ? UNSTAMPED_LAYOUT : undefined;
}

/**
 * Older layouts a (re-)deploy of this build upgrades in place, keeping conntrack, and what the
 * upgrade does. Each is a strict subset of this layout: every map it pinned keeps its name, key,
 * value and size here, and the upgrade only adds maps, which the loader creates and pins, the
 * reconciler fills, and only then the new program is attached (the running old program never
 * reads them), or give meaning to a byte that was padding (zero, never read by the older
 * program) that the full reconcile of the deploy writes before the new program runs. A layout
 * that changes an existing map otherwise is not listed: it needs an undeploy.
 */
export const UPGRADES: Readonly<Record<number, string>> = {
  2: 'adds lb_addr_slots, the address slot table, filled from lb_addrs, lb_ct_syn, the half-open table, and the prefix VIP and QUIC maps; gives each service its strategy; adds lb_ft4, the flow table',
  3: 'adds lb_ct_syn, the half-open table (bpf/lib/halfopen.h), established flows staying in lb_ct, and the prefix VIP and QUIC maps; gives each service its strategy; adds lb_ft4, the flow table',
  4: 'adds lb_vip_nets and lb_svc_nets, the large prefix VIPs (bpf/lib/service.h), and lb_quic_ids, QUIC server ids (bpf/lib/quic.h); gives each service its strategy; adds lb_ft4, the flow table',
  5: 'gives each service its strategy (lb_svc.strategy, a padding byte before): every service is rewritten; adds lb_ft4, the flow table',
  6: 'adds lb_ft4, the flow table of IPv4 dsr/ipip/gue flows (bpf/lib/flowtab.h): only a map; the flows in lb_ct stay there and are still found (after an lb_ft4 miss)',
};

/**
 * Refuses to reuse (or write into) pinned maps of another layout than the one this build's codecs
 * and BPF objects speak: they would be misread. With `upgrade` (a deploy, which then stamps the
 * pins), a layout of UPGRADES is accepted and returned. Nothing has changed when this throws.
 */
export function checkLayout(instance: string, paths: InstancePaths, opts: { upgrade?: boolean } = {}): { upgradeFrom?: number } {
  const found = pinnedLayout(paths);
  if (found === undefined || found === LAYOUT_VERSION) return {};
  const what = `instance ${instance}: its pinned maps (${paths.maps}) have layout v${found}, this xdp-lb uses layout v${LAYOUT_VERSION}`;
  if (found in UPGRADES) {
    if (opts.upgrade) return { upgradeFrom: found };
    throw new LbError(
      `${what}: run "lb deploy" with its config (or restart lb serve) to upgrade them in place (conntrack is kept)`,
      'ELAYOUT',
    );
  }
  throw new LbError(
    `${what}; they cannot be reused: run "lb undeploy${instance === 'default' ? '' : ` --instance ${instance}`}" first (established flows are re-balanced), or keep the xdp-lb version that deployed it`,
    'ELAYOUT',
  );
}

/** Stamps the pinned maps with this build's layout (after a successful deploy). */
export function stampLayout(paths: InstancePaths): void {
  writeLayoutPin(layoutPin(paths), LAYOUT_VERSION);
}
