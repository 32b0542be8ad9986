import { isIPv4, isIPv6 } from 'node:net';
import { z } from 'zod';
import { ClusterInputSchema } from './cluster.js';
import {
  ANNOUNCE_REQUIRE,
  BACKEND_STATES,
  FLOW_TABLE_MAX_BUCKETS,
  FLOW_TABLE_MIN_BUCKETS,
  FORWARD_MODES,
  HEALTH_CHECK_TYPES,
  INSTANCE_NAME,
  LB_DEFAULTS,
  PROTOCOLS,
  XDP_MODES,
} from './defaults.js';

/**
 * Layer 1 of the config: the shape of what a user writes (YAML file or flags), strict so that a
 * misspelt key is an error rather than a silently ignored setting. Layer 2 (resolve.ts) turns
 * text into addresses and checks what spans fields.
 */
/** "198.18.0.11", "198.18.0.11:8080", "198.18.0.11:8080@3", or the object form. */
export const BackendInputSchema = z.union([
  z.string().min(1),
  z
    .object({
      address: z.string().min(1),
      weight: z.number().int().positive().max(65535).optional(),
      state: z.enum(BACKEND_STATES).optional(),
      /** QUIC services: the server id this backend writes into its connection ids (bpf/lib/quic.h). */
      quicServerId: z.number().int().min(1).max(0xffffffff).optional(),
    })
    .strict(),
]);

/**
 * Active health checks of a service's backends, run by `lb serve` from the LB's network namespace:
 * `fall` failed checks in a row take a backend out of rotation (no new flows; established ones
 * stay), `rise` good ones bring it back. `path` and `expectStatus` belong to http checks.
 */
export const HealthCheckInputSchema = z
  .object({
    type: z.enum(HEALTH_CHECK_TYPES).default(LB_DEFAULTS.health.type),
    /** Port to check; default the backend's own port. */
    port: z.number().int().min(1).max(65535).optional(),
    intervalMs: z.number().int().min(100).max(3_600_000).default(LB_DEFAULTS.health.intervalMs),
    timeoutMs: z.number().int().min(10).max(60_000).default(LB_DEFAULTS.health.timeoutMs),
    rise: z.number().int().min(1).max(100).default(LB_DEFAULTS.health.rise),
    fall: z.number().int().min(1).max(100).default(LB_DEFAULTS.health.fall),
    path: z
      .string()
      .regex(/^\/[\x21-\x7e]*$/, 'an absolute path such as /health (no spaces)')
      .optional(),
    expectStatus: z.number().int().min(100).max(599).optional(),
  })
  .strict();

export const ServiceInputSchema = z
  .object({
    name: z
      .string()
      .regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/, 'letters, digits, "_", "." and "-", at most 63')
      .optional(),
    vip: z.string().min(1),
    protocol: z.enum(PROTOCOLS).default(LB_DEFAULTS.protocol),
    forward: z.enum(FORWARD_MODES).default(LB_DEFAULTS.forward),
    /** The service's strategy (a built-in id or a .bpf.c fragment's path); default the instance's `strategy`. */
    strategy: z.string().min(1).optional(),
    /** The service's strategy's options, validated by that strategy's own schema. */
    options: z.record(z.string(), z.unknown()).default({}),
    backends: z.array(BackendInputSchema).min(1, 'a service needs at least one backend'),
    health: HealthCheckInputSchema.optional(),
    /** UDP: route a migrated client's QUIC packets by the server id in their connection id. */
    quic: z.boolean().optional(),
  })
  .strict();

export const InterfaceInputSchema = z.union([
  z.string().min(1),
  z.object({ name: z.string().min(1), mode: z.enum(XDP_MODES).default(LB_DEFAULTS.mode) }).strict(),
]);

export const LimitsSchema = z
  .object({
    conntrackSize: z
      .number()
      .int()
      .min(1024)
      .max(1 << 26)
      .default(LB_DEFAULTS.limits.conntrackSize),
    /** Half-open TCP flows (bpf/lib/halfopen.h); default conntrackSize / 8, at least 1024. */
    halfOpenSize: z
      .number()
      .int()
      .min(1024)
      .max(1 << 26)
      .optional(),
    /**
     * The flow table (bpf/lib/flowtab.h): IPv4 flows of dsr/ipip/gue services in lb_ft4's buckets
     * (NAT, IPv6 and overflow stay in the conntrack table). x86-64 only: the data plane's lock-free
     * bucket reads rely on x86-64's ordering of loads; default on there, off elsewhere.
     */
    flowTable: z
      .boolean()
      .default(LB_DEFAULTS.limits.flowTable)
      .refine((on) => !on || process.arch === 'x64', {
        error: () =>
          `the flow table needs an x86-64 host (its lock-free bucket reads rely on x86-64's ordering of loads); this one is ${process.arch}: set limits.flowTable to false`,
      }),
    /** lb_ft4's buckets of 4 slots: a power of two; default the smallest >= conntrackSize / 2. */
    flowTableBuckets: z
      .number()
      .int()
      .min(FLOW_TABLE_MIN_BUCKETS)
      .max(FLOW_TABLE_MAX_BUCKETS)
      .refine((n) => (n & (n - 1)) === 0, { message: 'a power of two (1024, 2048, 4096, ...): the bucket is the hash & (buckets - 1)' })
      .optional(),
    /** Idle timeout of a half-open TCP flow; its NAT port is free after it. */
    synTimeoutSec: z.number().int().positive().max(120).default(LB_DEFAULTS.limits.synTimeoutSec),
    tcpTimeoutSec: z
      .number()
      .int()
      .positive()
      .max(86_400 * 7)
      .default(LB_DEFAULTS.limits.tcpTimeoutSec),
    tcpClosingTimeoutSec: z.number().int().positive().max(3600).default(LB_DEFAULTS.limits.tcpClosingTimeoutSec),
    udpTimeoutSec: z.number().int().positive().max(86_400).default(LB_DEFAULTS.limits.udpTimeoutSec),
    /** NAT: a closed TCP flow's SNAT port goes to another client only this long after its last packet (> the backends' TIME_WAIT). */
    snatReuseSec: z.number().int().min(0).max(3600).default(LB_DEFAULTS.limits.snatReuseSec),
    /**
     * SYN-flood guard: new flows per second per CPU past which the CPU stops creating conntrack
     * entries for the rest of the second (0: never); see bpf/README.md "Connection tracking under pressure".
     */
    newFlowsPerSec: z.number().int().min(0).max(1_000_000_000).default(LB_DEFAULTS.limits.newFlowsPerSec),
    /** The data plane answers ICMP/ICMPv6 echo requests to VIPs itself (otherwise the host does, if it holds them). */
    icmpEcho: z.boolean().default(LB_DEFAULTS.limits.icmpEcho),
    /** ICMP too-big messages per second per CPU for packets that do not fit the path to their backend (0: none, dropped). */
    icmpTooBigPerSec: z.number().int().min(0).max(1_000_000).default(LB_DEFAULTS.limits.icmpTooBigPerSec),
    /** ipip outer sources: this /16 (the last two octets are ignored) + 16 bits of a flow hash, for RSS on the backends. */
    encapSource4: z
      .string()
      .refine((t) => isIPv4(t), 'an IPv4 address (the /16 prefix of ipip outer sources)')
      .default(LB_DEFAULTS.limits.encapSource4),
    /** ip6ip6 outer sources: this /96 (the last 32 bits are ignored) + 32 bits of a flow hash. */
    encapSource6: z
      .string()
      .refine((t) => isIPv6(t), 'an IPv6 address (the /96 prefix of ip6ip6 outer sources)')
      .default(LB_DEFAULTS.limits.encapSource6),
    /** gue: the outer UDP destination port the backends decapsulate. */
    guePort: z.number().int().min(1).max(65535).default(LB_DEFAULTS.limits.guePort),
  })
  .strict();

export const SnatInputSchema = z
  .object({
    addresses: z.array(z.string().min(1)).min(1, 'NAT needs at least one SNAT address'),
    ports: z
      .string()
      .regex(/^\d+-\d+$/, 'a port range "MIN-MAX", e.g. 20000-29999')
      .default(`${LB_DEFAULTS.snatPorts.min}-${LB_DEFAULTS.snatPorts.max}`),
  })
  .strict();

/**
 * Route announcement by `lb serve` (docs/operations.md, "Announcing the VIPs"): the VIPs are
 * announced (a BIRD protocol enabled, or the `up` command run) while the node is healthy and not
 * draining, and withdrawn otherwise. Exactly one of `bird` and `command`.
 */
export const AnnounceInputSchema = z
  .object({
    /** BIRD 2 through its control socket: `enable`/`disable` of a protocol that holds the VIP routes. */
    bird: z
      .object({
        socket: z.string().regex(/^\//, "an absolute path (BIRD's control socket)").default(LB_DEFAULTS.announce.birdSocket),
        protocol: z
          .string()
          .regex(/^[A-Za-z_][A-Za-z0-9_]{0,63}$/, 'a BIRD protocol name (letters, digits, "_")')
          .default(LB_DEFAULTS.announce.birdProtocol),
      })
      .strict()
      .optional(),
    /** Any other speaker: argv run on each change (env XDP_LB_ANNOUNCE=up|down, XDP_LB_PREFIXES, XDP_LB_REASON). */
    command: z
      .object({
        up: z.array(z.string().min(1)).min(1, 'the command (argv) that announces'),
        down: z.array(z.string().min(1)).min(1, 'the command (argv) that withdraws'),
        timeoutMs: z.number().int().min(100).max(60_000).default(LB_DEFAULTS.announce.commandTimeoutMs),
      })
      .strict()
      .optional(),
    require: z.enum(ANNOUNCE_REQUIRE).default(LB_DEFAULTS.announce.require),
    /** While this file exists the node is drained (withdrawn), like after SIGUSR1. */
    drainFile: z.string().regex(/^\//, 'an absolute path').optional(),
    /** How often the node's health is evaluated and the announcement re-asserted. */
    intervalMs: z.number().int().min(100).max(60_000).default(LB_DEFAULTS.announce.intervalMs),
  })
  .strict()
  .refine((a) => (a.bird ? 1 : 0) + (a.command ? 1 : 0) === 1, { message: 'give exactly one of announce.bird and announce.command' });

/** Run as one slot of an XDP chain with other programs (bpf/README.md, "Chaining"). */
export const ChainInputSchema = z
  .object({
    name: z.string().regex(INSTANCE_NAME, 'lower-case letters, digits, "_" and "-", at most 32').default('default'),
    slot: z.number().int().min(0).max(15),
    /** The slot that gets what xdp-lb passes on (traffic not for it); none: XDP_PASS. */
    next: z.number().int().min(0).max(15).optional(),
  })
  .strict();

export const ConfigInputSchema = z
  .object({
    instance: z.string().regex(INSTANCE_NAME, 'lower-case letters, digits, "_" and "-", at most 32').default(LB_DEFAULTS.instance),
    /** The default strategy of the services (each may name its own): a built-in id, or a path to a strategy fragment (.bpf.c) for a third-party one. */
    strategy: z.string().min(1).default(LB_DEFAULTS.strategy),
    /** Equal on every LB node of a cluster, so that all nodes pick the same backend for a flow. */
    hashSeed: z.number().int().min(0).max(0xffffffff).default(LB_DEFAULTS.hashSeed),
    interfaces: z.array(InterfaceInputSchema).min(1, 'at least one interface'),
    limits: LimitsSchema.default(LimitsSchema.parse({})),
    snat: SnatInputSchema.optional(),
    chain: ChainInputSchema.optional(),
    services: z.array(ServiceInputSchema).min(1, 'at least one service'),
    announce: AnnounceInputSchema.optional(),
    /** Flow sync between the LB nodes of a cluster (config/cluster.ts). */
    cluster: ClusterInputSchema.optional(),
  })
  .strict();

export type ConfigInput = z.input<typeof ConfigInputSchema>;
export type ConfigShape = z.output<typeof ConfigInputSchema>;
export type Limits = z.output<typeof LimitsSchema>;
export type HealthCheckInput = z.input<typeof HealthCheckInputSchema>;
export type AnnounceInput = z.input<typeof AnnounceInputSchema>;
export type AnnounceConfig = z.output<typeof AnnounceInputSchema>;
