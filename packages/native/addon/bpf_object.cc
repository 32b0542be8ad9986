// bpf_object.cc - see bpf_object.h. Loading lives in object_load.cc, variables in object_variables.cc.
#include "bpf_object.h"

#include <bpf/libbpf.h>

#include <cerrno>

#include "addon_data.h"
#include "args.h"
#include "bpf_map.h"
#include "bpf_program.h"
#include "errors.h"
#include "libbpf_log.h"

namespace xlb {

namespace {

std::string Basename(const std::string& path) {
  size_t slash = path.find_last_of('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

const char* StateName(BpfObject::State state) {
  switch (state) {
    case BpfObject::State::Opened: return "opened";
    case BpfObject::State::Loading: return "loading";
    case BpfObject::State::Loaded: return "loaded";
    case BpfObject::State::LoadFailed: return "load-failed";
  }
  return "unknown";
}

}  // namespace

Napi::Function BpfObject::Init(Napi::Env env) {
  return DefineClass(env, "BpfObject",
                     {
                         StaticMethod<&BpfObject::Open>("open"),
                         InstanceAccessor<&BpfObject::GetName>("name"),
                         InstanceAccessor<&BpfObject::GetPath>("path"),
                         InstanceAccessor<&BpfObject::GetState>("state"),
                         InstanceAccessor<&BpfObject::GetDisposed>("disposed"),
                         InstanceMethod<&BpfObject::Variables>("variables"),
                         InstanceMethod<&BpfObject::SetVariable>("setVariable"),
                         InstanceMethod<&BpfObject::GetVariable>("getVariable"),
                         InstanceMethod<&BpfObject::StructLayout>("structLayout"),
                         InstanceMethod<&BpfObject::Load>("load"),
                         InstanceMethod<&BpfObject::Programs>("programs"),
                         InstanceMethod<&BpfObject::Program>("program"),
                         InstanceMethod<&BpfObject::Maps>("maps"),
                         InstanceMethod<&BpfObject::Map>("map"),
                         InstanceMethod<&BpfObject::PinMaps>("pinMaps"),
                         InstanceMethod<&BpfObject::UnpinMaps>("unpinMaps"),
                         InstanceMethod<&BpfObject::DisposeJs>("dispose"),
                     });
}

struct ObjectInit {
  bpf_object* obj;
  std::string name;
  std::string path;
};

BpfObject::BpfObject(const Napi::CallbackInfo& info) : Napi::ObjectWrap<BpfObject>(info) {
  if (!IsInternalConstruction(info)) {
    ThrowType(info.Env(), "BpfObject cannot be constructed directly; use BpfObject.open(pathOrBuffer)");
  }
  auto* init = InternalInit<ObjectInit>(info);
  obj_ = init->obj;
  name_ = init->name;
  path_ = init->path;
  bpf_map* map;
  bpf_object__for_each_map(map, obj_) mapNames_.emplace_back(bpf_map__name(map), map);
}

std::string BpfObject::DeclaredMapName(bpf_map* map) const {
  for (const auto& [name, m] : mapNames_) {
    if (m == map) return name;
  }
  return bpf_map__name(map);
}

BpfObject::~BpfObject() { ReleaseFromFinalizer(); }

void BpfObject::Release() {
  if (obj_ != nullptr) bpf_object__close(obj_);
  obj_ = nullptr;
}

void BpfObject::CheckUsable(Napi::Env env, const std::string& what) const {
  if (IsDisposed()) ThrowCoded(env, kErrDisposed, what + ": BpfObject " + name_ + " is disposed");
}

void BpfObject::CheckLoaded(Napi::Env env, const std::string& what) const {
  CheckUsable(env, what);
  if (state_ != State::Loaded) {
    ThrowCoded(env, kErrNotLoaded, what + ": " + name_ + " is not loaded (state " + StateName(state_) + "); await load() first");
  }
}

void BpfObject::CheckNotLoaded(Napi::Env env, const std::string& what) const {
  CheckUsable(env, what);
  if (state_ == State::Opened) return;
  if (state_ == State::LoadFailed) {
    ThrowCoded(env, kErrLoadFailed, what + ": the load of " + name_ + " failed; open the object again");
  }
  ThrowCoded(env, kErrAlreadyLoaded, what + ": only possible before load, and " + name_ + " is " + StateName(state_));
}

Napi::Value BpfObject::Open(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Value source = info[0];
  bool fromFile = source.IsString();
  if (!fromFile && !IsBytes(source)) ThrowType(env, "BpfObject.open: pathOrBuffer must be a string path or a Buffer");
  Napi::Object options = OptionsArg(info, 1, "BpfObject.open: options");
  std::optional<std::string> name = OptionalString(options, "name", "options");
  std::optional<std::string> pinRoot = OptionalString(options, "pinRoot", "options");

  LIBBPF_OPTS(bpf_object_open_opts, opts);
  if (name) opts.object_name = name->c_str();
  if (pinRoot) opts.pin_root_path = pinRoot->c_str();

  ObjectInit init;
  LibbpfLogCapture capture;
  const char* syscall;
  if (fromFile) {
    init.path = source.As<Napi::String>().Utf8Value();
    init.name = name ? *name : Basename(init.path);
    syscall = "bpf_object__open_file";
    init.obj = bpf_object__open_file(init.path.c_str(), &opts);
  } else {
    Bytes bytes = ExpectBytes(source, "pathOrBuffer");
    init.name = name ? *name : "object from buffer";
    syscall = "bpf_object__open_mem";
    // libbpf parses the ELF image during this call and keeps no pointer into it afterwards.
    init.obj = bpf_object__open_mem(bytes.data, bytes.size, &opts);
  }
  if (init.obj == nullptr) {
    int err = errno ? errno : EINVAL;
    SysFailure failure;
    failure.err = err;
    failure.syscall = syscall;
    failure.action = "open " + (fromFile ? init.path : init.name);
    failure.path = init.path;
    failure.libbpfLog = capture.Text();
    if (err != ENOENT) failure.hint = LastLibbpfLine(capture.Text());
    ThrowSys(env, failure);
  }
  Napi::External<ObjectInit> token = Napi::External<ObjectInit>::New(env, &init);
  return GetAddonData(env).bpfObject.New({token});
}

Napi::Value BpfObject::GetName(const Napi::CallbackInfo& info) { return Napi::String::New(info.Env(), name_); }

Napi::Value BpfObject::GetPath(const Napi::CallbackInfo& info) {
  if (path_.empty()) return info.Env().Null();
  return Napi::String::New(info.Env(), path_);
}

Napi::Value BpfObject::GetState(const Napi::CallbackInfo& info) {
  return Napi::String::New(info.Env(), IsDisposed() ? "disposed" : StateName(state_));
}

Napi::Value BpfObject::GetDisposed(const Napi::CallbackInfo& info) { return Napi::Boolean::New(info.Env(), IsDisposed()); }

Napi::Value BpfObject::WrapProgram(Napi::Env env, bpf_program* prog) {
  return BpfProgram::NewFromObject(env, Value(), prog);
}

Napi::Value BpfObject::WrapMap(Napi::Env env, bpf_map* map) { return BpfMap::NewFromObject(env, Value(), map); }

Napi::Value BpfObject::Programs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  CheckUsable(env, "programs");
  Napi::Array list = Napi::Array::New(env);
  uint32_t i = 0;
  bpf_program* prog;
  bpf_object__for_each_program(prog, obj_) list.Set(i++, WrapProgram(env, prog));
  return list;
}

Napi::Value BpfObject::Program(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string name = ExpectString(info[0], "program: name");
  CheckUsable(env, "program '" + name + "'");
  bpf_program* prog = bpf_object__find_program_by_name(obj_, name.c_str());
  if (prog == nullptr) {
    std::string names;
    bpf_program* p;
    bpf_object__for_each_program(p, obj_) names += std::string(names.empty() ? "" : ", ") + bpf_program__name(p);
    ThrowCoded(env, kErrNotFound, "program '" + name + "' not found in " + name_ + " (programs: " + names + ")");
  }
  return WrapProgram(env, prog);
}

Napi::Value BpfObject::Maps(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  CheckUsable(env, "maps");
  Napi::Array list = Napi::Array::New(env);
  uint32_t i = 0;
  bpf_map* map;
  bpf_object__for_each_map(map, obj_) list.Set(i++, WrapMap(env, map));
  return list;
}

Napi::Value BpfObject::Map(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string name = ExpectString(info[0], "map: name");
  CheckUsable(env, "map '" + name + "'");
  bpf_map* map = nullptr;
  for (const auto& [declared, m] : mapNames_) {
    if (declared == name) map = m;
  }
  // Internal maps are also found by section name (".rodata", ".bss").
  if (map == nullptr && !name.empty() && name[0] == '.') map = bpf_object__find_map_by_name(obj_, name.c_str());
  if (map == nullptr) {
    std::string names;
    for (const auto& entry : mapNames_) names += (names.empty() ? "" : ", ") + entry.first;
    ThrowCoded(env, kErrNotFound, "map '" + name + "' not found in " + name_ + " (maps: " + names + ")");
  }
  return WrapMap(env, map);
}

Napi::Value BpfObject::PinMaps(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string dir = ExpectString(info[0], "pinMaps: dir");
  CheckLoaded(env, "pinMaps");
  LibbpfLogCapture capture;
  int r = bpf_object__pin_maps(obj_, dir.c_str());
  if (r != 0) ThrowSys(env, -r, "bpf_object__pin_maps", "pin maps of " + name_ + " under " + dir, LastLibbpfLine(capture.Text()), dir);
  return env.Undefined();
}

Napi::Value BpfObject::UnpinMaps(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string dir = ExpectString(info[0], "unpinMaps: dir");
  CheckLoaded(env, "unpinMaps");
  LibbpfLogCapture capture;
  int r = bpf_object__unpin_maps(obj_, dir.c_str());
  if (r != 0) ThrowSys(env, -r, "bpf_object__unpin_maps", "unpin maps of " + name_ + " under " + dir, LastLibbpfLine(capture.Text()), dir);
  return env.Undefined();
}

Napi::Value BpfObject::DisposeJs(const Napi::CallbackInfo& info) {
  Dispose();
  return info.Env().Undefined();
}

}  // namespace xlb
