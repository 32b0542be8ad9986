// bpf_map.cc - see bpf_map.h. Element operations live in map_elements.cc, batches in map_batch.cc.
#include "bpf_map.h"

#include <bpf/bpf.h>
#include <unistd.h>

#include <cerrno>

#include "addon_data.h"
#include "args.h"
#include "bpf_object.h"
#include "errors.h"
#include "fd_util.h"
#include "libbpf_log.h"

namespace xlb {

Napi::Function BpfMap::Init(Napi::Env env) {
  return DefineClass(env, "BpfMap",
                     {
                         StaticMethod<&BpfMap::Create>("create"),
                         StaticMethod<&BpfMap::FromPinned>("fromPinned"),
                         StaticMethod<&BpfMap::FromId>("fromId"),
                         InstanceAccessor<&BpfMap::GetName>("name"),
                         InstanceAccessor<&BpfMap::GetType>("type"),
                         InstanceAccessor<&BpfMap::GetKeySize>("keySize"),
                         InstanceAccessor<&BpfMap::GetValueSize>("valueSize"),
                         InstanceAccessor<&BpfMap::GetMaxEntries>("maxEntries"),
                         InstanceAccessor<&BpfMap::GetFlags>("flags"),
                         InstanceAccessor<&BpfMap::GetId>("id"),
                         InstanceAccessor<&BpfMap::GetFd>("fd"),
                         InstanceAccessor<&BpfMap::GetPinPath>("pinPath"),
                         InstanceAccessor<&BpfMap::GetDisposed>("disposed"),
                         InstanceMethod<&BpfMap::Info>("info"),
                         InstanceMethod<&BpfMap::SetMaxEntries>("setMaxEntries"),
                         InstanceMethod<&BpfMap::SetPinPath>("setPinPath"),
                         InstanceMethod<&BpfMap::ReuseFd>("reuseFd"),
                         InstanceMethod<&BpfMap::ReusePinned>("reusePinned"),
                         InstanceMethod<&BpfMap::Lookup>("lookup"),
                         InstanceMethod<&BpfMap::Update>("update"),
                         InstanceMethod<&BpfMap::Delete>("delete"),
                         InstanceMethod<&BpfMap::LookupAndDelete>("lookupAndDelete"),
                         InstanceMethod<&BpfMap::NextKey>("nextKey"),
                         InstanceMethod<&BpfMap::Keys>("keys"),
                         InstanceMethod<&BpfMap::LookupBatch>("lookupBatch"),
                         InstanceMethod<&BpfMap::UpdateBatch>("updateBatch"),
                         InstanceMethod<&BpfMap::DeleteBatch>("deleteBatch"),
                         InstanceMethod<&BpfMap::Pin>("pin"),
                         InstanceMethod<&BpfMap::Unpin>("unpin"),
                         InstanceMethod<&BpfMap::DisposeJs>("dispose"),
                     });
}

BpfMap::BpfMap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<BpfMap>(info) {
  Napi::Env env = info.Env();
  if (!IsInternalConstruction(info)) {
    ThrowType(env, "BpfMap cannot be constructed directly; use BpfMap.create(), BpfMap.fromPinned(), "
                   "BpfMap.fromId() or BpfObject.map()");
  }
  auto* init = InternalInit<Init_>(info);
  pinPath_ = init->pinPath;
  if (init->map != nullptr) {
    map_ = init->map;
    owner_ = Napi::ObjectWrap<BpfObject>::Unwrap(init->owner);
    name_ = owner_->DeclaredMapName(map_);
    ownerRef_ = Napi::Persistent(init->owner);
    return;
  }
  fd_ = init->fd;
  bpf_map_info mi;
  int err = MapInfoByFd(fd_, &mi);
  if (err != 0) {
    CloseFd(fd_);
    ThrowSys(env, err, "bpf_obj_get_info_by_fd", "read map info");
  }
  id_ = mi.id;
  name_ = mi.name;
  standaloneShape_ = MakeShape(mi.name, mi.type, mi.key_size, mi.value_size, mi.max_entries, mi.map_flags);
}

BpfMap::~BpfMap() { ReleaseFromFinalizer(); }

void BpfMap::Release() {
  CloseFd(fd_);
  map_ = nullptr;
  owner_ = nullptr;
  if (!ownerRef_.IsEmpty()) ownerRef_.Reset();
}

Napi::Object BpfMap::NewFromObject(Napi::Env env, Napi::Object owner, bpf_map* map) {
  Init_ init;
  init.map = map;
  init.owner = owner;
  return GetAddonData(env).bpfMap.New({Napi::External<Init_>::New(env, &init)});
}

Napi::Object BpfMap::NewFromFd(Napi::Env env, int fd, const std::string& pinPath) {
  Init_ init;
  init.fd = fd;
  init.pinPath = pinPath;
  return GetAddonData(env).bpfMap.New({Napi::External<Init_>::New(env, &init)});
}

BpfMap* BpfMap::FromValue(Napi::Env env, const Napi::Value& value) {
  if (!value.IsObject()) return nullptr;
  Napi::Object obj = value.As<Napi::Object>();
  if (!obj.InstanceOf(GetAddonData(env).bpfMap.Value())) return nullptr;
  return Napi::ObjectWrap<BpfMap>::Unwrap(obj);
}

MapShape BpfMap::Shape() const {
  if (map_ == nullptr) return standaloneShape_;
  return MakeShape(name_, bpf_map__type(map_), bpf_map__key_size(map_), bpf_map__value_size(map_),
                   bpf_map__max_entries(map_), bpf_map__map_flags(map_));
}

void BpfMap::CheckUsable(Napi::Env env, const std::string& what) const {
  if (IsDisposed()) ThrowCoded(env, kErrDisposed, what + ": BpfMap '" + name_ + "' is disposed");
  // Checked before anything touches map_, which dies with its object.
  if (owner_ != nullptr) owner_->CheckUsable(env, what + " (map '" + name_ + "')");
}

void BpfMap::CheckBeforeLoad(Napi::Env env, const std::string& what) const {
  CheckUsable(env, what);
  if (map_ == nullptr) {
    ThrowCoded(env, kErrAlreadyLoaded, what + ": map '" + name_ + "' already exists in the kernel; "
                                              "this is only possible for maps of a BpfObject before load()");
  }
  owner_->CheckNotLoaded(env, what + " (map '" + name_ + "')");
}

int BpfMap::UsableFd(Napi::Env env, const std::string& what) {
  CheckUsable(env, what);
  if (map_ == nullptr) return fd_;
  owner_->CheckLoaded(env, what + " (map '" + name_ + "')");
  return bpf_map__fd(map_);
}

uint32_t BpfMap::IdOrZero() {
  if (id_ != 0) return id_;
  if (map_ == nullptr || owner_ == nullptr || owner_->GetState() != BpfObject::State::Loaded) return 0;
  bpf_map_info mi;
  if (MapInfoByFd(bpf_map__fd(map_), &mi) == 0) id_ = mi.id;
  return id_;
}

void BpfMap::EnterOperation() {
  Ref();
  Enter();
  if (owner_ != nullptr) owner_->Enter();
}

void BpfMap::LeaveOperation() {
  // owner_ is still set: Release() waits for this operation to leave.
  if (owner_ != nullptr) owner_->Leave();
  Leave();
  Unref();
}

Napi::Value BpfMap::GetName(const Napi::CallbackInfo& info) {
  CheckUsable(info.Env(), "name");
  return Napi::String::New(info.Env(), Shape().name);
}

Napi::Value BpfMap::GetType(const Napi::CallbackInfo& info) {
  CheckUsable(info.Env(), "type");
  return Napi::Number::New(info.Env(), Shape().type);
}

Napi::Value BpfMap::GetKeySize(const Napi::CallbackInfo& info) {
  CheckUsable(info.Env(), "keySize");
  return Napi::Number::New(info.Env(), Shape().keySize);
}

Napi::Value BpfMap::GetValueSize(const Napi::CallbackInfo& info) {
  CheckUsable(info.Env(), "valueSize");
  return Napi::Number::New(info.Env(), Shape().valueSize);
}

Napi::Value BpfMap::GetMaxEntries(const Napi::CallbackInfo& info) {
  CheckUsable(info.Env(), "maxEntries");
  return Napi::Number::New(info.Env(), Shape().maxEntries);
}

Napi::Value BpfMap::GetFlags(const Napi::CallbackInfo& info) {
  CheckUsable(info.Env(), "flags");
  return Napi::Number::New(info.Env(), Shape().flags);
}

Napi::Value BpfMap::GetId(const Napi::CallbackInfo& info) {
  UsableFd(info.Env(), "id");
  return Napi::Number::New(info.Env(), IdOrZero());
}

Napi::Value BpfMap::GetFd(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), UsableFd(info.Env(), "fd"));
}

Napi::Value BpfMap::GetPinPath(const Napi::CallbackInfo& info) {
  CheckUsable(info.Env(), "pinPath");
  if (map_ != nullptr && bpf_map__pin_path(map_) != nullptr) return Napi::String::New(info.Env(), bpf_map__pin_path(map_));
  if (pinPath_.empty()) return info.Env().Null();
  return Napi::String::New(info.Env(), pinPath_);
}

Napi::Value BpfMap::GetDisposed(const Napi::CallbackInfo& info) {
  bool disposed = IsDisposed() || (owner_ != nullptr && owner_->IsDisposed());
  return Napi::Boolean::New(info.Env(), disposed);
}

Napi::Value BpfMap::Info(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  CheckUsable(env, "info");
  MapShape shape = Shape();
  bool live = map_ == nullptr || owner_->GetState() == BpfObject::State::Loaded;
  Napi::Object out = Napi::Object::New(env);
  out.Set("name", shape.name);
  out.Set("type", Napi::Number::New(env, shape.type));
  out.Set("keySize", Napi::Number::New(env, shape.keySize));
  out.Set("valueSize", Napi::Number::New(env, shape.valueSize));
  out.Set("maxEntries", Napi::Number::New(env, shape.maxEntries));
  out.Set("flags", Napi::Number::New(env, shape.flags));
  out.Set("id", live ? Napi::Number::New(env, IdOrZero()) : env.Null());
  out.Set("fd", live ? Napi::Number::New(env, map_ == nullptr ? fd_ : bpf_map__fd(map_)) : env.Null());
  return out;
}

Napi::Value BpfMap::SetMaxEntries(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  uint32_t n = ExpectU32(info[0], "setMaxEntries: maxEntries");
  CheckBeforeLoad(env, "setMaxEntries");
  int r = bpf_map__set_max_entries(map_, n);
  if (r != 0) ThrowSys(env, -r, "bpf_map__set_max_entries", "set max_entries of map '" + Name() + "'");
  return env.Undefined();
}

Napi::Value BpfMap::SetPinPath(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string path = ExpectString(info[0], "setPinPath: path");
  CheckBeforeLoad(env, "setPinPath");
  int r = bpf_map__set_pin_path(map_, path.c_str());
  if (r != 0) ThrowSys(env, -r, "bpf_map__set_pin_path", "set pin path of map '" + Name() + "'", "", path);
  return env.Undefined();
}

namespace {

// libbpf's own rule for reusing a pinned map (map_is_reuse_compat): the same type, sizes and flags.
std::string Incompatibility(const MapShape& want, const bpf_map_info& have) {
  auto differ = [](const char* field, uint32_t a, uint32_t b) {
    return std::string(field) + " " + std::to_string(b) + " (the object's map has " + std::to_string(a) + ")";
  };
  if (want.type != have.type) return differ("type", want.type, have.type);
  if (want.keySize != have.key_size) return differ("key size", want.keySize, have.key_size);
  if (want.valueSize != have.value_size) return differ("value size", want.valueSize, have.value_size);
  if (want.maxEntries != have.max_entries) return differ("max_entries", want.maxEntries, have.max_entries);
  if (want.flags != have.map_flags) return differ("flags", want.flags, have.map_flags);
  return "";
}

}  // namespace

Napi::Value BpfMap::ReuseFd(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd;
  if (BpfMap* other = FromValue(env, info[0])) {
    fd = other->UsableFd(env, "reuseFd");
  } else {
    fd = static_cast<int>(ExpectU32(info[0], "reuseFd: fd"));
  }
  CheckBeforeLoad(env, "reuseFd");
  // libbpf dups the fd, so the caller keeps ownership of its own.
  int r = bpf_map__reuse_fd(map_, fd);
  if (r != 0) ThrowSys(env, -r, "bpf_map__reuse_fd", "reuse fd " + std::to_string(fd) + " for map '" + Name() + "'");
  return env.Undefined();
}

Napi::Value BpfMap::ReusePinned(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string path = ExpectString(info[0], "reusePinned: path");
  CheckBeforeLoad(env, "reusePinned");
  std::string action = "reuse pinned map " + path + " for map '" + Name() + "'";
  std::string kind;
  int fd = OpenPinned(path, "map", &kind);
  if (fd < 0) {
    ThrowSys(env, -fd, "bpf_obj_get", action, kind.empty() ? "" : "the pin is a BPF " + kind + ", not a map", path);
  }
  bpf_map_info mi;
  int err = MapInfoByFd(fd, &mi);
  std::string why = err == 0 ? Incompatibility(Shape(), mi) : "";
  if (err == 0 && why.empty()) err = bpf_map__reuse_fd(map_, fd) == 0 ? 0 : errno;
  close(fd);
  if (!why.empty()) ThrowCoded(env, kErrIncompatible, action + ": the pinned map has " + why);
  if (err != 0) ThrowSys(env, err, "bpf_map__reuse_fd", action, "", path);
  return env.Undefined();
}

Napi::Value BpfMap::Pin(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string path = ExpectString(info[0], "pin: path");
  int fd = UsableFd(env, "pin");
  std::string action = "pin map '" + Name() + "' at " + path;
  if (map_ != nullptr) {
    // Through libbpf, so the object knows the map is pinned (unpinMaps, pinPath).
    LibbpfLogCapture capture;
    int r = bpf_map__pin(map_, path.c_str());
    if (r != 0) ThrowSys(env, -r, "bpf_map__pin", action, LastLibbpfLine(capture.Text()), path);
  } else if (bpf_obj_pin(fd, path.c_str()) != 0) {
    ThrowSys(env, errno, "bpf_obj_pin", action, errno == ENOENT ? "the directory does not exist or is not on bpffs" : "", path);
  }
  pinPath_ = path;
  return env.Undefined();
}

Napi::Value BpfMap::Unpin(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  CheckUsable(env, "unpin");
  std::string path;
  if (!info[0].IsUndefined()) {
    path = ExpectString(info[0], "unpin: path");
  } else if (map_ != nullptr && bpf_map__pin_path(map_) != nullptr) {
    path = bpf_map__pin_path(map_);
  } else {
    path = pinPath_;
  }
  if (path.empty()) ThrowType(env, "unpin: map '" + Name() + "' was not pinned by this handle; pass the path");
  std::string action = "unpin map '" + Name() + "' from " + path;
  if (map_ != nullptr && bpf_map__pin_path(map_) != nullptr && path == bpf_map__pin_path(map_)) {
    int r = bpf_map__unpin(map_, nullptr);
    if (r != 0) ThrowSys(env, -r, "bpf_map__unpin", action, "", path);
  } else if (unlink(path.c_str()) != 0) {
    ThrowSys(env, errno, "unlink", action, "", path);
  }
  if (path == pinPath_) pinPath_.clear();
  return env.Undefined();
}

Napi::Value BpfMap::DisposeJs(const Napi::CallbackInfo& info) {
  Dispose();
  return info.Env().Undefined();
}

// ---- static constructors ----

Napi::Value BpfMap::Create(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsObject()) ThrowType(env, "BpfMap.create: options must be an object");
  Napi::Object options = info[0].As<Napi::Object>();
  const std::string what = "BpfMap.create: options";
  auto required = [&](const char* key) {
    std::optional<uint32_t> v = OptionalU32(options, key, what);
    if (!v) ThrowType(env, what + "." + key + " is required");
    return *v;
  };
  uint32_t type = required("type");
  uint32_t keySize = required("keySize");
  uint32_t valueSize = required("valueSize");
  uint32_t maxEntries = required("maxEntries");
  uint32_t flags = OptionalU32(options, "flags", what).value_or(0);
  std::string name = OptionalString(options, "name", what).value_or("");
  if (name.size() > 15) ThrowRange(env, what + ".name must be at most 15 characters (the kernel's limit), got '" + name + "'");

  LIBBPF_OPTS(bpf_map_create_opts, opts, .map_flags = flags);
  Napi::Value inner = options.Get("innerMap");
  if (!inner.IsUndefined()) {
    BpfMap* innerMap = FromValue(env, inner);
    if (innerMap == nullptr) ThrowType(env, what + ".innerMap must be a BpfMap");
    opts.inner_map_fd = static_cast<__u32>(innerMap->UsableFd(env, "BpfMap.create: innerMap"));
  } else if (std::optional<uint32_t> innerFd = OptionalU32(options, "innerMapFd", what)) {
    opts.inner_map_fd = *innerFd;
  }

  int fd = bpf_map_create(static_cast<enum bpf_map_type>(type), name.empty() ? nullptr : name.c_str(), keySize,
                          valueSize, maxEntries, &opts);
  if (fd < 0) {
    int err = errno;
    std::string hint = err == EPERM ? kHintBpfCaps
                       : err == EINVAL ? "check type, sizes, flags and, for map-in-map types, innerMap"
                                       : "";
    ThrowSys(env, err, "bpf_map_create", "create map" + (name.empty() ? "" : " '" + name + "'"), hint);
  }
  return NewFromFd(env, fd, "");
}

Napi::Value BpfMap::FromPinned(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string path = ExpectString(info[0], "BpfMap.fromPinned: path");
  std::string kind;
  int fd = OpenPinned(path, "map", &kind);
  if (fd < 0) {
    std::string hint = !kind.empty() ? "the pin is a BPF " + kind + ", not a map" : (-fd == EPERM ? kHintBpfCaps : "");
    ThrowSys(env, -fd, "bpf_obj_get", "open pinned map " + path, hint, path);
  }
  return NewFromFd(env, fd, path);
}

Napi::Value BpfMap::FromId(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  uint32_t id = ExpectU32(info[0], "BpfMap.fromId: id");
  int fd = bpf_map_get_fd_by_id(id);
  if (fd < 0) {
    int err = errno;
    ThrowSys(env, err, "bpf_map_get_fd_by_id", "open map id " + std::to_string(id), err == EPERM ? kHintSysAdmin : "");
  }
  return NewFromFd(env, fd, "");
}

}  // namespace xlb
