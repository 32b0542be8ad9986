// bpf_object.h - BpfObject wraps one struct bpf_object: open an ELF object, set its global
// variables and map parameters, load it (in an AsyncWorker), hand out its programs and maps.
#pragma once

#include <bpf/libbpf.h>
#include <napi.h>

#include <string>
#include <utility>
#include <vector>

#include "handle_lifetime.h"

namespace xlb {

class BpfObject : public Napi::ObjectWrap<BpfObject>, public HandleLifetime {
 public:
  enum class State { Opened, Loading, Loaded, LoadFailed };

  static Napi::Function Init(Napi::Env env);
  explicit BpfObject(const Napi::CallbackInfo& info);
  ~BpfObject() override;

  // For BpfMap / BpfProgram, which live inside this object.
  bpf_object* Raw() const { return obj_; }
  const std::string& DisplayName() const { return name_; }
  State GetState() const { return state_; }
  // Throws ERR_LB_DISPOSED if disposed, ERR_LB_NOT_LOADED / ERR_LB_ALREADY_LOADED if the object is
  // not in the state an operation needs.
  void CheckUsable(Napi::Env env, const std::string& what) const;
  void CheckLoaded(Napi::Env env, const std::string& what) const;
  void CheckNotLoaded(Napi::Env env, const std::string& what) const;

  // The map's name as the object declares it (see mapNames_).
  std::string DeclaredMapName(bpf_map* map) const;

  // Called by the load worker on the JS thread.
  void FinishLoad(bool ok) { state_ = ok ? State::Loaded : State::LoadFailed; }

 protected:
  void Release() override;

 private:
  static Napi::Value Open(const Napi::CallbackInfo& info);

  Napi::Value GetName(const Napi::CallbackInfo& info);
  Napi::Value GetPath(const Napi::CallbackInfo& info);
  Napi::Value GetState(const Napi::CallbackInfo& info);
  Napi::Value GetDisposed(const Napi::CallbackInfo& info);
  Napi::Value Variables(const Napi::CallbackInfo& info);
  Napi::Value SetVariable(const Napi::CallbackInfo& info);
  Napi::Value GetVariable(const Napi::CallbackInfo& info);
  Napi::Value StructLayout(const Napi::CallbackInfo& info);
  Napi::Value Load(const Napi::CallbackInfo& info);
  Napi::Value Programs(const Napi::CallbackInfo& info);
  Napi::Value Program(const Napi::CallbackInfo& info);
  Napi::Value Maps(const Napi::CallbackInfo& info);
  Napi::Value Map(const Napi::CallbackInfo& info);
  Napi::Value PinMaps(const Napi::CallbackInfo& info);
  Napi::Value UnpinMaps(const Napi::CallbackInfo& info);
  Napi::Value DisposeJs(const Napi::CallbackInfo& info);

  Napi::Value WrapProgram(Napi::Env env, bpf_program* prog);
  Napi::Value WrapMap(Napi::Env env, bpf_map* map);

  bpf_object* obj_ = nullptr;
  std::string name_;
  std::string path_;
  State state_ = State::Opened;
  // Map names as declared in the object, recorded at open. libbpf renames a map to the kernel
  // map's name when it reuses an fd or a pin (a name longer than 15 characters comes back
  // truncated), so lookups by name and the wrappers' names use this table.
  std::vector<std::pair<std::string, bpf_map*>> mapNames_;
};

}  // namespace xlb
