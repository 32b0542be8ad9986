// system_info.cc - small helpers: interface names and indexes (per network namespace of the
// calling thread), possible CPUs, versions, and probe() of what this machine allows.
#include <bpf/bpf.h>
#include <linux/bpf.h>
#include <bpf/libbpf.h>
#include <net/if.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <cerrno>
#include <fstream>

#include "args.h"
#include "errors.h"
#include "module_functions.h"

namespace xlb {

namespace {

Napi::Value IfNameToIndex(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string name = ExpectString(info[0], "ifNameToIndex: name");
  if (name.empty() || name.size() >= IF_NAMESIZE) {
    ThrowRange(env, "ifNameToIndex: interface names are 1 to 15 characters, got '" + name + "'");
  }
  unsigned index = if_nametoindex(name.c_str());
  if (index == 0) {
    int err = errno == 0 ? ENODEV : errno;
    ThrowSys(env, err, "if_nametoindex", "find interface '" + name + "'",
             "no interface named '" + name + "' in this network namespace");
  }
  return Napi::Number::New(env, index);
}

Napi::Value IfIndexToName(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  uint32_t index = ExpectU32(info[0], "ifIndexToName: ifindex");
  char name[IF_NAMESIZE];
  if (if_indextoname(index, name) == nullptr) {
    int err = errno == 0 ? ENXIO : errno;
    ThrowSys(env, err, "if_indextoname", "find interface with ifindex " + std::to_string(index),
             "no interface with this ifindex in this network namespace");
  }
  return Napi::String::New(env, name);
}

Napi::Value NumPossibleCpus(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int n = libbpf_num_possible_cpus();
  if (n < 0) ThrowSys(env, -n, "libbpf_num_possible_cpus", "count possible CPUs");
  return Napi::Number::New(env, n);
}

Napi::Value LibbpfVersion(const Napi::CallbackInfo& info) {
  return Napi::String::New(info.Env(),
                           std::to_string(libbpf_major_version()) + "." + std::to_string(libbpf_minor_version()));
}

Napi::Value KernelRelease(const Napi::CallbackInfo& info) {
  struct utsname u;
  if (uname(&u) != 0) ThrowSys(info.Env(), errno, "uname", "read the kernel release");
  return Napi::String::New(info.Env(), u.release);
}

// Tries the bpf() syscall itself: creating a one-element array map needs CAP_BPF and nothing else.
bool ProbeBpfSyscall(std::string* reason) {
  int fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, nullptr, 4, 4, 1, nullptr);
  if (fd >= 0) {
    close(fd);
    return true;
  }
  int err = errno;
  *reason = "bpf() refused a map: " + ErrnoCode(err) + " " + ErrnoText(err) + (err == EPERM ? " (needs CAP_BPF)" : "");
  return false;
}

// Tries BPF_PROG_RUN with BPF_F_TEST_XDP_LIVE_FRAMES, the way a packet generator would use it: a
// two-instruction XDP program that returns XDP_DROP (nothing leaves the host), one 64-byte frame,
// on the calling thread's loopback. Kernels can refuse the flag where everything else works (seen:
// EPERM as root on a rebuilt 6.18), so callers ask instead of assuming. Returns 0 or the errno.
int ProbeLiveFrames() {
  struct bpf_insn insns[] = {
      {BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_0, 0, 0, XDP_DROP},
      {BPF_JMP | BPF_EXIT, 0, 0, 0, 0},
  };
  int prog = bpf_prog_load(BPF_PROG_TYPE_XDP, "xlb_probe_live", "GPL", insns, 2, nullptr);
  if (prog < 0) return errno;
  uint8_t frame[64] = {};
  LIBBPF_OPTS(bpf_test_run_opts, opts);
  opts.data_in = frame;
  opts.data_size_in = sizeof(frame);
  opts.repeat = 1;
  opts.flags = BPF_F_TEST_XDP_LIVE_FRAMES;
  int err = bpf_prog_test_run_opts(prog, &opts) == 0 ? 0 : errno;
  close(prog);
  return err;
}

Napi::Value Probe(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Array reasons = Napi::Array::New(env);
  auto reason = [&](const std::string& text) { reasons.Set(reasons.Length(), text); };
  Napi::Object out = Napi::Object::New(env);

  std::string why;
  bool bpf = ProbeBpfSyscall(&why);
  if (!bpf) reason(why);
  out.Set("bpf", bpf);

  bool xdp = false;
  if (bpf) {
    int r = libbpf_probe_bpf_prog_type(BPF_PROG_TYPE_XDP, nullptr);
    xdp = r == 1;
    if (!xdp) reason(r == 0 ? "the kernel does not support XDP programs" : "probing XDP failed: " + ErrnoText(-r));
  } else {
    reason("XDP not probed: no bpf()");
  }
  out.Set("xdp", xdp);

  // Live frames: only meaningful where XDP loads at all.
  if (xdp) {
    int err = ProbeLiveFrames();
    out.Set("liveFrames", err == 0);
    if (err != 0) {
      out.Set("liveFramesErrno", ErrnoCode(err));
      reason("BPF_PROG_RUN refused live frames (BPF_F_TEST_XDP_LIVE_FRAMES): " + ErrnoCode(err) + " " +
             ErrnoText(err));
    }
  } else {
    out.Set("liveFrames", false);
  }

  std::ifstream jit("/proc/sys/net/core/bpf_jit_enable");
  int jitValue = -1;
  if (jit >> jitValue) {
    out.Set("jit", jitValue != 0);
    if (jitValue == 0) reason("the BPF JIT is disabled (net.core.bpf_jit_enable = 0)");
  }

  bool btf = access("/sys/kernel/btf/vmlinux", R_OK) == 0;
  if (!btf) reason("no kernel BTF at /sys/kernel/btf/vmlinux");
  out.Set("btf", btf);

  out.Set("reasons", reasons);
  return out;
}

}  // namespace

void RegisterSystemFunctions(Napi::Env env, Napi::Object exports) {
  exports.Set("ifNameToIndex", Napi::Function::New<IfNameToIndex>(env, "ifNameToIndex"));
  exports.Set("ifIndexToName", Napi::Function::New<IfIndexToName>(env, "ifIndexToName"));
  exports.Set("numPossibleCpus", Napi::Function::New<NumPossibleCpus>(env, "numPossibleCpus"));
  exports.Set("libbpfVersion", Napi::Function::New<LibbpfVersion>(env, "libbpfVersion"));
  exports.Set("kernelRelease", Napi::Function::New<KernelRelease>(env, "kernelRelease"));
  exports.Set("probe", Napi::Function::New<Probe>(env, "probe"));
}

}  // namespace xlb
