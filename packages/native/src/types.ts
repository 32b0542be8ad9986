/**
 * The shape of the native binding (addon/*.cc), written by hand: one interface per wrapped C handle,
 * its static factories, the free functions and the constants. `load.ts` casts the loaded `.node`
 * to {@link NativeBinding}; `index.ts` re-exports the parts as the package's API.
 *
 * Conventions of every handle:
 * - `dispose()` is explicit and idempotent; afterwards every call throws an Error with code
 *   `ERR_LB_DISPOSED`. Garbage collection disposes a forgotten handle as a fallback.
 * - Failures of the kernel or libbpf throw a {@link BpfSystemError}; bad arguments throw a
 *   TypeError or RangeError before anything reaches the kernel.
 */

/** Bytes crossing the boundary: a Buffer or any Uint8Array. */
export type Bytes = Uint8Array;

/**
 * A Node-style system error (the shape of `fs` errors): `code` is the errno name (`'EPERM'`),
 * `errno` its negative number, `syscall` the libbpf or libc function that failed. The message names
 * the object and adds a hint when one is obvious: `load lb_hash.bpf.o: Operation not permitted
 * (needs CAP_BPF and CAP_NET_ADMIN)`.
 */
export interface BpfSystemError extends Error {
  code: string;
  errno: number;
  syscall: string;
  /** The file involved (object path, pin path, namespace path), if any. */
  path?: string;
  /** BpfObject.load(): the verifier's log of the rejected program (its tail is in the message). */
  verifierLog?: string;
  /** What libbpf printed during the failed call. */
  libbpfLog?: string;
  /** Batch operations: how many elements were processed before the failure. */
  count?: number;
}

/** Codes of errors about a handle's life cycle rather than the kernel. */
export type LifecycleErrorCode =
  'ERR_LB_DISPOSED' | 'ERR_LB_NOT_LOADED' | 'ERR_LB_ALREADY_LOADED' | 'ERR_LB_LOAD_FAILED' | 'ERR_LB_NOT_FOUND' | 'ERR_LB_INCOMPATIBLE';

// ---- BpfObject ----

export interface OpenOptions {
  /** Display name in errors and libbpf's object name (prefix of `.rodata`-style map names). Default: the file's basename. */
  name?: string;
  /** Directory for maps declared with `__uint(pinning, LIBBPF_PIN_BY_NAME)`. Default: /sys/fs/bpf. */
  pinRoot?: string;
}

export type ObjectState = 'opened' | 'loading' | 'loaded' | 'load-failed' | 'disposed';

/** A global variable of the object, from its BTF. */
export interface GlobalVariable {
  name: string;
  /** `.rodata`, `.data`, `.bss` or a named subsection such as `.rodata.config`. */
  section: string;
  /** Byte offset inside the section. */
  offset: number;
  size: number;
}

/** A struct as the compiler laid it out, from the object's BTF (BpfObject.structLayout). */
export interface StructLayout {
  name: string;
  size: number;
  /** In declaration order; offsets in bytes. `bitSize` is non-zero for a bitfield member. */
  members: { name: string; offset: number; size: number; bitSize: number }[];
}

/** One ELF BPF object (struct bpf_object): open, configure, load, then use its programs and maps. */
export interface BpfObject {
  /** The display name: the file's basename unless `OpenOptions.name` was given. */
  readonly name: string;
  /** The path it was opened from, or null when opened from a buffer. */
  readonly path: string | null;
  readonly state: ObjectState;
  readonly disposed: boolean;
  /** Global variables in the object's data sections (non-static ones), from BTF. */
  variables(): GlobalVariable[];
  /** `struct <name>`'s layout from the object's BTF; null when the BTF has no such struct. */
  structLayout(name: string): StructLayout | null;
  /**
   * Writes a global variable. Before load: any section (this is how rodata config is set). After
   * load: `.data`/`.bss` only, live in the running program; `.rodata` is frozen (ERR_LB_ALREADY_LOADED).
   * @throws RangeError unless `value` has exactly the variable's size; ERR_LB_NOT_FOUND for an unknown name.
   */
  setVariable(name: string, value: Bytes): void;
  /** Reads a global variable: the initial value before load, the live value after. */
  getVariable(name: string): Buffer;
  /**
   * Loads every program and creates (or reuses pinned) maps. Runs the verifier on a worker thread.
   * A verifier rejection rejects with code EACCES (or EINVAL), the verifier's last lines in the
   * message and the whole log in `err.verifierLog`. A failed object cannot be loaded again.
   */
  load(): Promise<void>;
  programs(): BpfProgram[];
  /** @throws ERR_LB_NOT_FOUND listing the object's programs. */
  program(name: string): BpfProgram;
  /** Includes internal maps (`<obj>.rodata`, ...). */
  maps(): BpfMap[];
  /** By map name; internal maps also by section name (`'.bss'`). @throws ERR_LB_NOT_FOUND listing the maps. */
  map(name: string): BpfMap;
  /** bpf_object__pin_maps: pins every map as `<dir>/<map name>`. */
  pinMaps(dir: string): void;
  /** bpf_object__unpin_maps. */
  unpinMaps(dir: string): void;
  /** Closes the object: its programs and maps (and their handles) go away unless pinned or attached. */
  dispose(): void;
}

export interface BpfObjectStatic {
  /** Not constructible from JS (throws TypeError): use the static factories. Present so `instanceof` narrows. */
  new (internal: never): BpfObject;
  readonly prototype: BpfObject;
  /** bpf_object__open_file / bpf_object__open_mem. Parses the ELF; nothing reaches the kernel yet. */
  open(pathOrBuffer: string | Bytes, options?: OpenOptions): BpfObject;
}

// ---- BpfMap ----

/** A map value as read: a Buffer, or for per-CPU maps one Buffer per possible CPU. */
export type MapValue = Buffer | Buffer[];

/**
 * A map value as written: a Buffer of valueSize; for per-CPU maps also an array with one Buffer
 * per possible CPU (a single Buffer is copied to every CPU); for map-in-map types a BpfMap (its fd
 * is written); for program arrays a BpfProgram.
 */
export type MapValueInput = Bytes | Bytes[] | BpfMap | BpfProgram;

export interface MapInfo {
  name: string;
  type: number;
  keySize: number;
  /** Per CPU, for per-CPU maps. */
  valueSize: number;
  maxEntries: number;
  flags: number;
  /** null until the owning object is loaded. */
  id: number | null;
  fd: number | null;
}

export interface LookupBatchResult {
  keys: Buffer[];
  values: MapValue[];
  /** false when the kernel has no batch command for this map type and elements were read one by one. */
  batched: boolean;
}

export interface WriteBatchResult {
  count: number;
  /** false when the kernel has no batch command for this map type and elements were written one by one. */
  batched: boolean;
}

/** A BPF map: one inside a BpfObject, or a standalone map (created, from a pin, by id). */
export interface BpfMap {
  readonly name: string;
  /** A {@link MapTypes} value. */
  readonly type: number;
  readonly keySize: number;
  readonly valueSize: number;
  readonly maxEntries: number;
  readonly flags: number;
  /** Kernel id. @throws ERR_LB_NOT_LOADED before the owning object is loaded. */
  readonly id: number;
  /** @throws ERR_LB_NOT_LOADED before the owning object is loaded. */
  readonly fd: number;
  /** Where this map is pinned, if known (setPinPath, pin, fromPinned). */
  readonly pinPath: string | null;
  readonly disposed: boolean;
  info(): MapInfo;

  /** Before load only (maps of a BpfObject). */
  setMaxEntries(maxEntries: number): void;
  /**
   * Before load only. At load libbpf reuses a compatible map already pinned at `path` (same type,
   * sizes, max_entries and flags; otherwise load fails) or pins the new map there.
   */
  setPinPath(path: string): void;
  /** Before load only: use an existing map (fd or BpfMap) instead of creating one. libbpf dups the fd. */
  reuseFd(fdOrMap: number | BpfMap): void;
  /** Before load only: reuse the map pinned at `path`; ERR_LB_INCOMPATIBLE if its type, sizes or flags differ. */
  reusePinned(path: string): void;

  /** The value under `key`, or null if there is none. Keys of maps with keySize 0 (queue, stack) are null. */
  lookup(key: Bytes | null): MapValue | null;
  /** @param flags BPF_ANY (default), BPF_NOEXIST or BPF_EXIST ({@link UpdateFlags}). */
  update(key: Bytes | null, value: MapValueInput, flags?: number): void;
  /** true if an element was deleted, false if there was none. */
  delete(key: Bytes): boolean;
  /** Atomic lookup + delete (hash maps on recent kernels; queue/stack pop). null if there was none. */
  lookupAndDelete(key: Bytes | null): MapValue | null;
  /** bpf_map_get_next_key: the key after `key` (the first key for null), or null at the end. */
  nextKey(key: Bytes | null): Buffer | null;
  /**
   * Iterates the keys with bpf_map_get_next_key. Deleting the current key while iterating makes
   * the kernel restart from the first key: collect keys first if you delete.
   */
  keys(): IterableIterator<Buffer>;
  /** Every entry, with BPF_MAP_LOOKUP_BATCH on a worker thread (element by element where unsupported). */
  lookupBatch(): Promise<LookupBatchResult>;
  /** BPF_MAP_UPDATE_BATCH on a worker thread. On failure `err.count` says how many were written. */
  updateBatch(keys: Bytes[], values: MapValueInput[], flags?: number): Promise<WriteBatchResult>;
  /** BPF_MAP_DELETE_BATCH on a worker thread; a missing key fails with ENOENT and `err.count`. */
  deleteBatch(keys: Bytes[]): Promise<WriteBatchResult>;

  /** Pins the map at `path` on bpffs. */
  pin(path: string): void;
  /** Removes a pin: `path`, or the one this handle knows. */
  unpin(path?: string): void;
  /** Closes a standalone map's fd; for a map of a BpfObject only drops this handle. */
  dispose(): void;
}

export interface CreateMapOptions {
  /** A {@link MapTypes} value. */
  type: number;
  keySize: number;
  valueSize: number;
  maxEntries: number;
  /** {@link MapFlagsConstants} bits. */
  flags?: number;
  /** At most 15 characters. */
  name?: string;
  /** Template for map-in-map types: the inner maps' shape. */
  innerMap?: BpfMap;
  /** Same as innerMap, as a raw fd. */
  innerMapFd?: number;
}

export interface BpfMapStatic {
  /** Not constructible from JS (throws TypeError): use the static factories. Present so `instanceof` narrows. */
  new (internal: never): BpfMap;
  readonly prototype: BpfMap;
  /**
   * bpf_map_create. Inner maps of an ARRAY_OF_MAPS / HASH_OF_MAPS are created this way and written
   * into the outer map as its value (`outer.update(key, inner)`), which swaps a whole table at once.
   */
  create(options: CreateMapOptions): BpfMap;
  /** bpf_obj_get of a pinned map. */
  fromPinned(path: string): BpfMap;
  /** bpf_map_get_fd_by_id (needs CAP_SYS_ADMIN). */
  fromId(id: number): BpfMap;
}

// ---- BpfProgram ----

export interface ProgramInfo {
  name: string;
  /** A {@link ProgTypes} value. */
  type: number;
  id: number;
  /** The 8-byte program tag as hex, as bpftool prints it. */
  tag: string;
  fd: number;
}

export interface TestRunOptions {
  /** The packet (for XDP at least 14 bytes). */
  data: Bytes;
  /**
   * Runs of the program; durationNs is the average. Default 1. The kernel does not reset the packet
   * between runs: each run sees the previous run's output, and `data` is the last one.
   */
  repeat?: number;
  /** The context, e.g. a struct xdp_md built with {@link xdpMd}. */
  ctx?: Bytes;
  /** Room for the output packet. Default: data length + 4096. */
  dataSizeOut?: number;
  /** {@link TestRunFlagsConstants} bits, e.g. XDP_LIVE_FRAMES. */
  flags?: number;
  /** Live-frames mode: frames per batch (kernel default 64, at most 256). */
  batchSize?: number;
  /** Run on this CPU (sets BPF_F_TEST_RUN_ON_CPU). */
  cpu?: number;
}

export interface TestRunResult {
  /** The program's return value (an XDP verdict for XDP programs). */
  retval: number;
  /** The packet after the program; null in live-frames mode (frames are sent, not returned). */
  data: Buffer | null;
  /** Average nanoseconds per run, as the kernel measured it. */
  durationNs: number;
  /** The context after the run, when ctx was given (not in live-frames mode). */
  ctx?: Buffer;
}

/** A BPF program: one inside a BpfObject, or a standalone program fd (from a pin, by id). */
export interface BpfProgram {
  readonly name: string;
  /** A {@link ProgTypes} value. */
  readonly type: number;
  /** ELF section (`'xdp'`) for programs of an object; null for standalone ones. */
  readonly section: string | null;
  /** @throws ERR_LB_NOT_LOADED before the owning object is loaded. */
  readonly fd: number;
  readonly id: number;
  readonly tag: string;
  readonly disposed: boolean;
  info(): ProgramInfo;
  /**
   * BPF_PROG_TEST_RUN, synchronously on the calling thread: one fast syscall, no thread hop (for
   * benchmarks), and the right network namespace inside inNetns() — live frames resolve
   * `ctx.ingress_ifindex` in the calling thread's namespace.
   */
  testRun(options: TestRunOptions): TestRunResult;
  /** testRun on a worker thread, for long runs. Worker threads stay in the process's own namespace. */
  testRunAsync(options: TestRunOptions): Promise<TestRunResult>;
  /**
   * bpf_program__set_attach_target, before the owning object is loaded: the function an extension
   * (`SEC("freplace")`) or tracing program attaches to — a global function of the loaded program
   * `target`, or a kernel function when `target` is null. The kernel checks the pairing at load.
   * @throws ERR_LB_ALREADY_LOADED once the object is loaded; TypeError for a standalone program.
   */
  setAttachTarget(target: BpfProgram | null, functionName: string): void;
  pin(path: string): void;
  /** Removes a pin: `path`, or the one this handle knows. */
  unpin(path?: string): void;
  /** Closes a standalone program's fd; for a program of a BpfObject only drops this handle. */
  dispose(): void;
}

export interface BpfProgramStatic {
  /** Not constructible from JS (throws TypeError): use the static factories. Present so `instanceof` narrows. */
  new (internal: never): BpfProgram;
  readonly prototype: BpfProgram;
  fromPinned(path: string): BpfProgram;
  /** bpf_prog_get_fd_by_id (needs CAP_SYS_ADMIN). */
  fromId(id: number): BpfProgram;
}

// ---- BpfLink and XDP ----

/** XDP attach modes, libbpf's words: generic (skb), native (drv), offload (hw). */
export type XdpMode = 'skb' | 'drv' | 'hw';

export interface LinkInfo {
  id: number;
  /** BPF_LINK_TYPE_* (6 is XDP). */
  type: number;
  progId: number;
  /** For XDP links; 0 once detached. */
  ifindex: number | null;
}

export interface LinkUpdateOptions {
  /** Compare-and-swap: replace only if the link still runs this program (else EPERM). */
  expectedProgram?: BpfProgram;
}

/**
 * A bpf_link. An XDP link stays attached while its fd or a pin exists: dispose() of an unpinned
 * link detaches the program, a pinned link survives the process.
 */
export interface BpfLink {
  readonly fd: number;
  readonly pinPath: string | null;
  readonly disposed: boolean;
  info(): LinkInfo;
  /** bpf_link_update: atomically replaces the program; no packet sees no program. */
  update(program: BpfProgram, options?: LinkUpdateOptions): void;
  /** bpf_link_detach: detaches now; the link object (and pins) stay, defunct. */
  detach(): void;
  pin(path: string): void;
  /** Removes a pin: `path`, or the one this handle knows. */
  unpin(path?: string): void;
  /** Closes the fd (detaching the program unless the link is pinned). */
  dispose(): void;
}

/**
 * The reader of a BPF_MAP_TYPE_RINGBUF map (libbpf's ring_buffer over the map's mmapped pages).
 * It holds its own dup of the map's fd, so it outlives the BpfMap it was opened from.
 */
export interface RingBuffer {
  readonly disposed: boolean;
  /** The records in the ring now, oldest first, each a copy (at most `max`; the rest stay). Never blocks. */
  consume(max?: number): Buffer[];
  /** Unmaps the ring and closes its fd. */
  dispose(): void;
}

export interface RingBufferStatic {
  /** Not constructible from JS (throws TypeError): use RingBuffer.open(map). */
  new (internal: never): RingBuffer;
  readonly prototype: RingBuffer;
  /** Opens the ring of `map` (a ringbuf map: of a loaded object, pinned, or by id). */
  open(map: BpfMap): RingBuffer;
}

export interface AttachXdpOptions {
  mode: XdpMode;
}

export interface BpfLinkStatic {
  /** Not constructible from JS (throws TypeError): use the static factories. Present so `instanceof` narrows. */
  new (internal: never): BpfLink;
  readonly prototype: BpfLink;
  /**
   * bpf_link_create(BPF_XDP) in the given mode. Namespace-sensitive: inside inNetns() call it
   * directly in the callback. 'hw' on an interface without offload fails with "offload (hw) XDP
   * is not supported by this interface".
   */
  attachXdp(program: BpfProgram, ifindex: number, options: AttachXdpOptions): BpfLink;
  /**
   * bpf_link_create(BPF_TRACE_FREPLACE): attaches an extension program to the function it was
   * loaded for (setAttachTarget); from then on calls of that function run the extension instead.
   * Kernels that refuse extension programs (lockdown, no trampolines) already refuse the load.
   */
  attachExtension(program: BpfProgram): BpfLink;
  fromPinned(path: string): BpfLink;
  /** bpf_link_get_fd_by_id (needs CAP_SYS_ADMIN). */
  fromId(id: number): BpfLink;
}

export interface XdpQueryResult {
  /** What is attached: one mode, several ('multi') or nothing. */
  mode: 'none' | 'skb' | 'drv' | 'hw' | 'multi';
  /** The program id when exactly one program is attached. */
  progId: number;
  skbProgId: number;
  drvProgId: number;
  hwProgId: number;
  /**
   * 'link' when a bpf_link holds the program (found by walking the kernel's links), else
   * 'netlink'. Walking the links needs CAP_SYS_ADMIN: without it, xdpQuery of an interface that
   * has a program throws EPERM rather than guess.
   */
  attachment: 'link' | 'netlink' | null;
  linkId?: number;
}

// ---- Probe ----

export interface ProbeResult {
  /** The bpf() syscall works for this process (it could create a map). */
  bpf: boolean;
  /** The kernel loads XDP programs (libbpf_probe_bpf_prog_type). */
  xdp: boolean;
  /**
   * BPF_PROG_RUN accepts BPF_F_TEST_XDP_LIVE_FRAMES (tried with an XDP_DROP program on the calling
   * thread's loopback). Some kernels refuse it where everything else works.
   */
  liveFrames: boolean;
  /** The errno code (e.g. 'EPERM') when the kernel refused live frames. */
  liveFramesErrno?: string;
  /** net.core.bpf_jit_enable, when readable. */
  jit?: boolean;
  /** Kernel BTF at /sys/kernel/btf/vmlinux. */
  btf: boolean;
  /** Why something above is false. */
  reasons: string[];
}

// ---- Constants ----

export interface MapTypes {
  readonly UNSPEC: number;
  readonly HASH: number;
  readonly ARRAY: number;
  readonly PROG_ARRAY: number;
  readonly PERF_EVENT_ARRAY: number;
  readonly PERCPU_HASH: number;
  readonly PERCPU_ARRAY: number;
  readonly STACK_TRACE: number;
  readonly CGROUP_ARRAY: number;
  readonly LRU_HASH: number;
  readonly LRU_PERCPU_HASH: number;
  readonly LPM_TRIE: number;
  readonly ARRAY_OF_MAPS: number;
  readonly HASH_OF_MAPS: number;
  readonly DEVMAP: number;
  readonly SOCKMAP: number;
  readonly CPUMAP: number;
  readonly XSKMAP: number;
  readonly SOCKHASH: number;
  readonly CGROUP_STORAGE: number;
  readonly REUSEPORT_SOCKARRAY: number;
  readonly PERCPU_CGROUP_STORAGE: number;
  readonly QUEUE: number;
  readonly STACK: number;
  readonly SK_STORAGE: number;
  readonly DEVMAP_HASH: number;
  readonly STRUCT_OPS: number;
  readonly RINGBUF: number;
  readonly INODE_STORAGE: number;
  readonly TASK_STORAGE: number;
  readonly BLOOM_FILTER: number;
  readonly USER_RINGBUF: number;
}

export interface ProgTypes {
  readonly UNSPEC: number;
  readonly SOCKET_FILTER: number;
  readonly KPROBE: number;
  readonly SCHED_CLS: number;
  readonly SCHED_ACT: number;
  readonly TRACEPOINT: number;
  readonly XDP: number;
  readonly PERF_EVENT: number;
  readonly CGROUP_SKB: number;
  readonly CGROUP_SOCK: number;
  readonly LWT_IN: number;
  readonly LWT_OUT: number;
  readonly LWT_XMIT: number;
  readonly SOCK_OPS: number;
  readonly SK_SKB: number;
  readonly CGROUP_DEVICE: number;
  readonly SK_MSG: number;
  readonly RAW_TRACEPOINT: number;
  readonly CGROUP_SOCK_ADDR: number;
  readonly LWT_SEG6LOCAL: number;
  readonly LIRC_MODE2: number;
  readonly SK_REUSEPORT: number;
  readonly FLOW_DISSECTOR: number;
  readonly CGROUP_SYSCTL: number;
  readonly RAW_TRACEPOINT_WRITABLE: number;
  readonly CGROUP_SOCKOPT: number;
  readonly TRACING: number;
  readonly STRUCT_OPS: number;
  readonly EXT: number;
  readonly LSM: number;
  readonly SK_LOOKUP: number;
  readonly SYSCALL: number;
}

export interface UpdateFlagsConstants {
  readonly BPF_ANY: number;
  readonly BPF_NOEXIST: number;
  readonly BPF_EXIST: number;
  readonly BPF_F_LOCK: number;
}

export interface MapFlagsConstants {
  readonly NO_PREALLOC: number;
  readonly NO_COMMON_LRU: number;
  readonly NUMA_NODE: number;
  readonly RDONLY: number;
  readonly WRONLY: number;
  readonly STACK_BUILD_ID: number;
  readonly ZERO_SEED: number;
  readonly RDONLY_PROG: number;
  readonly WRONLY_PROG: number;
  readonly CLONE: number;
  readonly MMAPABLE: number;
  readonly PRESERVE_ELEMS: number;
  readonly INNER_MAP: number;
}

export interface XdpFlagsConstants {
  readonly UPDATE_IF_NOEXIST: number;
  readonly SKB_MODE: number;
  readonly DRV_MODE: number;
  readonly HW_MODE: number;
  readonly REPLACE: number;
}

export interface XdpActions {
  readonly ABORTED: number;
  readonly DROP: number;
  readonly PASS: number;
  readonly TX: number;
  readonly REDIRECT: number;
}

export interface TestRunFlagsConstants {
  readonly RUN_ON_CPU: number;
  readonly XDP_LIVE_FRAMES: number;
}

export interface NativeConstants {
  readonly MapType: MapTypes;
  readonly ProgType: ProgTypes;
  readonly UpdateFlags: UpdateFlagsConstants;
  readonly MapFlags: MapFlagsConstants;
  readonly XdpFlags: XdpFlagsConstants;
  readonly XdpAction: XdpActions;
  readonly TestRunFlags: TestRunFlagsConstants;
}

// ---- The module ----

export interface NativeBinding {
  BpfObject: BpfObjectStatic;
  BpfMap: BpfMapStatic;
  BpfProgram: BpfProgramStatic;
  BpfLink: BpfLinkStatic;
  RingBuffer: RingBufferStatic;
  xdpQuery(ifindex: number): XdpQueryResult;
  xdpAttachNetlink(ifindex: number, program: BpfProgram, mode: XdpMode, flags?: number): void;
  xdpDetachNetlink(ifindex: number, mode: XdpMode): void;
  inNetns<T>(nsPath: string, fn: () => T): T;
  ifNameToIndex(name: string): number;
  ifIndexToName(ifindex: number): string;
  numPossibleCpus(): number;
  libbpfVersion(): string;
  kernelRelease(): string;
  probe(): ProbeResult;
  flock(fd: number, operation: 'exclusive' | 'shared' | 'unlock'): boolean;
  constants: NativeConstants;
}
