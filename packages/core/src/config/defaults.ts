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
    tcpTimeoutSec: 300,
    tcpClosingTimeoutSec: 10,
    udpTimeoutSec: 30,
  },
  /** Outside Linux's default ephemeral range (32768-60999) so the host's own sockets never collide. */
  snatPorts: { min: 20000, max: 29999 },
  hashSeed: 0,
} as const;

export const XDP_MODES = ['native', 'generic', 'offload', 'auto'] as const;
export type XdpMode = (typeof XDP_MODES)[number];

export const FORWARD_MODES = ['nat', 'dsr'] as const;
export type ForwardMode = (typeof FORWARD_MODES)[number];

export const PROTOCOLS = ['tcp', 'udp'] as const;
export type Protocol = (typeof PROTOCOLS)[number];

export const BACKEND_STATES = ['active', 'draining'] as const;
export type BackendState = (typeof BACKEND_STATES)[number];

/** Instance names become bpffs and /var/lib directory names. */
export const INSTANCE_NAME = /^[a-z0-9][a-z0-9_-]{0,31}$/;
