/**
 * Every default of the configuration, in one place; the schema refers to these values so that the
 * docs, `lb config dump` and the data plane's rodata agree.
 */
export const LB_DEFAULTS = {
  instance: 'default',
  /** Native (driver) XDP: the fast path. Generic must be asked for: it is a fallback, never silent. */
  mode: 'native',
  strategy: 'hash',
  forward: 'nat',
  protocol: 'tcp',
  weight: 1,
  limits: {
    conntrackSize: 1_048_576,
    /**
     * Half-open TCP flows (lb_ct_syn, bpf/lib/halfopen.h): SYNs wait here for their handshake, apart
     * from established flows. Unset: conntrackSize / 8, at least 1024.
     */
    halfOpenSize: undefined as number | undefined,
    /**
     * The flow table (lb_ft4, bpf/lib/flowtab.h): IPv4 flows of dsr/ipip/gue services in buckets of
     * 4 slots, two cache lines per lookup. On by default on x86-64 only: the data plane reads a
     * bucket without a lock and relies on x86-64's ordering of loads (TSO) for a consistent copy.
     */
    flowTable: process.arch === 'x64',
    /** lb_ft4's buckets (a power of two, at least 1024). Unset: 2 slots per conntrack entry. */
    flowTableBuckets: undefined as number | undefined,
    /** A half-open flow's idle timeout (rodata syn_timeout_ns); its NAT port is free after it. */
    synTimeoutSec: 3,
    tcpTimeoutSec: 300,
    tcpClosingTimeoutSec: 10,
    udpTimeoutSec: 30,
    /**
     * NAT: a TCP SNAT port is given to another client only this long after its last packet (rodata
     * snat_reuse_ns): longer than the backends' TIME_WAIT (60 s on Linux), or a new flow's SYN may
     * meet the previous connection on the same tuple. 0: at once (UDP-like).
     */
    snatReuseSec: 65,
    /**
     * SYN-flood guard (rodata ct_new_rate): new flows per second per CPU past which that CPU is in
     * flood mode for the rest of the second (0: never). Katran's default rate.
     */
    newFlowsPerSec: 125_000,
    /** Echo requests to a VIP are answered by the data plane (rodata icmp_echo); off: the host answers. */
    icmpEcho: false,
    /**
     * ICMP fragmentation-needed / packet-too-big messages the data plane sends per second per CPU
     * (rodata icmp_too_big_rate) for packets that do not fit the path to their backend; 0: none.
     */
    icmpTooBigPerSec: 1000,
    /** ipip: outer source addresses come from this /16 (rodata encap_src4) + 16 bits of a flow hash. */
    encapSource4: '172.16.0.0',
    /** ip6ip6: outer source addresses come from this /96 (rodata encap_src6); 100::/64 is RFC 6666's discard prefix. */
    encapSource6: '100::',
    /** gue: the outer UDP destination port (rodata gue_port), the one the backends decapsulate; Katran's. */
    guePort: 6080,
  },
  /** Active health checks (services[].health); only control-plane state, never the data plane's. */
  health: {
    type: 'tcp',
    intervalMs: 2000,
    timeoutMs: 1000,
    rise: 2,
    fall: 3,
    path: '/',
    expectStatus: 200,
  },
  /** Outside Linux's default ephemeral range (32768-60999) so the host's own sockets never collide. */
  snatPorts: { min: 20000, max: 29999 },
  hashSeed: 0,
  /** Route announcement by `lb serve` (announce: ...); docs/operations.md "Announcing the VIPs". */
  announce: {
    require: 'any',
    intervalMs: 1000,
    birdSocket: '/run/bird/bird.ctl',
    birdProtocol: 'xdp_lb_vips',
    commandTimeoutMs: 5000,
  },
} as const;

/** announce.require: the node announces while any service / every service has a healthy backend. */
export const ANNOUNCE_REQUIRE = ['any', 'all'] as const;
export type AnnounceRequire = (typeof ANNOUNCE_REQUIRE)[number];

export const XDP_MODES = ['native', 'generic', 'offload', 'auto'] as const;
export type XdpMode = (typeof XDP_MODES)[number];

/** nat: full NAT; dsr: L2 direct server return; ipip / ip6ip6: DSR in an outer IPv4 / IPv6 header; gue: DSR in outer IP + UDP (bpf/README.md). */
export const FORWARD_MODES = ['nat', 'dsr', 'ipip', 'ip6ip6', 'gue'] as const;
export type ForwardMode = (typeof FORWARD_MODES)[number];
/** One line per forwarding mode, for help texts and docs (the CLI's --forward lists these). */
export const FORWARD_MODE_TEXT: Record<ForwardMode, string> = {
  nat: 'full NAT on one arm (backends unmodified)',
  dsr: "L2 direct server return (VIP on the backends' loopback, same L2 segment)",
  ipip: 'DSR in an outer IPv4 header to IPv4 backends (they decapsulate: bpf/progs/xdp_decap or an ipip device)',
  ip6ip6: 'DSR in an outer IPv6 header to IPv6 backends (they decapsulate)',
  gue: 'DSR in outer IP + UDP (GUE) to IPv4 or IPv6 backends (they decapsulate: bpf/progs/xdp_decap or fou)',
};

export const PROTOCOLS = ['tcp', 'udp'] as const;
export type Protocol = (typeof PROTOCOLS)[number];

export const HEALTH_CHECK_TYPES = ['tcp', 'http'] as const;
export type HealthCheckType = (typeof HEALTH_CHECK_TYPES)[number];

export const BACKEND_STATES = ['active', 'draining'] as const;
export type BackendState = (typeof BACKEND_STATES)[number];

/** Instance names become bpffs and /var/lib directory names. */
export const INSTANCE_NAME = /^[a-z0-9][a-z0-9_-]{0,31}$/;

/** limits.halfOpenSize, or its default: conntrackSize / 8, at least 1024. */
export function halfOpenSize(limits: { conntrackSize: number; halfOpenSize?: number | undefined }): number {
  return limits.halfOpenSize ?? Math.max(1024, Math.floor(limits.conntrackSize / 8));
}

/** The least number of lb_ft4 buckets limits.flowTableBuckets accepts (128 KiB of table). */
export const FLOW_TABLE_MIN_BUCKETS = 1024;
/** The most: 2^25 buckets (4 GiB), room for the default of the largest conntrackSize (2^26). */
export const FLOW_TABLE_MAX_BUCKETS = 1 << 25;

/**
 * limits.flowTableBuckets, or its default: the smallest power of two >= conntrackSize / 2 (4 slots
 * a bucket: 2 slots per conntrack entry, so that a bucket is rarely full), at least 1024.
 */
export function flowTableBuckets(limits: { conntrackSize: number; flowTableBuckets?: number | undefined }): number {
  if (limits.flowTableBuckets !== undefined) return limits.flowTableBuckets;
  let n = FLOW_TABLE_MIN_BUCKETS;
  while (n < limits.conntrackSize / 2) n *= 2;
  return n;
}
