// @xdp-lb/netlab: network-namespace labs for end-to-end tests, demos and benchmarks, and a packet
// builder/parser/verifier for BPF_PROG_TEST_RUN fixtures. The vitest helpers live in the separate
// entry `@xdp-lb/netlab/vitest`, so that importing this one never loads vitest.

// Namespaces and processes
export { Netns, type NetnsLike, type CreateNetnsOptions, deleteNetnsSync } from './netns/netns.js';
export { exec, execSync, ExecError, type ExecOptions, type ExecResult, formatArgv } from './netns/exec.js';
export { LabProcess, type SpawnOptions, type ExitInfo, type WaitOptions } from './netns/process.js';
export { destroyAllSync } from './netns/cleanup.js';
export { DEFAULT_PREFIX, newRunId, parseNetnsName, listNetns, netnsExists } from './netns/names.js';
export { pidsInNetns } from './netns/procfs.js';
export { BPFFS_ROOT } from './netns/pins.js';

// Labs
export { Lab } from './lab/lab.js';
export { LabHost, type LabInterface } from './lab/host.js';
export type { BridgeSpec, HostSpec, InterfaceSpec, LabOptions, LabSpec, RouteSpec } from './lab/spec.js';
export { tutorialTopology, tutorialAddresses, type TutorialOptions, type TutorialAddresses } from './lab/tutorial.js';
export { scaleoutTopology, scaleoutAddresses, type ScaleoutOptions } from './lab/scaleout.js';
export { gcStale, type GcReport } from './lab/gc.js';
export { type LabManifest, STATE_DIR } from './lab/manifest.js';
export { labSupport, labToolsSupport, type Support } from './lab/support.js';
export { xdpPassObjectPath } from './lab/assets.js';
export { deriveMac, parseCidr, type Cidr } from './lab/addressing.js';

// Servers and clients inside a lab
export {
  startHttpServer,
  startUdpEcho,
  type HttpServerOptions,
  type UdpEchoOptions,
  DEFAULT_HTTP_PORT,
  DEFAULT_UDP_ECHO_PORT,
} from './apps/servers.js';
export {
  httpGet,
  httpUrl,
  HttpRequestError,
  type HttpGetOptions,
  type HttpResponse,
  openKeepAlive,
  KeepAliveClient,
  type KeepAliveOptions,
  type KeepAliveEvent,
  type KeepAliveResponse,
  type KeepAliveSummary,
  udpRequest,
  udpRequests,
  type UdpRequestOptions,
  type UdpReply,
  ping,
  type PingOptions,
} from './apps/clients.js';
export { synFlood, type SynFloodOptions } from './apps/synflood.js';
export { startCapture, Capture, type CaptureOptions, type CapturedFrame, sendFrames, type SendFramesOptions } from './apps/capture.js';

// Packets
export * from './packet/index.js';
