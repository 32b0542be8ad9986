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
 * Refuses to reuse (or write into) pinned maps of another layout than the one this build's codecs
 * and BPF objects speak: they would be misread. Nothing has changed when this throws.
 */
export function checkLayout(instance: string, paths: InstancePaths): void {
  const found = pinnedLayout(paths);
  if (found === undefined || found === LAYOUT_VERSION) return;
  throw new LbError(
    `instance ${instance}: its pinned maps (${paths.maps}) have layout v${found}, this xdp-lb uses layout v${LAYOUT_VERSION}; ` +
      `they cannot be reused: run "lb undeploy${instance === 'default' ? '' : ` --instance ${instance}`}" first (established flows are re-balanced), or keep the xdp-lb version that deployed it`,
    'ELAYOUT',
  );
}

/** Stamps the pinned maps with this build's layout (after a successful deploy). */
export function stampLayout(paths: InstancePaths): void {
  writeLayoutPin(layoutPin(paths), LAYOUT_VERSION);
}
