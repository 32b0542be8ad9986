import * as abi from '../dataplane/abi.js';
import { flowTimeouts } from '../dataplane/flowtab.js';
import type { LinkChange } from './link-prep.js';
import { InstanceMaps } from '../dataplane/maps.js';
import { chainSlots } from '../dataplane/chain.js';
import { NetnsScope } from '../dataplane/netns.js';
import { occupant } from '../dataplane/xdp.js';
import { serviceIdentity } from '../state/allocation.js';
import { instancePaths } from '../state/paths.js';
import { programStrategyIds } from '../state/store.js';
import { desiredOf } from './desired.js';
import { LbError } from './errors.js';
import { checkLayout } from './layout.js';
import { requireState } from './update.js';
import { countConntrack, readDataplaneOf } from './reading.js';

export interface CounterView {
  packets: number;
  bytes: number;
  newFlows: number;
  drops: number;
}

export interface StatusView {
  instance: string;
  /** The default strategy of the services. */
  strategy: string;
  /** The strategies the loaded program carries, in fragment order (a service moves between them hot). */
  strategies: string[];
  netns: string | null;
  /** Chained mode: the chain, xdp-lb's slot, and the program id in each occupied slot. */
  chain?: { name: string; slot: number; slots: Record<number, number> };
  deployedAt: string;
  updatedAt: string;
  interfaces: { name: string; ifindex: number; requestedMode: string; mode: string; progId: number | null; attached: boolean }[];
  /** Device changes deploy made besides attaching (a veth peer's xdp_pass, offloads), undone by undeploy. */
  devices: LinkChange[];
  services: {
    name: string;
    vip: string;
    protocol: string;
    forward: string;
    /** QUIC connection-id routing is on (bpf/lib/quic.h). */
    quic?: boolean;
    /** The service's strategy (its own or the instance's default). */
    strategy: string;
    id: number;
    /** Whether a new flow can reach a backend now (serving.ts); `problem` says why not. */
    serving: boolean;
    problem?: string;
    counters: CounterView;
    backends: { key: string; id: number; weight: number; state: string; quicServerId?: number; slots: number; counters: CounterView }[];
  }[];
  /** Established flows: lb_ct's entries plus the flow table's live ones; `max` is lb_ct's size. */
  conntrack: { entries: number; max: number };
  /** Half-open TCP flows (lb_ct_syn, bpf/lib/halfopen.h, plus the flow table's); `max` is lb_ct_syn's size. */
  halfOpen: { entries: number; max: number };
  /** The flow table (lb_ft4, bpf/lib/flowtab.h) when it is on: its buckets of 4 slots and its share of the flows above. */
  flowTable?: { buckets: number; established: number; halfOpen: number };
  reasons: Record<string, number>;
  /** Cluster flow sync (config `cluster`): the sync addresses and the data plane's records so far. */
  flowSync?: { listen: string; peers: string[]; recordsSent: number; recordsDropped: number };
}

const view = (c: abi.Counters): CounterView => ({
  packets: Number(c.packets),
  bytes: Number(c.bytes),
  newFlows: Number(c.newFlows),
  drops: Number(c.drops),
});

/**
 * Everything `lb status` shows, read live from the kernel (links, maps) and the saved state:
 * the one reader (reading.ts), plus what only status needs (each interface's XDP program looked up
 * in its namespace, the chain's slots, each backend's slots, the conntrack count). `lb stats`
 * reads the reader alone (LoadBalancer.reading): no conntrack walk on every tick.
 */
export function status(instance: string): StatusView {
  const state = requireState(instance);
  checkLayout(instance, instancePaths(instance)); // pins of another layout are never misread
  const desired = desiredOf(state);
  const reading = readDataplaneOf(state, { slots: true }, desired);
  const { config } = desired;
  const ns = new NetnsScope(state.netns);
  const interfaces = ns.run(() =>
    reading.interfaces.map((i) => {
      const attached = i.progId !== null && occupant(i.ifindex)?.progId === i.progId;
      return { name: i.name, ifindex: i.ifindex, requestedMode: i.requestedMode, mode: i.mode, progId: i.progId, attached };
    }),
  );
  const services = reading.services.map((svc) => ({
    name: svc.name,
    vip: svc.vip,
    protocol: svc.protocol,
    forward: svc.forward,
    strategy: svc.strategy,
    ...(svc.quic ? { quic: true } : {}),
    id: svc.id,
    serving: svc.problem === undefined,
    ...(svc.problem ? { problem: svc.problem } : {}),
    counters: view(svc.counters),
    backends: svc.backends.map((b) => ({
      key: b.key,
      id: b.id,
      weight: b.weight,
      state: b.state,
      ...(b.quicServerId !== undefined ? { quicServerId: b.quicServerId } : {}),
      slots: b.slots ?? 0,
      counters: view(b.counters),
    })),
  }));
  const counted = countConntrack(instance, flowTimeouts(config.limits));
  const reasons: Record<string, number> = Object.fromEntries(reading.reasons.map((r) => [r.reason, Number(r.packets)]));
  return {
    instance,
    strategy: state.strategy.id,
    strategies: programStrategyIds(state),
    netns: state.netns,
    ...(state.chain ? { chain: { name: state.chain.name, slot: state.chain.slot, slots: chainSlots(state.chain.name) } } : {}),
    deployedAt: state.deployedAt,
    updatedAt: state.updatedAt,
    interfaces,
    devices: state.links ?? [],
    services,
    conntrack: { entries: counted.entries, max: reading.conntrackMax },
    halfOpen: { entries: counted.halfOpen, max: reading.halfOpenMax },
    ...(counted.flowTable ? { flowTable: counted.flowTable } : {}),
    reasons,
    ...(config.cluster
      ? {
          flowSync: {
            listen: config.cluster.listen.text,
            peers: config.cluster.peers.map((p) => p.text),
            recordsSent: reasons['sync_sent'] ?? 0,
            recordsDropped: reasons['sync_dropped'] ?? 0,
          },
        }
      : {}),
  };
}

/**
 * The slot table the data plane reads for a service, as backend keys ("addr:port") slot by slot
 * (null for an id that names no backend of the service). Backend ids are allocated per node, keys
 * are not: two LB nodes of a cluster agree on a flow's backend exactly when these arrays are equal.
 */
export function slotTable(instance: string, service: string): (string | null)[] {
  const state = requireState(instance);
  const { config, allocation } = desiredOf(state);
  const svc = config.services.find((s) => s.name === service);
  if (!svc)
    throw new LbError(
      `instance ${instance} has no service ${service} (services: ${config.services.map((s) => s.name).join(', ')})`,
      'ENOENT',
    );
  const a = allocation.services[serviceIdentity(svc)]!;
  const byId = new Map(svc.backends.map((b) => [a.backends[b.key]!.id, b.key]));
  checkLayout(instance, instancePaths(instance));
  const maps = InstanceMaps.fromPins(instancePaths(instance).maps);
  try {
    return [...(maps.table(a.id) ?? [])].map((id) => byId.get(id) ?? null);
  } finally {
    maps.dispose();
  }
}
