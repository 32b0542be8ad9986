// netns.cc - inNetns(nsPath, fn): run fn synchronously on the calling (JS main) thread inside
// another network namespace, and always come back.
//
// setns(CLONE_NEWNET) changes the namespace of one thread only, so anything namespace-sensitive
// (ifname -> ifindex, XDP attach, xdpQuery, live-frames test runs) must run synchronously inside
// fn. Code after an await would run after inNetns has returned, back in the original namespace,
// which is why a thenable result is a TypeError. (Async methods called inside fn do run in its
// namespace: every worker enters the namespace of the thread that started it.) bpffs pins are
// not per-namespace, so pinning inside fn is fine.
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>

#include "args.h"
#include "errors.h"
#include "module_functions.h"
#include "thread_netns.h"

namespace xlb {

namespace {

Napi::Value InNetns(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string path = ExpectString(info[0], "inNetns: nsPath");
  Napi::Function fn = ExpectFunction(info[1], "inNetns: fn");

  int target = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (target < 0) {
    int err = errno;
    ThrowSys(env, err, "open", "enter network namespace " + path,
             err == ENOENT ? "no such namespace (ip netns add NAME creates /run/netns/NAME)" : "", path);
  }
  Napi::Value result;
  {
    ThreadNetnsSwitch netns(target);
    close(target);
    if (netns.error() != 0) {
      int err = netns.error();
      ThrowSys(env, err, "setns", "enter network namespace " + path,
               err == EPERM ? kHintSysAdmin : err == EINVAL ? "the path is not a network namespace" : "", path);
    }
    // An exception from fn propagates after the switch's destructor has restored the namespace.
    result = fn.Call(env.Undefined(), {});
  }
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
