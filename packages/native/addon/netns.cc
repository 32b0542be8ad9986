// netns.cc - inNetns(nsPath, fn): run fn synchronously on the calling (JS main) thread inside
// another network namespace, and always come back.
//
// setns(CLONE_NEWNET) changes the namespace of one thread only. Node's pool threads stay where they
// are, so anything namespace-sensitive (ifname -> ifindex, XDP attach, xdpQuery, live-frames test
// runs) must run synchronously inside fn; a Promise started in fn would finish on other threads
// and in the wrong namespace, which is why a thenable result is rejected. bpffs pins are not
// per-namespace, so pinning inside fn is fine.
#include <fcntl.h>
#include <sched.h>
#include <unistd.h>

#include <cerrno>

#include "args.h"
#include "errors.h"
#include "module_functions.h"

namespace xlb {

namespace {

// Owns an fd for the duration of the call.
class ScopedFd {
 public:
  explicit ScopedFd(int fd) : fd_(fd) {}
  ~ScopedFd() {
    if (fd_ >= 0) close(fd_);
  }
  ScopedFd(const ScopedFd&) = delete;
  ScopedFd& operator=(const ScopedFd&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

void Restore(int originalFd) {
  if (setns(originalFd, CLONE_NEWNET) != 0) {
    // The main thread would keep running in a foreign namespace: nothing after this is trustworthy.
    Napi::Error::Fatal("inNetns", "setns back to the original network namespace failed");
  }
}

Napi::Value InNetns(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string path = ExpectString(info[0], "inNetns: nsPath");
  Napi::Function fn = ExpectFunction(info[1], "inNetns: fn");

  ScopedFd original(open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC));
  if (original.get() < 0) ThrowSys(env, errno, "open", "open the current network namespace", "", "/proc/thread-self/ns/net");
  ScopedFd target(open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (target.get() < 0) {
    int err = errno;
    ThrowSys(env, err, "open", "enter network namespace " + path,
             err == ENOENT ? "no such namespace (ip netns add NAME creates /run/netns/NAME)" : "", path);
  }
  if (setns(target.get(), CLONE_NEWNET) != 0) {
    int err = errno;
    ThrowSys(env, err, "setns", "enter network namespace " + path,
             err == EPERM ? kHintSysAdmin : err == EINVAL ? "the path is not a network namespace" : "", path);
  }

  Napi::Value result;
  try {
    result = fn.Call(env.Undefined(), {});
  } catch (...) {
    Restore(original.get());
    throw;
  }
  Restore(original.get());

  if (result.IsObject() && result.As<Napi::Object>().Get("then").IsFunction()) {
    ThrowType(env, "inNetns: fn returned a Promise; it must be synchronous, because only the calling thread "
                   "enters the namespace (use the sync forms: ifNameToIndex, BpfLink.attachXdp, xdpQuery, testRun)");
  }
  return result;
}

}  // namespace

void RegisterNetnsFunctions(Napi::Env env, Napi::Object exports) {
  exports.Set("inNetns", Napi::Function::New<InNetns>(env, "inNetns"));
}

}  // namespace xlb
