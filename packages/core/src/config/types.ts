import type { IpAddress } from './address.js';
import type { BackendState, ForwardMode, HealthCheckType, Protocol, XdpMode } from './defaults.js';
import type { ClusterConfig } from './cluster.js';
import type { AnnounceConfig, Limits } from './schema.js';

/** A config after resolution and cross-field checks: what the lifecycle applies. */
export interface LbConfig {
  readonly instance: string;
  /** The default strategy of the services; each service's own is ServiceConfig.strategy. */
  readonly strategy: string;
  readonly hashSeed: number;
  readonly interfaces: readonly InterfaceConfig[];
  readonly limits: Limits;
  readonly snat: SnatConfig | undefined;
  readonly chain: ChainConfig | undefined;
  readonly services: readonly ServiceConfig[];
  /** Route announcement by `lb serve`; undefined: none (only the agent reads it). */
  readonly announce?: AnnounceConfig;
  /** Flow sync with the other LB nodes (`lb serve`); undefined: off (the data plane emits nothing). */
  readonly cluster?: ClusterConfig;
}

export interface InterfaceConfig {
  readonly name: string;
  readonly mode: XdpMode;
}

export interface SnatConfig {
  readonly addresses: readonly IpAddress[];
  readonly portMin: number;
  readonly portMax: number;
}

export interface ServiceConfig {
  /** Unique; defaults to "<vip>:<port>/<protocol>". */
  readonly name: string;
  /** The VIP, or the network address of a prefix VIP. */
  readonly vip: IpAddress;
  /** A prefix VIP's length (config/prefix.ts); undefined: the one address `vip`. */
  readonly prefix?: number;
  readonly port: number;
  readonly protocol: Protocol;
  readonly forward: ForwardMode;
  /** The service's strategy (its own, else the instance's default): picks a backend for each new flow. */
  readonly strategy: string;
  /** Strategy options after the strategy's schema filled the defaults. */
  readonly options: Readonly<Record<string, unknown>>;
  readonly backends: readonly BackendConfig[];
  /** Active health checks (run by `lb serve`); undefined: none, every backend counts as up. */
  readonly health?: HealthCheckConfig;
  /** UDP: QUIC connection-id routing (bpf/lib/quic.h); undefined: off. */
  readonly quic?: true;
}

/** A service's health checks with every default filled. */
export interface HealthCheckConfig {
  readonly type: HealthCheckType;
  /** Undefined: each backend's own port. */
  readonly port?: number;
  readonly intervalMs: number;
  readonly timeoutMs: number;
  readonly rise: number;
  readonly fall: number;
  /** http only. */
  readonly path: string;
  /** http only. */
  readonly expectStatus: number;
}

export interface BackendConfig {
  readonly address: IpAddress;
  readonly port: number;
  readonly weight: number;
  readonly state: BackendState;
  /** "addr:port": the backend's identity within its service. */
  readonly key: string;
  /** QUIC services: the server id in this backend's connection ids; undefined: none. */
  readonly quicServerId?: number;
}

export interface ChainConfig {
  readonly name: string;
  readonly slot: number;
  readonly next: number | undefined;
}
