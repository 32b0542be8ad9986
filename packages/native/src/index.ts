/**
 * @xdp-lb/native: libbpf for Node, mechanism only. Objects, maps, programs and links are wrapped
 * 1:1 (libbpf's nouns); everything about load balancing lives above this package.
 *
 * See README.md for the error shape, the dispose rules and the network-namespace rule.
 */
import { binding } from './load.js';
import type * as T from './types.js';

export type {
  AttachXdpOptions,
  BpfSystemError,
  Bytes,
  CreateMapOptions,
  GlobalVariable,
  StructLayout,
  LifecycleErrorCode,
  LinkInfo,
  LinkUpdateOptions,
  LookupBatchResult,
  MapInfo,
  MapValue,
  MapValueInput,
  ObjectState,
  OpenOptions,
  ProbeResult,
  ProgramInfo,
  TestRunOptions,
  TestRunResult,
  WriteBatchResult,
  XdpMode,
  XdpQueryResult,
} from './types.js';
export { xdpMd, XDP_MD_SIZE, type XdpMdFields } from './xdp-md.js';

/** An ELF BPF object: `BpfObject.open(path)`, set variables and map options, `await load()`. */
export const BpfObject: T.BpfObjectStatic = binding.BpfObject;
export type BpfObject = T.BpfObject;

/** A BPF map: from a loaded object, `BpfMap.create()`, `BpfMap.fromPinned()` or `BpfMap.fromId()`. */
export const BpfMap: T.BpfMapStatic = binding.BpfMap;
export type BpfMap = T.BpfMap;

/** A BPF program: from a loaded object, `BpfProgram.fromPinned()` or `BpfProgram.fromId()`. */
export const BpfProgram: T.BpfProgramStatic = binding.BpfProgram;
export type BpfProgram = T.BpfProgram;

/** The reader of a ringbuf map: `RingBuffer.open(map)`, then `consume()` on a timer. */
export const RingBuffer: T.RingBufferStatic = binding.RingBuffer;
export type RingBuffer = T.RingBuffer;

/** A bpf_link: `BpfLink.attachXdp()`, `BpfLink.fromPinned()` or `BpfLink.fromId()`. */
export const BpfLink: T.BpfLinkStatic = binding.BpfLink;
export type BpfLink = T.BpfLink;

/**
 * bpf_xdp_query plus a walk of the kernel's links: what XDP program is on `ifindex`, in which
 * mode, and whether a bpf_link holds it. Namespace-sensitive (sync, fine inside inNetns).
 */
export const xdpQuery: (ifindex: number) => T.XdpQueryResult = binding.xdpQuery;

/**
 * bpf_xdp_attach: the legacy netlink attach (no link object; stays until detached).
 * @param flags extra XDP_FLAGS_* bits, e.g. XdpFlags.UPDATE_IF_NOEXIST.
 */
export const xdpAttachNetlink: (ifindex: number, program: BpfProgram, mode: T.XdpMode, flags?: number) => void = binding.xdpAttachNetlink;

/** bpf_xdp_detach of a netlink attachment in `mode` (a link-held program fails with EBUSY). */
export const xdpDetachNetlink: (ifindex: number, mode: T.XdpMode) => void = binding.xdpDetachNetlink;

/**
 * Runs `fn` synchronously on the calling thread inside the network namespace at `nsPath`
 * (`/run/netns/NAME`), then always returns to the original namespace, also when `fn` throws.
 * setns moves one thread only: do the namespace-sensitive work (ifNameToIndex, BpfLink.attachXdp,
 * xdpQuery, xdpAttachNetlink, live-frames testRun) directly in `fn` with the sync forms; never
 * await inside it (a returned Promise is a TypeError). bpffs pins are not per-namespace.
 */
export const inNetns: <R>(nsPath: string, fn: () => R) => R = binding.inNetns;

/** if_nametoindex in the calling thread's namespace; ENODEV naming the interface if there is none. */
export const ifNameToIndex: (name: string) => number = binding.ifNameToIndex;
/** if_indextoname in the calling thread's namespace. */
export const ifIndexToName: (ifindex: number) => string = binding.ifIndexToName;
/** libbpf_num_possible_cpus: the length of every per-CPU value. */
export const numPossibleCpus: () => number = binding.numPossibleCpus;
/** The libbpf the addon is linked against, "major.minor". */
export const libbpfVersion: () => string = binding.libbpfVersion;
/** uname -r. */
export const kernelRelease: () => string = binding.kernelRelease;
/** What this process may do here: bpf(), XDP, JIT, BTF, and why not. */
export const probe: () => T.ProbeResult = binding.probe;
/**
 * flock(2) on an open file descriptor (fs.openSync), never blocking: true when the lock is taken,
 * false when another open file description holds it. The kernel drops the lock when the
 * descriptor is closed, also when the process dies. 'unlock' always returns true.
 */
export const flock: (fd: number, operation: 'exclusive' | 'shared' | 'unlock') => boolean = binding.flock;

/** BPF_MAP_TYPE_* by name (from the UAPI headers the addon was built with). */
export const MapType: T.MapTypes = binding.constants.MapType;
/** BPF_PROG_TYPE_* by name. */
export const ProgType: T.ProgTypes = binding.constants.ProgType;
/** Element flags of BpfMap.update / updateBatch. */
export const UpdateFlags: T.UpdateFlagsConstants = binding.constants.UpdateFlags;
/** BPF_F_* creation flags of BpfMap.create. */
export const MapFlags: T.MapFlagsConstants = binding.constants.MapFlags;
/** XDP_FLAGS_* (xdpAttachNetlink's extra flags). */
export const XdpFlags: T.XdpFlagsConstants = binding.constants.XdpFlags;
/** XDP verdicts: ABORTED, DROP, PASS, TX, REDIRECT. */
export const XdpAction: T.XdpActions = binding.constants.XdpAction;
/** BPF_F_TEST_* flags of testRun. */
export const TestRunFlags: T.TestRunFlagsConstants = binding.constants.TestRunFlags;

/** BPF_ANY: create or replace. */
export const BPF_ANY: number = UpdateFlags.BPF_ANY;
/** BPF_NOEXIST: create only. */
export const BPF_NOEXIST: number = UpdateFlags.BPF_NOEXIST;
/** BPF_EXIST: replace only. */
export const BPF_EXIST: number = UpdateFlags.BPF_EXIST;
