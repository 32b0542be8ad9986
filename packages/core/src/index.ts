// @xdp-lb/core: config, program lifecycle, hot updates and stats; the library behind the CLI.
export * from './config/address.js';
export * from './config/prefix.js';
export * from './config/defaults.js';
export * from './config/errors.js';
export * from './config/load.js';
export * from './config/resolve.js';
export * from './config/schema.js';
export type * from './config/types.js';
export type * from './strategy/strategy.js';
export { StrategyContribution, StrategyRegistry } from './strategy/registry.js';
// One program, several strategies: the assembled unit (bpf/lib/dispatch.h) and its compile cache.
export { assembleProgram, assemblyUnit, MAX_STRATEGIES, strategyCacheDir, type AssembleOptions } from './strategy/assemble.js';
export { ProgramStrategies } from './strategy/program.js';
export { LoadBalancer } from './lifecycle/load-balancer.js';
export { LbError } from './lifecycle/errors.js';
export type { Mutation } from './lifecycle/mutations.js';
export type { DeployOptions, DeployResult } from './lifecycle/deploy.js';
export type { StatusView, CounterView } from './lifecycle/status.js';
export type { DataplaneReading, ServiceReading } from './lifecycle/reading.js';
export type { LinkChange } from './lifecycle/link-prep.js';
export type { UndeployResult } from './lifecycle/undeploy.js';
export type { CheckStatus, DoctorCheck, DoctorOptions, DoctorReport } from './lifecycle/doctor.js';
export type { ChainSlotView, ChainView } from './lifecycle/chains.js';
export type { MemberRequest, SlotProgram } from './dataplane/chain-member.js';
export { coreModule, createLoadBalancer } from './di/module.js';
export * as Abi from './dataplane/abi.js';
/** The flow table's hash, bucket and slot expiry (lb_ft4, bpf/lib/flowtab.h), for tests and tools. */
export * as FlowTab from './dataplane/flowtab.js';
export { checkInstanceName, instancePaths } from './state/paths.js';
export { CRASH_STEPS, type CrashStep } from './lifecycle/crash-point.js';
export {
  InstanceLock,
  lockChain,
  lockInstance,
  lockTimeoutMs,
  runningAgent,
  type LockHolder,
  type LockName,
  type LockOptions,
} from './state/lock.js';
export { primaryAddress } from './dataplane/netns.js';
export { slotCounts, sortBackends, weightedSlotTable } from './strategy/kit.js';
export { AgentParts, realAgentParts } from './agent/parts.js';
export { Agent, type AgentOptions, type AgentStatus, type ApplyAction, type ReloadResult } from './agent/agent.js';
export {
  createLogger,
  silentLogger,
  LOG_FORMATS,
  LOG_LEVELS,
  type Logger,
  type LogFields,
  type LogFormat,
  type LoggerOptions,
  type LogLevel,
} from './agent/logger.js';
export { DEFAULT_METRICS_ADDRESS, parseListenAddress, type ListenAddress } from './agent/server.js';
export { parseMetrics, renderMetrics, type MetricsInput } from './agent/metrics.js';
export { HealthChecker, healthKey, type BackendHealth, type HealthChange } from './agent/health.js';
export { ProcessProber, type Prober, type ProbeRequest, type ProbeResult } from './agent/prober.js';
export {
  Announcer,
  nodeHealth,
  vipPrefixes,
  type AnnounceContext,
  type AnnounceDriver,
  type AnnounceStatus,
  type NodeHealth,
  type NodeHealthInput,
} from './agent/announce.js';
export { BirdDriver, birdCommands, type BirdReply } from './agent/announce-bird.js';
export { CommandDriver } from './agent/announce-command.js';
export { ClusterSync, type ClusterStatus } from './agent/cluster/sync.js';
export { FlowTable, type InsertResult } from './agent/cluster/flows.js';
export * as SyncProtocol from './agent/cluster/protocol.js';
