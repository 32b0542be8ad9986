// object_variables.cc - BpfObject.variables()/setVariable()/getVariable(): global variables read
// from BTF. Before load they live in libbpf's copy of each section, the initial value of its
// internal map (what a skeleton's skel->rodata->x = ... writes). After load that copy is stale
// (only skeletons remap it), so live values go through an mmap of the section's map: .data and
// .bss stay writable, .rodata is frozen by the kernel and only readable.
#include <bpf/bpf.h>
#include <linux/bpf.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
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

// A shared mapping of a loaded section map's single value, unmapped on scope exit.
class LiveSection {
 public:
  LiveSection(Napi::Env env, const GlobalVariable& var, bool writable, const std::string& what) {
    if ((bpf_map__map_flags(var.map) & BPF_F_MMAPABLE) == 0) {
      ThrowCoded(env, kErrNotLoaded, what + ": section " + var.section + " is not mmapable on this kernel");
    }
    long page = sysconf(_SC_PAGESIZE);
    size_ = (static_cast<size_t>(bpf_map__value_size(var.map)) + page - 1) / page * page;
    int prot = writable ? PROT_READ | PROT_WRITE : PROT_READ;
    addr_ = mmap(nullptr, size_, prot, MAP_SHARED, bpf_map__fd(var.map), 0);
    if (addr_ == MAP_FAILED) ThrowSys(env, errno, "mmap", what + ": map section " + var.section);
  }
  ~LiveSection() { munmap(addr_, size_); }
  LiveSection(const LiveSection&) = delete;
  LiveSection& operator=(const LiveSection&) = delete;
  uint8_t* data() const { return static_cast<uint8_t*>(addr_); }

 private:
  void* addr_ = nullptr;
  size_t size_ = 0;
};

}  // namespace

Napi::Value BpfObject::Variables(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  CheckUsable(env, "variables");
  // libbpf adjusts the object's BTF for the kernel during load.
  if (state_ == State::Loading) ThrowCoded(env, kErrNotLoaded, "variables: " + name_ + " is being loaded");
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
    LiveSection live(env, var, true, what);
    std::memcpy(live.data() + var.offset, bytes.data, bytes.size);
    return env.Undefined();
  }
  CheckNotLoaded(env, what);
  size_t size = 0;
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
  if (state_ == State::Loaded) {
    LiveSection live(env, var, false, what);
    return Napi::Buffer<uint8_t>::Copy(env, live.data() + var.offset, var.size);
  }
  size_t size = 0;
  const void* data = bpf_map__initial_value(var.map, &size);
  if (data == nullptr || static_cast<size_t>(var.offset) + var.size > size) {
    ThrowCoded(env, kErrNotLoaded, what + ": section " + var.section + " of " + name_ + " is not accessible");
  }
  return Napi::Buffer<uint8_t>::Copy(env, static_cast<const uint8_t*>(data) + var.offset, var.size);
}

}  // namespace xlb
