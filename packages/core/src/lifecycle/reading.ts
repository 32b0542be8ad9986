import { formatVip } from '../config/prefix.js';
import * as abi from '../dataplane/abi.js';
import { countFtBuckets, type FlowTimeouts, type FtCount, readFtBucketsSync } from '../dataplane/flowtab.js';
import { InstanceMaps } from '../dataplane/maps.js';
import { MODE_NAME, pinnedLinkProgram } from '../dataplane/xdp.js';
import { serviceIdentity } from '../state/allocation.js';
import { instancePaths } from '../state/paths.js';
import { type InstanceState, readState } from '../state/store.js';
import { desiredOf } from './desired.js';
import type { Desired } from './reconcile.js';
import { servingProblem } from './serving.js';

/**
 * The one reader of the data plane's counters (`lb status`, `lb stats`, the agent's metrics and
 * health view): per-CPU counters of services, backends and reasons, whether each service can
 * serve, and whether each pinned link still holds a program. Never walks the conntrack (a million
 * syscalls at the default size): `lb status` counts it once on its own, the agent in the
 * background (agent/reading.ts ConntrackGauge), and `lb stats` not at all.
 */
export interface DataplaneReading {
  instance: string;
  strategy: string;
  interfaces: { name: string; ifindex: number; requestedMode: string; mode: string; attached: boolean; progId: number | null }[];
  services: ServiceReading[];
  /** Every lb_reasons slot the loaded data plane has, named from the ABI (`reason_<n>` if newer). */
  reasons: { reason: string; packets: bigint }[];
  conntrackMax: number;
  /** lb_ct_syn's size (limits.halfOpenSize at the first deploy). */
  halfOpenMax: number;
  /** lb_ft4's buckets (limits.flowTableBuckets); 0: the flow table is off (a 1-bucket map, never read). */
  flowTableBuckets: number;
}

export interface ServiceReading {
  name: string;
  /** The service's strategy. */
  strategy: string;
  /** "198.18.0.10:80", "198.18.0.10:*" for every port, "198.18.10.0/28:80" for a prefix. */
  vip: string;
  /** Short-header QUIC packets of untracked tuples are routed by connection id. */
  quic?: true;
  protocol: string;
  forward: string;
  id: number;
  /** Why a new flow cannot reach a backend now (serving.ts); undefined: it can. */
  problem: string | undefined;
  counters: abi.Counters;
  backends: {
    key: string;
    id: number;
    weight: number;
    state: string;
    quicServerId?: number;
    counters: abi.Counters;
    /** With `slots`: slots of the service's table. */ slots?: number;
  }[];
}

export interface ReadOptions {
  /** Count each backend's slots in its service's table (a lookup per slot: `lb status` only). */
  slots?: boolean;
}

/** The reading of a deployed instance; undefined when it is not deployed. */
export function readDataplane(instance: string, opts: ReadOptions = {}): DataplaneReading | undefined {
  const state = readState(instance);
  return state ? readDataplaneOf(state, opts) : undefined;
}

/**
 * `desired`: the state's config already resolved by the caller (`lb status` needs it too: one
 * resolution, not two); resolved here when not given.
 */
export function readDataplaneOf(state: InstanceState, opts: ReadOptions = {}, desired: Desired = desiredOf(state)): DataplaneReading {
  const { config, allocation } = desired;
  const interfaces = state.interfaces.map((i) => {
    const progId = pinnedLinkProgram(i.linkPin);
    return { name: i.name, ifindex: i.ifindex, requestedMode: i.requestedMode, mode: MODE_NAME[i.mode], attached: progId !== null, progId };
  });
  const maps = InstanceMaps.fromPins(instancePaths(state.instance).maps);
  try {
    const services = config.services.map((svc): ServiceReading => {
      const a = allocation.services[serviceIdentity(svc)]!;
      let slots: Map<number, number> | undefined;
      if (opts.slots) {
        slots = new Map();
        for (const id of maps.table(a.id) ?? []) slots.set(id, (slots.get(id) ?? 0) + 1);
      }
      return {
        name: svc.name,
        strategy: svc.strategy,
        vip: formatVip(svc.vip, svc.prefix, svc.port),
        protocol: svc.protocol,
        forward: svc.forward,
        ...(svc.quic ? { quic: true as const } : {}),
        id: a.id,
        problem: servingProblem(maps, svc, a),
        counters: maps.serviceCounters(a.id),
        backends: svc.backends.map((b) => {
          const id = a.backends[b.key]!.id;
          return {
            key: b.key,
            id,
            weight: b.weight,
            state: b.state,
            ...(b.quicServerId !== undefined ? { quicServerId: b.quicServerId } : {}),
            counters: maps.backendCounters(id),
            ...(slots ? { slots: slots.get(id) ?? 0 } : {}),
          };
        }),
      };
    });
    const rm = maps.map(abi.MAPS.reasons);
    const reasons: DataplaneReading['reasons'] = [];
    for (let i = 0; i < rm.maxEntries; i++) {
      const v = rm.lookup(abi.u32(i)) as Buffer[] | null;
      reasons.push({ reason: abi.REASONS[i] ?? `reason_${i}`, packets: v ? abi.sumU64(v) : 0n });
    }
    return {
      instance: state.instance,
      strategy: state.strategy.id,
      interfaces,
      services,
      reasons,
      conntrackMax: maps.map(abi.MAPS.ct).maxEntries,
      halfOpenMax: maps.map(abi.MAPS.ctSyn).maxEntries,
      flowTableBuckets: flowTableBucketsOf(maps),
    };
  } finally {
    maps.dispose();
  }
}

/** lb_ft4's buckets, 0 when the table is off (deploy gives it 1 bucket then, and ft_mask 0). */
function flowTableBucketsOf(maps: InstanceMaps): number {
  const n = maps.map(abi.MAPS.ft4).maxEntries;
  return n > 1 ? n : 0;
}

/**
 * Live flows, once (`lb status`), never per tick: lb_ct's and lb_ct_syn's entries (a walk of their
 * keys) plus the flow table's live slots (`timeouts`: the config's, as the data plane's), counted
 * into `entries` (established) and `halfOpen` too; `flowTable` is the table's share, when it is on.
 */
export function countConntrack(
  instance: string,
  timeouts: FlowTimeouts,
): { entries: number; halfOpen: number; flowTable?: FtCount & { buckets: number } } {
  const maps = InstanceMaps.fromPins(instancePaths(instance).maps);
  try {
    const entries = maps.conntrackCount();
    const halfOpen = maps.conntrackCount(Infinity, abi.MAPS.ctSyn);
    const buckets = flowTableBucketsOf(maps);
    if (!buckets) return { entries, halfOpen };
    const ft = countFtBuckets(readFtBucketsSync(maps.map(abi.MAPS.ft4)), process.hrtime.bigint(), timeouts);
    return { entries: entries + ft.established, halfOpen: halfOpen + ft.halfOpen, flowTable: { ...ft, buckets } };
  } finally {
    maps.dispose();
  }
}
