import * as abi from '../dataplane/abi.js';
import type { LinkChange } from './link-prep.js';
import { InstanceMaps } from '../dataplane/maps.js';
import { chainSlots } from '../dataplane/chain.js';
import { NetnsScope } from '../dataplane/netns.js';
import { MODE_NAME, occupant, pinnedLinkProgram } from '../dataplane/xdp.js';
import { formatEndpoint } from '../config/address.js';
import { serviceIdentity } from '../state/allocation.js';
import { instancePaths } from '../state/paths.js';
import { programStrategyIds } from '../state/store.js';
import { desiredOf } from './desired.js';
import { LbError } from './errors.js';
import { checkLayout } from './layout.js';
import { requireState } from './update.js';
import { servingProblem } from './serving.js';

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
    /** The service's strategy (its own or the instance's default). */
    strategy: string;
    id: number;
    /** Whether a new flow can reach a backend now (serving.ts); `problem` says why not. */
    serving: boolean;
    problem?: string;
    counters: CounterView;
    backends: { key: string; id: number; weight: number; state: string; slots: number; counters: CounterView }[];
  }[];
  conntrack: { entries: number; max: number };
  /** Half-open TCP flows (lb_ct_syn, bpf/lib/halfopen.h). */
  halfOpen: { entries: number; max: number };
  reasons: Record<string, number>;
}

const view = (c: abi.Counters): CounterView => ({ packets: Number(c.packets), bytes: Number(c.bytes), newFlows: Number(c.newFlows), drops: Number(c.drops) });

/** Everything `lb status` shows, read live from the kernel (links, maps) and the saved state. */
export function status(instance: string): StatusView {
  const state = requireState(instance);
  checkLayout(instance, instancePaths(instance)); // pins of another layout are never misread
  const { config, allocation } = desiredOf(state);
  const ns = new NetnsScope(state.netns);
  const interfaces = ns.run(() =>
    state.interfaces.map((i) => {
      const progId = pinnedLinkProgram(i.linkPin);
      const attached = progId !== null && occupant(i.ifindex)?.progId === progId;
      return { name: i.name, ifindex: i.ifindex, requestedMode: i.requestedMode, mode: MODE_NAME[i.mode], progId, attached };
    }),
  );
  const maps = InstanceMaps.fromPins(instancePaths(instance).maps);
  try {
    const services = config.services.map((svc) => {
      const a = allocation.services[serviceIdentity(svc)]!;
      const table = maps.table(a.id) ?? new Uint32Array();
      const slots = new Map<number, number>();
      for (const id of table) slots.set(id, (slots.get(id) ?? 0) + 1);
      const problem = servingProblem(maps, svc, a);
      return {
        name: svc.name,
        vip: formatEndpoint(svc.vip, svc.port), // port 0 (every port): "198.18.0.10:*"
        protocol: svc.protocol,
        forward: svc.forward,
        strategy: svc.strategy,
        id: a.id,
        serving: problem === undefined,
        ...(problem ? { problem } : {}),
        counters: view(maps.serviceCounters(a.id)),
        backends: svc.backends.map((b) => {
          const id = a.backends[b.key]!.id;
          return { key: b.key, id, weight: b.weight, state: b.state, slots: slots.get(id) ?? 0, counters: view(maps.backendCounters(id)) };
        }),
      };
    });
    const reasons = Object.fromEntries(Object.entries(maps.reasons()).map(([k, v]) => [k, Number(v)]));
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
      conntrack: { entries: maps.conntrackCount(), max: maps.map(abi.MAPS.ct).maxEntries },
      halfOpen: { entries: maps.conntrackCount(Infinity, abi.MAPS.ctSyn), max: maps.map(abi.MAPS.ctSyn).maxEntries },
      reasons,
    };
  } finally {
    maps.dispose();
  }
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
  if (!svc) throw new LbError(`instance ${instance} has no service ${service} (services: ${config.services.map((s) => s.name).join(', ')})`, 'ENOENT');
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
