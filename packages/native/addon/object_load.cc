// object_load.cc - BpfObject.load(): bpf_object__load on a pool thread (the verifier can take
// seconds), with libbpf's output captured so a rejection carries the verifier log.
#include <bpf/libbpf.h>

#include <cerrno>

#include "bpf_object.h"
#include "errors.h"
#include "libbpf_log.h"
#include "promise_worker.h"

namespace xlb {

namespace {

class ObjectLoadWorker : public PromiseWorker {
 public:
  ObjectLoadWorker(Napi::Env env, BpfObject* object)
      : PromiseWorker(env, "BpfObjectLoadWorker"), object_(object), obj_(object->Raw()), name_(object->DisplayName()) {
    object_->Ref();
    object_->Enter();
  }

  ~ObjectLoadWorker() override {
    object_->Leave();
    object_->Unref();
  }

 protected:
  void Run() override {
    LibbpfLogCapture capture;
    int r = bpf_object__load(obj_);
    if (r == 0) return;
    SysFailure failure;
    failure.err = -r;
    failure.syscall = "bpf_object__load";
    failure.action = "load " + name_;
    failure.libbpfLog = capture.Text();
    std::string program;
    failure.verifierLog = ExtractVerifierLog(capture.Text(), &program);
    if (!failure.verifierLog.empty()) {
      failure.hint = "verifier rejected program '" + program + "': " + VerifierLogTail(failure.verifierLog, 2);
    } else if (failure.err == EPERM) {
      failure.hint = kHintBpfCaps;
    } else {
      failure.hint = LastLibbpfLine(capture.Text());
    }
    Fail(std::move(failure));
  }

  Napi::Value Result(Napi::Env env) override {
    object_->FinishLoad(true);
    return env.Undefined();
  }

  void Failed() override { object_->FinishLoad(false); }

 private:
  BpfObject* object_;
  bpf_object* obj_;
  std::string name_;
};

}  // namespace

Napi::Value BpfObject::Load(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return AsPromise(env, [&]() -> Napi::Value {
    CheckNotLoaded(env, "load");
    // Until the worker settles, every before-load setter and every map or program operation refuses.
    state_ = State::Loading;
    auto* worker = new ObjectLoadWorker(env, this);
    return worker->Start();
  });
}

}  // namespace xlb
