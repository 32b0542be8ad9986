// object_variables.cc - BpfObject.variables()/setVariable()/getVariable(): global variables read
// from BTF and written into the initial value of their section's internal map (what a libbpf
// skeleton's skel->rodata->x = ... does). Before load every section is writable; after load
// .data/.bss stay writable through libbpf's mmap of the live map, while .rodata is frozen.
#include <linux/bpf.h>

#include <cstring>

#include "args.h"
#include "bpf_object.h"
#include "btf_vars.h"
#include "errors.h"

namespace xlb {

namespace {

GlobalVariable FindVariable(Napi::Env env, bpf_object* obj, const std::string& name, const std::string& objectName) {
  std::vector<GlobalVariable> vars = ListGlobalVariables(obj);
  for (const auto& var : vars) {
    if (var.name == name) return var;
  }
  std::string names;
  for (const auto& var : vars) names += (names.empty() ? "" : ", ") + var.name;
  ThrowCoded(env, kErrNotFound,
             "variable '" + name + "' not found in " + objectName + " (variables: " + (names.empty() ? "none" : names) + ")");
}

bool IsReadOnlySection(const GlobalVariable& var) { return (bpf_map__map_flags(var.map) & BPF_F_RDONLY_PROG) != 0; }

}  // namespace

Napi::Value BpfObject::Variables(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  CheckUsable(env, "variables");
  Napi::Array list = Napi::Array::New(env);
  uint32_t i = 0;
  for (const auto& var : ListGlobalVariables(obj_)) {
    Napi::Object entry = Napi::Object::New(env);
    entry.Set("name", var.name);
    entry.Set("section", var.section);
    entry.Set("offset", Napi::Number::New(env, var.offset));
    entry.Set("size", Napi::Number::New(env, var.size));
    list.Set(i++, entry);
  }
  return list;
}

Napi::Value BpfObject::SetVariable(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string name = ExpectString(info[0], "setVariable: name");
  std::string what = "setVariable '" + name + "'";
  CheckUsable(env, what);
  GlobalVariable var = FindVariable(env, obj_, name, name_);
  Bytes bytes = ExpectBytesOfSize(info[1], var.size, "value of variable '" + name + "'");
  if (state_ == State::Loaded) {
    if (IsReadOnlySection(var)) {
      ThrowCoded(env, kErrAlreadyLoaded, what + ": section " + var.section + " of " + name_ +
                                             " is read-only after load; set it before load()");
    }
  } else {
    CheckNotLoaded(env, what);
  }
  size_t size = 0;
  // Before load this is libbpf's copy of the section; after load its writable mmap of the map.
  void* data = const_cast<void*>(bpf_map__initial_value(var.map, &size));
  if (data == nullptr || static_cast<size_t>(var.offset) + var.size > size) {
    ThrowCoded(env, kErrNotLoaded, what + ": section " + var.section + " of " + name_ + " is not accessible");
  }
  std::memcpy(static_cast<uint8_t*>(data) + var.offset, bytes.data, bytes.size);
  return env.Undefined();
}

Napi::Value BpfObject::GetVariable(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string name = ExpectString(info[0], "getVariable: name");
  std::string what = "getVariable '" + name + "'";
  CheckUsable(env, what);
  if (state_ == State::Loading) ThrowCoded(env, kErrNotLoaded, what + ": " + name_ + " is being loaded");
  GlobalVariable var = FindVariable(env, obj_, name, name_);
  size_t size = 0;
  const void* data = bpf_map__initial_value(var.map, &size);
  if (data == nullptr || static_cast<size_t>(var.offset) + var.size > size) {
    ThrowCoded(env, kErrNotLoaded, what + ": section " + var.section + " of " + name_ + " is not accessible");
  }
  return Napi::Buffer<uint8_t>::Copy(env, static_cast<const uint8_t*>(data) + var.offset, var.size);
}

}  // namespace xlb
