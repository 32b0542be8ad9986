import { join } from 'node:path';

/**
 * Where an instance lives on the host. Pins go to the host's bpffs (never a per-netns /sys: see
 * DESIGN.md section 4), the applied config and id allocations to /var/lib. Both roots can be moved
 * (tests, several agents on one host) with XDP_LB_BPFFS and XDP_LB_STATE_DIR.
 */
export interface InstancePaths {
  readonly root: string;
  readonly maps: string;
  readonly links: string;
  readonly stateDir: string;
  readonly stateFile: string;
}

export function bpffsRoot(): string {
  return process.env.XDP_LB_BPFFS ?? '/sys/fs/bpf/xdp-lb';
}

export function stateRoot(): string {
  return process.env.XDP_LB_STATE_DIR ?? '/var/lib/xdp-lb';
}

export function instancePaths(instance: string): InstancePaths {
  const root = join(bpffsRoot(), instance);
  const stateDir = join(stateRoot(), instance);
  return { root, maps: join(root, 'maps'), links: join(root, 'links'), stateDir, stateFile: join(stateDir, 'state.json') };
}
