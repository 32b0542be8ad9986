// bpf_map.h - BpfMap wraps one BPF map: either a map inside a BpfObject (settable before load,
// usable after) or a standalone map fd (created, opened from a pin or by id). Keys and values cross
// as Buffers of the exact sizes; per-CPU maps take and give one Buffer per possible CPU.
#pragma once

#include <bpf/libbpf.h>
#include <napi.h>

#include <cstdint>
#include <string>

#include "handle_lifetime.h"
#include "map_values.h"

namespace xlb {

class BpfObject;

class BpfMap : public Napi::ObjectWrap<BpfMap>, public HandleLifetime {
 public:
  static Napi::Function Init(Napi::Env env);
  static Napi::Object NewFromObject(Napi::Env env, Napi::Object owner, bpf_map* map);
  // Takes ownership of fd.
  static Napi::Object NewFromFd(Napi::Env env, int fd, const std::string& pinPath);
  // The BpfMap behind a JS value, or nullptr if it is something else.
  static BpfMap* FromValue(Napi::Env env, const Napi::Value& value);

  explicit BpfMap(const Napi::CallbackInfo& info);
  ~BpfMap() override;

  // The map's fd for an operation called `what`; throws if disposed or not loaded yet.
  int UsableFd(Napi::Env env, const std::string& what);
  MapShape Shape() const;
  const std::string& Name() const { return name_; }

  // An async operation holds both the map and the object it belongs to.
  void EnterOperation();
  void LeaveOperation();

 protected:
  void Release() override;

 private:
  struct Init_ {
    int fd = -1;
    bpf_map* map = nullptr;
    Napi::Object owner;
    std::string pinPath;
  };

  static Napi::Value Create(const Napi::CallbackInfo& info);
  static Napi::Value FromPinned(const Napi::CallbackInfo& info);
  static Napi::Value FromId(const Napi::CallbackInfo& info);

  Napi::Value GetName(const Napi::CallbackInfo& info);
  Napi::Value GetType(const Napi::CallbackInfo& info);
  Napi::Value GetKeySize(const Napi::CallbackInfo& info);
  Napi::Value GetValueSize(const Napi::CallbackInfo& info);
  Napi::Value GetMaxEntries(const Napi::CallbackInfo& info);
  Napi::Value GetFlags(const Napi::CallbackInfo& info);
  Napi::Value GetId(const Napi::CallbackInfo& info);
  Napi::Value GetFd(const Napi::CallbackInfo& info);
  Napi::Value GetPinPath(const Napi::CallbackInfo& info);
  Napi::Value GetDisposed(const Napi::CallbackInfo& info);
  Napi::Value Info(const Napi::CallbackInfo& info);

  // Before load (maps of a BpfObject only).
  Napi::Value SetMaxEntries(const Napi::CallbackInfo& info);
  Napi::Value SetPinPath(const Napi::CallbackInfo& info);
  Napi::Value ReuseFd(const Napi::CallbackInfo& info);
  Napi::Value ReusePinned(const Napi::CallbackInfo& info);

  // Elements (map_elements.cc).
  Napi::Value Lookup(const Napi::CallbackInfo& info);
  Napi::Value Update(const Napi::CallbackInfo& info);
  Napi::Value Delete(const Napi::CallbackInfo& info);
  Napi::Value LookupAndDelete(const Napi::CallbackInfo& info);
  Napi::Value NextKey(const Napi::CallbackInfo& info);
  Napi::Value Keys(const Napi::CallbackInfo& info);

  // Batches (map_batch.cc).
  Napi::Value LookupBatch(const Napi::CallbackInfo& info);
  Napi::Value UpdateBatch(const Napi::CallbackInfo& info);
  Napi::Value DeleteBatch(const Napi::CallbackInfo& info);
  Napi::Value StartUpdateBatch(const Napi::CallbackInfo& info);
  Napi::Value StartDeleteBatch(const Napi::CallbackInfo& info);

  Napi::Value Pin(const Napi::CallbackInfo& info);
  Napi::Value Unpin(const Napi::CallbackInfo& info);
  Napi::Value DisposeJs(const Napi::CallbackInfo& info);

  void CheckUsable(Napi::Env env, const std::string& what) const;
  void CheckBeforeLoad(Napi::Env env, const std::string& what) const;
  uint32_t IdOrZero();
  // Reads the key argument; maps without keys (queue, stack) take null/undefined.
  const uint8_t* KeyArg(const Napi::Value& value, const MapShape& shape, const std::string& what);

  int fd_ = -1;  // owned; standalone maps only
  bpf_map* map_ = nullptr;
  BpfObject* owner_ = nullptr;
  Napi::ObjectReference ownerRef_;
  std::string name_;  // cached: map_ must not be touched once the owner is disposed
  MapShape standaloneShape_;
  uint32_t id_ = 0;
  std::string pinPath_;
};

}  // namespace xlb
