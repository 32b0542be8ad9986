import { existsSync, rmSync } from 'node:fs';
import { basename, join } from 'node:path';
import { BpfMap, BpfObject, type BpfProgram } from '@xdp-lb/native';
import { FLOWSYNC, LAYOUT_VERSION, MAPS, ROOT_PROGS, u32 } from './abi.js';

export interface LoadRequest {
  objectPath: string;
  variables: Record<string, Buffer>;
  conntrackSize: number;
  /** NAT reverse-table size: conntrackSize with NAT configured, a token size without. */
  snatSize: number;
  /** Half-open table size (lb_ct_syn). */
  halfOpenSize: number;
  /**
   * lb_ft4's buckets (a power of two); 0: the flow table is off (a 1-bucket lb_ft4 that is never
   * read). The loader sets rodata ft_mask from the size the map really gets.
   */
  flowTableBuckets: number;
  /** Maps already pinned here are reused (a re-deploy keeps conntrack); missing ones are pinned. */
  mapPinDir: string;
  /**
   * A pinned conntrack (or NAT) table of another size than asked for is not reused but created
   * anew at the new size and pinned beside it (`<pin>_new`): the caller copies the entries and
   * moves the pin (migrateTable). Without it the pinned size wins.
   */
  resize?: boolean;
  /** Chained: the chain root's program array, which the program's tail calls must reach. */
  chainArray?: BpfMap;
  /** Size in bytes of the flow-sync ring (bpf/lib/flowsync.h); it stays as pinned when not given. */
  flowSyncBytes?: number;
}

export interface LoadedProgram {
  object: BpfObject;
  program: BpfProgram;
  /** Requested rodata knobs this object does not have (an older data plane): not set. */
  missingVariables: string[];
  /** Tables created at a new size beside their pin (`resize`), for migrateTable(). */
  resized: { name: string; from: number; to: number }[];
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
        throw new Error(
          `the object was built for map layout v${built}, this control plane speaks v${LAYOUT_VERSION} (rebuild: npx nx run-many -t build-bpf build)`,
        );
      }
    }
    const missingVariables: string[] = [];
    for (const [name, value] of Object.entries(req.variables)) {
      if (object.variables().some((v) => v.name === name)) object.setVariable(name, value);
      else missingVariables.push(name);
    }
    // A pinned table keeps its size (libbpf reuses a pin only if it matches exactly), unless
    // `resize`: then a new one is made beside it and the caller migrates the entries.
    const resized: LoadedProgram['resized'] = [];
    const sizes = new Map<string, number>();
    for (const [name, want] of [
      [MAPS.ct, req.conntrackSize],
      [MAPS.snat, req.snatSize],
      [MAPS.ctSyn, req.halfOpenSize],
      [MAPS.ft4, Math.max(1, req.flowTableBuckets)],
    ] as const) {
      const pinned = pinnedSize(join(req.mapPinDir, name));
      if (pinned !== undefined && pinned !== want && req.resize) resized.push({ name, from: pinned, to: want });
      sizes.set(name, req.resize ? want : (pinned ?? want));
      object.map(name).setMaxEntries(sizes.get(name)!);
    }
    // ft_mask must name the buckets of the lb_ft4 the program is loaded with (a pin keeps its size
    // without resize); off: 0 whatever that size, and lb_ft4 is never read.
    if (object.variables().some((v) => v.name === 'ft_mask'))
      object.setVariable('ft_mask', u32(req.flowTableBuckets > 0 ? sizes.get(MAPS.ft4)! - 1 : 0));
    for (const name of Object.values(MAPS)) {
      const pin = join(req.mapPinDir, name);
      if (resized.some((r) => r.name === name)) {
        rmSync(`${pin}_new`, { force: true }); // a migration that died half-way
        object.map(name).setPinPath(`${pin}_new`);
      } else if (name === MAPS.txPorts && existsSync(pin)) reuseDevmapPin(object.map(name), pin);
      else object.map(name).setPinPath(pin);
    }
    if (object.maps().some((m) => m.name === FLOWSYNC)) pinFlowSync(object.map(FLOWSYNC), join(req.mapPinDir, FLOWSYNC), req.flowSyncBytes);
    if (req.chainArray) object.map(ROOT_PROGS).reuseFd(req.chainArray);
    await object.load();
    return { object, program: object.program(PROGRAM_NAME), missingVariables, resized };
  } catch (e) {
    object.dispose();
    const err = e as Error;
    if (!err.message.includes(basename(req.objectPath))) err.message = `load ${basename(req.objectPath)}: ${err.message}`;
    throw err;
  }
}

/**
 * The flow-sync ring is pinned beside the maps but outside the layout (MAPS): it holds records in
 * flight only, so a pin of another size is replaced (its unread records are lost) rather than
 * refused, and an instance deployed before it existed gets one at its next deploy.
 */
function pinFlowSync(map: BpfMap, pin: string, bytes: number | undefined): void {
  const pinned = pinnedSize(pin);
  if (pinned !== undefined && bytes !== undefined && pinned !== bytes) rmSync(pin, { force: true });
  map.setMaxEntries(bytes ?? pinned ?? map.maxEntries);
  map.setPinPath(pin);
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

/**
 * Copies every entry of the table pinned at `pin` into `into` (its replacement at another size,
 * pinned at `<pin>_new`: bpffs refuses names with a dot). Run before the program swap (the flows so far) and after it (the flows
 * the old program created meanwhile); a smaller table keeps the most recently copied entries (LRU).
 * Returns how many entries were copied.
 */
export function copyTable(pin: string, into: BpfMap): number {
  const from = BpfMap.fromPinned(pin);
  let n = 0;
  try {
    for (const k of from.keys()) {
      const v = from.lookup(k) as Buffer | null;
      if (!v) continue;
      try {
        into.update(k, v);
        n++;
      } catch {
        /* an entry the new table cannot take: its flow is re-balanced */
      }
    }
  } finally {
    from.dispose();
  }
  return n;
}

/** Puts the new table in its pin's place (the old table goes when the last program using it does). */
export function movePin(pin: string, map: BpfMap): void {
  // Through a handle of its own: libbpf keeps the object's map tied to its first pin path.
  const own = BpfMap.fromId(map.id);
  try {
    rmSync(pin, { force: true });
    own.pin(pin);
  } finally {
    own.dispose();
  }
  map.unpin();
}
