// @xdp-lb/testkit: what the suites that deploy the load balancer into labs share (core's
// integration suite in packages/core/integration, the CLI's in packages/cli/tests). Test-only and
// never published; it sits above core, native and netlab and below every suite, so neither the
// strategies nor the CLI are among its dependencies (see README.md).
export {
  type ComposeLb,
  type E2e,
  type LoadResult,
  FULL_MATRIX,
  LAB_PREFIX,
  backendName,
  eventually,
  flowsByBackend,
  httpLoad,
  linksOfProgram,
  mergeCounts,
  programExists,
  useE2e,
  xdpInterfaces,
} from './e2e.js';
export {
  type AgentEnv,
  type LoadRecord,
  type LoadSummary,
  type LogLine,
  type TestAgent,
  LoadGen,
  linkInfo,
  metric,
  sleep,
  snapshotMaps,
  useAgentEnv,
  waitFor,
} from './agent-env.js';
export { type ProbeResult, type ProbeTarget, VERDICTS, probe } from './probe.js';
// The scale-out lab: LB nodes behind an ECMP router, static routes or BGP (BIRD 2).
export {
  type ScaleoutOptions,
  BIRD,
  VIP,
  backendAddress,
  birdConfig,
  birdSocket,
  clientAddress,
  lbAddress,
  nodeConfig,
  routeVip,
  scaleoutTopology,
  startBird,
  udpFlows,
  vipNextHops,
} from './scaleout.js';
export { dropSlotTable } from './break.js';
