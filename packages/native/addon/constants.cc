// constants.cc - UAPI constants by name, taken from the kernel headers the addon is compiled
// against, so user space never retypes a number: map and program types, update and map flags,
// XDP attach flags and verdicts, test-run flags.
#include <linux/bpf.h>
#include <linux/if_link.h>

#include "module_functions.h"

namespace xlb {

namespace {

struct Named {
  const char* name;
  uint32_t value;
};

#define XLB_NAMED(prefix, name) {#name, prefix##name}

constexpr Named kMapTypes[] = {
    XLB_NAMED(BPF_MAP_TYPE_, UNSPEC), XLB_NAMED(BPF_MAP_TYPE_, HASH), XLB_NAMED(BPF_MAP_TYPE_, ARRAY),
    XLB_NAMED(BPF_MAP_TYPE_, PROG_ARRAY), XLB_NAMED(BPF_MAP_TYPE_, PERF_EVENT_ARRAY),
    XLB_NAMED(BPF_MAP_TYPE_, PERCPU_HASH), XLB_NAMED(BPF_MAP_TYPE_, PERCPU_ARRAY),
    XLB_NAMED(BPF_MAP_TYPE_, STACK_TRACE), XLB_NAMED(BPF_MAP_TYPE_, CGROUP_ARRAY), XLB_NAMED(BPF_MAP_TYPE_, LRU_HASH),
    XLB_NAMED(BPF_MAP_TYPE_, LRU_PERCPU_HASH), XLB_NAMED(BPF_MAP_TYPE_, LPM_TRIE),
    XLB_NAMED(BPF_MAP_TYPE_, ARRAY_OF_MAPS), XLB_NAMED(BPF_MAP_TYPE_, HASH_OF_MAPS), XLB_NAMED(BPF_MAP_TYPE_, DEVMAP),
    XLB_NAMED(BPF_MAP_TYPE_, SOCKMAP), XLB_NAMED(BPF_MAP_TYPE_, CPUMAP), XLB_NAMED(BPF_MAP_TYPE_, XSKMAP),
    XLB_NAMED(BPF_MAP_TYPE_, SOCKHASH), XLB_NAMED(BPF_MAP_TYPE_, CGROUP_STORAGE),
    XLB_NAMED(BPF_MAP_TYPE_, REUSEPORT_SOCKARRAY), XLB_NAMED(BPF_MAP_TYPE_, PERCPU_CGROUP_STORAGE),
    XLB_NAMED(BPF_MAP_TYPE_, QUEUE), XLB_NAMED(BPF_MAP_TYPE_, STACK), XLB_NAMED(BPF_MAP_TYPE_, SK_STORAGE),
    XLB_NAMED(BPF_MAP_TYPE_, DEVMAP_HASH), XLB_NAMED(BPF_MAP_TYPE_, STRUCT_OPS), XLB_NAMED(BPF_MAP_TYPE_, RINGBUF),
    XLB_NAMED(BPF_MAP_TYPE_, INODE_STORAGE), XLB_NAMED(BPF_MAP_TYPE_, TASK_STORAGE),
    XLB_NAMED(BPF_MAP_TYPE_, BLOOM_FILTER), XLB_NAMED(BPF_MAP_TYPE_, USER_RINGBUF),
};

constexpr Named kProgTypes[] = {
    XLB_NAMED(BPF_PROG_TYPE_, UNSPEC), XLB_NAMED(BPF_PROG_TYPE_, SOCKET_FILTER), XLB_NAMED(BPF_PROG_TYPE_, KPROBE),
    XLB_NAMED(BPF_PROG_TYPE_, SCHED_CLS), XLB_NAMED(BPF_PROG_TYPE_, SCHED_ACT), XLB_NAMED(BPF_PROG_TYPE_, TRACEPOINT),
    XLB_NAMED(BPF_PROG_TYPE_, XDP), XLB_NAMED(BPF_PROG_TYPE_, PERF_EVENT), XLB_NAMED(BPF_PROG_TYPE_, CGROUP_SKB),
    XLB_NAMED(BPF_PROG_TYPE_, CGROUP_SOCK), XLB_NAMED(BPF_PROG_TYPE_, LWT_IN), XLB_NAMED(BPF_PROG_TYPE_, LWT_OUT),
    XLB_NAMED(BPF_PROG_TYPE_, LWT_XMIT), XLB_NAMED(BPF_PROG_TYPE_, SOCK_OPS), XLB_NAMED(BPF_PROG_TYPE_, SK_SKB),
    XLB_NAMED(BPF_PROG_TYPE_, CGROUP_DEVICE), XLB_NAMED(BPF_PROG_TYPE_, SK_MSG),
    XLB_NAMED(BPF_PROG_TYPE_, RAW_TRACEPOINT), XLB_NAMED(BPF_PROG_TYPE_, CGROUP_SOCK_ADDR),
    XLB_NAMED(BPF_PROG_TYPE_, LWT_SEG6LOCAL), XLB_NAMED(BPF_PROG_TYPE_, LIRC_MODE2),
    XLB_NAMED(BPF_PROG_TYPE_, SK_REUSEPORT), XLB_NAMED(BPF_PROG_TYPE_, FLOW_DISSECTOR),
    XLB_NAMED(BPF_PROG_TYPE_, CGROUP_SYSCTL), XLB_NAMED(BPF_PROG_TYPE_, RAW_TRACEPOINT_WRITABLE),
    XLB_NAMED(BPF_PROG_TYPE_, CGROUP_SOCKOPT), XLB_NAMED(BPF_PROG_TYPE_, TRACING), XLB_NAMED(BPF_PROG_TYPE_, STRUCT_OPS),
    XLB_NAMED(BPF_PROG_TYPE_, EXT), XLB_NAMED(BPF_PROG_TYPE_, LSM), XLB_NAMED(BPF_PROG_TYPE_, SK_LOOKUP),
    XLB_NAMED(BPF_PROG_TYPE_, SYSCALL),
};

// Element flags of update / updateBatch.
constexpr Named kUpdateFlags[] = {
    {"BPF_ANY", BPF_ANY}, {"BPF_NOEXIST", BPF_NOEXIST}, {"BPF_EXIST", BPF_EXIST}, {"BPF_F_LOCK", BPF_F_LOCK},
};

// Creation flags of BpfMap.create (map_flags).
constexpr Named kMapFlags[] = {
    XLB_NAMED(BPF_F_, NO_PREALLOC), XLB_NAMED(BPF_F_, NO_COMMON_LRU), XLB_NAMED(BPF_F_, NUMA_NODE),
    XLB_NAMED(BPF_F_, RDONLY),      XLB_NAMED(BPF_F_, WRONLY),        XLB_NAMED(BPF_F_, STACK_BUILD_ID),
    XLB_NAMED(BPF_F_, ZERO_SEED),   XLB_NAMED(BPF_F_, RDONLY_PROG),   XLB_NAMED(BPF_F_, WRONLY_PROG),
    XLB_NAMED(BPF_F_, CLONE),       XLB_NAMED(BPF_F_, MMAPABLE),      XLB_NAMED(BPF_F_, PRESERVE_ELEMS),
    XLB_NAMED(BPF_F_, INNER_MAP),
};

constexpr Named kXdpFlags[] = {
    XLB_NAMED(XDP_FLAGS_, UPDATE_IF_NOEXIST), XLB_NAMED(XDP_FLAGS_, SKB_MODE), XLB_NAMED(XDP_FLAGS_, DRV_MODE),
    XLB_NAMED(XDP_FLAGS_, HW_MODE),           XLB_NAMED(XDP_FLAGS_, REPLACE),
};

constexpr Named kXdpActions[] = {
    XLB_NAMED(XDP_, ABORTED), XLB_NAMED(XDP_, DROP), XLB_NAMED(XDP_, PASS), XLB_NAMED(XDP_, TX), XLB_NAMED(XDP_, REDIRECT),
};

constexpr Named kTestRunFlags[] = {
    {"RUN_ON_CPU", BPF_F_TEST_RUN_ON_CPU},
    {"XDP_LIVE_FRAMES", BPF_F_TEST_XDP_LIVE_FRAMES},
};

#undef XLB_NAMED

template <size_t N>
Napi::Object Group(Napi::Env env, const Named (&items)[N]) {
  Napi::Object group = Napi::Object::New(env);
  for (const auto& item : items) group.Set(item.name, Napi::Number::New(env, item.value));
  group.Freeze();
  return group;
}

}  // namespace

void RegisterConstants(Napi::Env env, Napi::Object exports) {
  Napi::Object constants = Napi::Object::New(env);
  constants.Set("MapType", Group(env, kMapTypes));
  constants.Set("ProgType", Group(env, kProgTypes));
  constants.Set("UpdateFlags", Group(env, kUpdateFlags));
  constants.Set("MapFlags", Group(env, kMapFlags));
  constants.Set("XdpFlags", Group(env, kXdpFlags));
  constants.Set("XdpAction", Group(env, kXdpActions));
  constants.Set("TestRunFlags", Group(env, kTestRunFlags));
  constants.Freeze();
  exports.Set("constants", constants);
}

}  // namespace xlb
