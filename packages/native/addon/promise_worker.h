// promise_worker.h - the one AsyncWorker shape for blocking calls: runs Run() on a pool thread,
// settles a Promise on the JS thread, and rejects with a Node-style system error.
#pragma once

#include <napi.h>

#include <unistd.h>

#include <exception>
#include <string>

#include "errors.h"
#include "thread_netns.h"

namespace xlb {

// Runs `start` (argument checks, then queueing a worker) so that every failure, argument errors
// included, becomes a rejected Promise: a Promise-returning method never throws synchronously.
template <typename Start>
Napi::Value AsPromise(Napi::Env env, Start start) {
  try {
    return start();
  } catch (const Napi::Error& e) {
    Napi::Promise::Deferred deferred = Napi::Promise::Deferred::New(env);
    deferred.Reject(e.Value());
    return deferred.Promise();
  }
}

class PromiseWorker : public Napi::AsyncWorker {
 public:
  PromiseWorker(Napi::Env env, const char* resourceName)
      : Napi::AsyncWorker(env, resourceName),
        name_(resourceName),
        deferred_(Napi::Promise::Deferred::New(env)),
        callerNetns_(OpenThreadNetns()) {}

  ~PromiseWorker() override {
    if (callerNetns_ >= 0) close(callerNetns_);
  }

  // Queues the work and returns its Promise.
  Napi::Promise Start() {
    Napi::Promise promise = deferred_.Promise();
    Queue();
    return promise;
  }

 protected:
  // Pool thread: must not touch napi values.
  virtual void Run() = 0;
  // JS thread, after Run() succeeded.
  virtual Napi::Value Result(Napi::Env env) { return env.Undefined(); }
  // JS thread, after Run() failed, before the Promise is rejected.
  virtual void Failed() {}

  void Fail(SysFailure failure) {
    failure_ = std::move(failure);
    hasFailure_ = true;
    SetError(failure_.Message());
  }

 private:
  void Execute() final {
    // Work runs in the namespace of the thread that started it (see thread_netns.h).
    ThreadNetnsSwitch netns(callerNetns_);
    if (netns.error() != 0) {
      SysFailure failure;
      failure.err = netns.error();
      failure.syscall = "setns";
      failure.action = name_ + ": enter the caller's network namespace";
      Fail(std::move(failure));
      return;
    }
    try {
      Run();
    } catch (const std::exception& e) {
      SetError(name_ + ": " + e.what());
    } catch (...) {
      SetError(name_ + ": unknown C++ exception");
    }
  }

  void OnOK() final {
    try {
      deferred_.Resolve(Result(Env()));
    } catch (const Napi::Error& e) {
      deferred_.Reject(e.Value());
    }
  }

  void OnError(const Napi::Error& e) final {
    Failed();
    if (hasFailure_) {
      deferred_.Reject(MakeSysError(Env(), failure_).Value());
    } else {
      deferred_.Reject(e.Value());
    }
  }

  std::string name_;
  Napi::Promise::Deferred deferred_;
  SysFailure failure_;
  bool hasFailure_ = false;
  int callerNetns_;
};

}  // namespace xlb
