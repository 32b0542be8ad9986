// addon_data.h - per-environment state: the class constructors, so C++ can create wrapper objects
// (a BpfObject hands out BpfMap and BpfProgram objects) and recognise them in arguments.
#pragma once

#include <napi.h>

namespace xlb {

struct AddonData {
  Napi::FunctionReference bpfObject;
  Napi::FunctionReference bpfMap;
  Napi::FunctionReference bpfProgram;
  Napi::FunctionReference bpfLink;
  Napi::FunctionReference ringBuffer;
};

inline AddonData& GetAddonData(Napi::Env env) { return *env.GetInstanceData<AddonData>(); }

// Constructors take this token as their only argument: JS code cannot construct handles directly,
// only through the static factories (BpfMap.create, BpfObject.open, ...).
inline bool IsInternalConstruction(const Napi::CallbackInfo& info) {
  return info.Length() == 1 && info[0].IsExternal();
}

template <typename Init>
Init* InternalInit(const Napi::CallbackInfo& info) {
  return info[0].As<Napi::External<Init>>().Data();
}

}  // namespace xlb
