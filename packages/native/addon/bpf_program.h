// bpf_program.h - BpfProgram wraps one BPF program: a program inside a BpfObject, or a standalone
// program fd (opened from a pin or by id). Runs it with BPF_PROG_TEST_RUN and pins it.
#pragma once

#include <bpf/libbpf.h>
#include <napi.h>

#include <string>

#include "handle_lifetime.h"

namespace xlb {

class BpfObject;

class BpfProgram : public Napi::ObjectWrap<BpfProgram>, public HandleLifetime {
 public:
  static Napi::Function Init(Napi::Env env);
  static Napi::Object NewFromObject(Napi::Env env, Napi::Object owner, bpf_program* prog);
  // Takes ownership of fd.
  static Napi::Object NewFromFd(Napi::Env env, int fd);
  // The BpfProgram behind a JS value, or nullptr if it is something else.
  static BpfProgram* FromValue(Napi::Env env, const Napi::Value& value);
  // Like FromValue, but TypeError naming `what` for anything else.
  static BpfProgram* Expect(Napi::Env env, const Napi::Value& value, const std::string& what);

  explicit BpfProgram(const Napi::CallbackInfo& info);
  ~BpfProgram() override;

  int UsableFd(Napi::Env env, const std::string& what);
  const std::string& Name() const { return name_; }

  void EnterOperation();
  void LeaveOperation();

 protected:
  void Release() override;

 private:
  struct Init_ {
    int fd = -1;
    bpf_program* prog = nullptr;
    Napi::Object owner;
  };

  static Napi::Value FromPinned(const Napi::CallbackInfo& info);
  static Napi::Value FromId(const Napi::CallbackInfo& info);

  Napi::Value GetName(const Napi::CallbackInfo& info);
  Napi::Value GetType(const Napi::CallbackInfo& info);
  Napi::Value GetSection(const Napi::CallbackInfo& info);
  Napi::Value GetFd(const Napi::CallbackInfo& info);
  Napi::Value GetId(const Napi::CallbackInfo& info);
  Napi::Value GetTag(const Napi::CallbackInfo& info);
  Napi::Value GetDisposed(const Napi::CallbackInfo& info);
  Napi::Value Info(const Napi::CallbackInfo& info);
  // program_test_run.cc
  Napi::Value TestRun(const Napi::CallbackInfo& info);
  Napi::Value TestRunAsync(const Napi::CallbackInfo& info);
  Napi::Value SetAttachTarget(const Napi::CallbackInfo& info);
  Napi::Value Pin(const Napi::CallbackInfo& info);
  Napi::Value Unpin(const Napi::CallbackInfo& info);
  Napi::Value DisposeJs(const Napi::CallbackInfo& info);

  void CheckUsable(Napi::Env env, const std::string& what) const;
  // bpf_prog_info of the loaded program (name, type, id, tag), queried once.
  const bpf_prog_info& LoadedInfo(Napi::Env env, const std::string& what);

  int fd_ = -1;  // owned; standalone programs only
  bpf_program* prog_ = nullptr;
  BpfObject* owner_ = nullptr;
  Napi::ObjectReference ownerRef_;
  std::string name_;  // cached: prog_ must not be touched once the owner is disposed
  bpf_prog_info info_{};
  bool haveInfo_ = false;
  std::string pinPath_;
};

}  // namespace xlb
