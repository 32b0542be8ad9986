import { join } from 'node:path';
import { INSTANCE_NAME } from '../config/defaults.js';
import { LbError } from '../lifecycle/errors.js';

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

/**
 * Refuses anything but an instance name (`[a-z0-9][a-z0-9_-]{0,31}`): the name becomes a path
 * under both roots, and `../tc` or `..` would make undeploy remove another tool's pins and state
 * (or try to remove the bpffs mount). Every path of an instance comes from instancePaths(), so
 * every command, the library and the agent are covered by this one check.
 */
export function checkInstanceName(instance: unknown): string {
  if (typeof instance === 'string' && INSTANCE_NAME.test(instance)) return instance;
  const shown = typeof instance === 'string' ? JSON.stringify(instance) : String(instance);
  throw new LbError(
    `instance name ${shown} is not valid: 1 to 32 lower-case letters, digits, "_" or "-", starting with a letter or digit`,
    'EINVAL',
  );
}

export function instancePaths(instance: string): InstancePaths {
  checkInstanceName(instance);
  const root = join(bpffsRoot(), instance);
  const stateDir = join(stateRoot(), instance);
  return { root, maps: join(root, 'maps'), links: join(root, 'links'), stateDir, stateFile: join(stateDir, 'state.json') };
}
