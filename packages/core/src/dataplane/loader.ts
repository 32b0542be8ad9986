import { existsSync } from 'node:fs';
import { basename, join } from 'node:path';
import { BpfMap, BpfObject, type BpfProgram } from '@xdp-lb/native';
import { LAYOUT_VERSION, MAPS, ROOT_PROGS } from './abi.js';

export interface LoadRequest {
  objectPath: string;
  variables: Record<string, Buffer>;
  conntrackSize: number;
  /** NAT reverse-table size: conntrackSize with NAT configured, a token size without. */
  snatSize: number;
  /** Half-open table size (lb_ct_syn). */
  halfOpenSize: number;
  /** Maps already pinned here are reused (a re-deploy keeps conntrack); missing ones are pinned. */
  mapPinDir: string;
  /** Chained: the chain root's program array, which the program's tail calls must reach. */
  chainArray?: BpfMap;
}

export interface LoadedProgram {
  object: BpfObject;
  program: BpfProgram;
  /** Requested rodata knobs this object does not have (an older data plane): not set. */
  missingVariables: string[];
}

/** The program entry point every strategy object exports (bpf/lb.bpf.h). */
export const PROGRAM_NAME = 'xdp_lb';

/**
 * open -> set rodata -> size and pin maps -> load (verifier) -> the xdp_lb program.
 * On failure the object is disposed and nothing stays loaded.
 */
export async function loadProgram(req: LoadRequest): Promise<LoadedProgram> {
  const object = BpfObject.open(req.objectPath);
  try {
    // The object's own stamp (bpf/include/lb_abi.h LB_LAYOUT_VERSION): our codecs must speak it.
    if (object.variables().some((v) => v.name === 'layout_version')) {
      const built = object.getVariable('layout_version').readUInt32LE(0);
      if (built !== LAYOUT_VERSION) {
        throw new Error(`the object was built for map layout v${built}, this control plane speaks v${LAYOUT_VERSION} (rebuild: npx nx run-many -t build-bpf build)`);
      }
    }
    const missingVariables: string[] = [];
    for (const [name, value] of Object.entries(req.variables)) {
      if (object.variables().some((v) => v.name === name)) object.setVariable(name, value);
      else missingVariables.push(name);
    }
    // A pinned table keeps its size (libbpf reuses a pin only if it matches exactly); a new
    // conntrack size takes effect after an undeploy.
    object.map(MAPS.ct).setMaxEntries(pinnedSize(join(req.mapPinDir, MAPS.ct)) ?? req.conntrackSize);
    object.map(MAPS.snat).setMaxEntries(pinnedSize(join(req.mapPinDir, MAPS.snat)) ?? req.snatSize);
    object.map(MAPS.ctSyn).setMaxEntries(pinnedSize(join(req.mapPinDir, MAPS.ctSyn)) ?? req.halfOpenSize);
    for (const name of Object.values(MAPS)) {
      const pin = join(req.mapPinDir, name);
      if (name === MAPS.txPorts && existsSync(pin)) reuseDevmapPin(object.map(name), pin);
      else object.map(name).setPinPath(pin);
    }
    if (req.chainArray) object.map(ROOT_PROGS).reuseFd(req.chainArray);
    await object.load();
    return { object, program: object.program(PROGRAM_NAME), missingVariables };
  } catch (e) {
    object.dispose();
    const err = e as Error;
    if (!err.message.includes(basename(req.objectPath))) err.message = `load ${basename(req.objectPath)}: ${err.message}`;
    throw err;
  }
}

/** max_entries of a pinned map, undefined when there is no pin. */
export function pinnedSize(pin: string): number | undefined {
  if (!existsSync(pin)) return undefined;
  const m = BpfMap.fromPinned(pin);
  try {
    return m.maxEntries;
  } finally {
    m.dispose();
  }
}

/** The kernel gives every devmap BPF_F_RDONLY_PROG (0x80), which the object does not declare. */
const BPF_F_RDONLY_PROG = 0x80;

/**
 * Reuses a pinned devmap by fd after checking its shape ourselves: libbpf (1.1) compares map_flags
 * exactly when it reuses a pin, and the kernel added BPF_F_RDONLY_PROG to the pinned one, so a
 * plain setPinPath() fails every re-deploy with EINVAL ("parameter mismatch").
 */
function reuseDevmapPin(map: BpfMap, pin: string): void {
  const pinned = BpfMap.fromPinned(pin);
  try {
    const same =
      pinned.type === map.type &&
      pinned.keySize === map.keySize &&
      pinned.valueSize === map.valueSize &&
      pinned.maxEntries === map.maxEntries &&
      (pinned.flags & ~BPF_F_RDONLY_PROG) === (map.flags & ~BPF_F_RDONLY_PROG);
    if (!same) throw new Error(`pinned map ${pin} has another shape than ${map.name} (undeploy first)`);
    map.reuseFd(pinned);
  } finally {
    pinned.dispose();
  }
}
