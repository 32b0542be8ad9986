// bpf_link.h - BpfLink wraps one bpf_link fd (here: XDP links). A link lives as long as its fd or
// its pin: dispose() of an unpinned link detaches the program; a pinned one survives the process.
#pragma once

#include <napi.h>

#include <string>

#include "handle_lifetime.h"

namespace xlb {

class BpfLink : public Napi::ObjectWrap<BpfLink>, public HandleLifetime {
 public:
  static Napi::Function Init(Napi::Env env);
  explicit BpfLink(const Napi::CallbackInfo& info);
  ~BpfLink() override;

 protected:
  void Release() override;

 private:
  struct Init_ {
    int fd = -1;
    std::string pinPath;
  };

  static Napi::Object NewFromFd(Napi::Env env, int fd, const std::string& pinPath);
  static Napi::Value AttachXdp(const Napi::CallbackInfo& info);
  static Napi::Value AttachExtension(const Napi::CallbackInfo& info);
  static Napi::Value FromPinned(const Napi::CallbackInfo& info);
  static Napi::Value FromId(const Napi::CallbackInfo& info);

  Napi::Value GetFd(const Napi::CallbackInfo& info);
  Napi::Value GetPinPath(const Napi::CallbackInfo& info);
  Napi::Value GetDisposed(const Napi::CallbackInfo& info);
  Napi::Value Info(const Napi::CallbackInfo& info);
  Napi::Value Update(const Napi::CallbackInfo& info);
  Napi::Value Detach(const Napi::CallbackInfo& info);
  Napi::Value Pin(const Napi::CallbackInfo& info);
  Napi::Value Unpin(const Napi::CallbackInfo& info);
  Napi::Value DisposeJs(const Napi::CallbackInfo& info);

  int UsableFd(Napi::Env env, const std::string& what) const;
  std::string Describe() const;

  int fd_ = -1;
  uint32_t id_ = 0;
  std::string pinPath_;
};

}  // namespace xlb
