// bpf_program.cc - see bpf_program.h. Test runs live in program_test_run.cc.
#include "bpf_program.h"

#include <bpf/bpf.h>
#include <unistd.h>

#include <cerrno>

#include "addon_data.h"
#include "args.h"
#include "bpf_object.h"
#include "errors.h"
#include "fd_util.h"

namespace xlb {

Napi::Function BpfProgram::Init(Napi::Env env) {
  return DefineClass(env, "BpfProgram",
                     {
                         StaticMethod<&BpfProgram::FromPinned>("fromPinned"),
                         StaticMethod<&BpfProgram::FromId>("fromId"),
                         InstanceAccessor<&BpfProgram::GetName>("name"),
                         InstanceAccessor<&BpfProgram::GetType>("type"),
                         InstanceAccessor<&BpfProgram::GetSection>("section"),
                         InstanceAccessor<&BpfProgram::GetFd>("fd"),
                         InstanceAccessor<&BpfProgram::GetId>("id"),
                         InstanceAccessor<&BpfProgram::GetTag>("tag"),
                         InstanceAccessor<&BpfProgram::GetDisposed>("disposed"),
                         InstanceMethod<&BpfProgram::Info>("info"),
                         InstanceMethod<&BpfProgram::TestRun>("testRun"),
                         InstanceMethod<&BpfProgram::TestRunAsync>("testRunAsync"),
                         InstanceMethod<&BpfProgram::SetAttachTarget>("setAttachTarget"),
                         InstanceMethod<&BpfProgram::Pin>("pin"),
                         InstanceMethod<&BpfProgram::Unpin>("unpin"),
                         InstanceMethod<&BpfProgram::DisposeJs>("dispose"),
                     });
}

BpfProgram::BpfProgram(const Napi::CallbackInfo& info) : Napi::ObjectWrap<BpfProgram>(info) {
  Napi::Env env = info.Env();
  if (!IsInternalConstruction(info)) {
    ThrowType(env, "BpfProgram cannot be constructed directly; use BpfObject.program(), BpfProgram.fromPinned() "
                   "or BpfProgram.fromId()");
  }
  auto* init = InternalInit<Init_>(info);
  if (init->prog != nullptr) {
    prog_ = init->prog;
    name_ = bpf_program__name(prog_);
    owner_ = Napi::ObjectWrap<BpfObject>::Unwrap(init->owner);
    ownerRef_ = Napi::Persistent(init->owner);
    return;
  }
  fd_ = init->fd;
  int err = ProgInfoByFd(fd_, &info_);
  if (err != 0) {
    CloseFd(fd_);
    ThrowSys(env, err, "bpf_obj_get_info_by_fd", "read program info");
  }
  haveInfo_ = true;
  name_ = info_.name;
}

BpfProgram::~BpfProgram() { ReleaseFromFinalizer(); }

void BpfProgram::Release() {
  CloseFd(fd_);
  prog_ = nullptr;
  owner_ = nullptr;
  if (!ownerRef_.IsEmpty()) ownerRef_.Reset();
}

Napi::Object BpfProgram::NewFromObject(Napi::Env env, Napi::Object owner, bpf_program* prog) {
  Init_ init;
  init.prog = prog;
  init.owner = owner;
  return GetAddonData(env).bpfProgram.New({Napi::External<Init_>::New(env, &init)});
}

Napi::Object BpfProgram::NewFromFd(Napi::Env env, int fd) {
  Init_ init;
  init.fd = fd;
  return GetAddonData(env).bpfProgram.New({Napi::External<Init_>::New(env, &init)});
}

BpfProgram* BpfProgram::FromValue(Napi::Env env, const Napi::Value& value) {
  if (!value.IsObject()) return nullptr;
  Napi::Object obj = value.As<Napi::Object>();
  if (!obj.InstanceOf(GetAddonData(env).bpfProgram.Value())) return nullptr;
  return Napi::ObjectWrap<BpfProgram>::Unwrap(obj);
}

BpfProgram* BpfProgram::Expect(Napi::Env env, const Napi::Value& value, const std::string& what) {
  BpfProgram* prog = FromValue(env, value);
  if (prog == nullptr) ThrowType(env, what + " must be a BpfProgram");
  return prog;
}

void BpfProgram::CheckUsable(Napi::Env env, const std::string& what) const {
  if (IsDisposed()) ThrowCoded(env, kErrDisposed, what + ": BpfProgram '" + name_ + "' is disposed");
  // Checked before anything touches prog_, which dies with its object.
  if (owner_ != nullptr) owner_->CheckUsable(env, what + " (program '" + Name() + "')");
}

int BpfProgram::UsableFd(Napi::Env env, const std::string& what) {
  CheckUsable(env, what);
  if (prog_ == nullptr) return fd_;
  owner_->CheckLoaded(env, what + " (program '" + Name() + "')");
  return bpf_program__fd(prog_);
}

const bpf_prog_info& BpfProgram::LoadedInfo(Napi::Env env, const std::string& what) {
  int fd = UsableFd(env, what);
  if (!haveInfo_) {
    int err = ProgInfoByFd(fd, &info_);
    if (err != 0) ThrowSys(env, err, "bpf_obj_get_info_by_fd", "read info of program '" + Name() + "'");
    haveInfo_ = true;
  }
  return info_;
}

void BpfProgram::EnterOperation() {
  Ref();
  Enter();
  if (owner_ != nullptr) owner_->Enter();
}

void BpfProgram::LeaveOperation() {
  if (owner_ != nullptr) owner_->Leave();
  Leave();
  Unref();
}

Napi::Value BpfProgram::GetName(const Napi::CallbackInfo& info) {
  CheckUsable(info.Env(), "name");
  return Napi::String::New(info.Env(), Name());
}

Napi::Value BpfProgram::GetType(const Napi::CallbackInfo& info) {
  CheckUsable(info.Env(), "type");
  uint32_t type = prog_ != nullptr ? static_cast<uint32_t>(bpf_program__type(prog_)) : info_.type;
  return Napi::Number::New(info.Env(), type);
}

Napi::Value BpfProgram::GetSection(const Napi::CallbackInfo& info) {
  CheckUsable(info.Env(), "section");
  if (prog_ == nullptr) return info.Env().Null();
  return Napi::String::New(info.Env(), bpf_program__section_name(prog_));
}

Napi::Value BpfProgram::GetFd(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), UsableFd(info.Env(), "fd")); }

Napi::Value BpfProgram::GetId(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), LoadedInfo(info.Env(), "id").id);
}

Napi::Value BpfProgram::GetTag(const Napi::CallbackInfo& info) {
  const bpf_prog_info& pi = LoadedInfo(info.Env(), "tag");
  return Napi::String::New(info.Env(), TagHex(pi.tag, sizeof(pi.tag)));
}

Napi::Value BpfProgram::GetDisposed(const Napi::CallbackInfo& info) {
  bool disposed = IsDisposed() || (owner_ != nullptr && owner_->IsDisposed());
  return Napi::Boolean::New(info.Env(), disposed);
}

Napi::Value BpfProgram::Info(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const bpf_prog_info& pi = LoadedInfo(env, "info");
  Napi::Object out = Napi::Object::New(env);
  out.Set("name", Name());
  out.Set("type", Napi::Number::New(env, pi.type));
  out.Set("id", Napi::Number::New(env, pi.id));
  out.Set("tag", TagHex(pi.tag, sizeof(pi.tag)));
  out.Set("fd", Napi::Number::New(env, UsableFd(env, "info")));
  return out;
}

// bpf_program__set_attach_target: before load, names the function an extension (freplace) or
// tracing program attaches to: a global function of a loaded program (target given) or a kernel
// function (target null). The kernel checks the pairing at load, so it must be set first.
Napi::Value BpfProgram::SetAttachTarget(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const std::string what = "setAttachTarget";
  CheckUsable(env, what);
  if (prog_ == nullptr) ThrowType(env, what + ": program '" + name_ + "' is already loaded (a standalone fd); set the target on a program of an unloaded BpfObject");
  owner_->CheckNotLoaded(env, what + " (program '" + Name() + "')");
  int targetFd = 0;
  if (!info[0].IsNull()) {
    BpfProgram* target = Expect(env, info[0], what + ": target");
    targetFd = target->UsableFd(env, what + ": target");
  }
  std::string func = ExpectString(info[1], what + ": function name");
  int r = bpf_program__set_attach_target(prog_, targetFd, func.c_str());
  if (r != 0) ThrowSys(env, -r, "bpf_program__set_attach_target", "set the attach target of program '" + Name() + "' to " + func);
  return env.Undefined();
}

Napi::Value BpfProgram::Pin(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string path = ExpectString(info[0], "pin: path");
  int fd = UsableFd(env, "pin");
  if (bpf_obj_pin(fd, path.c_str()) != 0) {
    int err = errno;
    ThrowSys(env, err, "bpf_obj_pin", "pin program '" + Name() + "' at " + path,
             err == ENOENT ? "the directory does not exist or is not on bpffs" : "", path);
  }
  pinPath_ = path;
  return env.Undefined();
}

Napi::Value BpfProgram::Unpin(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  CheckUsable(env, "unpin");
  std::string path = info[0].IsUndefined() ? pinPath_ : ExpectString(info[0], "unpin: path");
  if (path.empty()) ThrowType(env, "unpin: program '" + Name() + "' was not pinned by this handle; pass the path");
  if (unlink(path.c_str()) != 0) ThrowSys(env, errno, "unlink", "unpin program '" + Name() + "' from " + path, "", path);
  if (path == pinPath_) pinPath_.clear();
  return env.Undefined();
}

Napi::Value BpfProgram::DisposeJs(const Napi::CallbackInfo& info) {
  Dispose();
  return info.Env().Undefined();
}

Napi::Value BpfProgram::FromPinned(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string path = ExpectString(info[0], "BpfProgram.fromPinned: path");
  std::string kind;
  int fd = OpenPinned(path, "prog", &kind);
  if (fd < 0) {
    std::string hint = !kind.empty() ? "the pin is a BPF " + kind + ", not a program" : (-fd == EPERM ? kHintBpfCaps : "");
    ThrowSys(env, -fd, "bpf_obj_get", "open pinned program " + path, hint, path);
  }
  Napi::Object prog = NewFromFd(env, fd);
  Napi::ObjectWrap<BpfProgram>::Unwrap(prog)->pinPath_ = path;
  return prog;
}

Napi::Value BpfProgram::FromId(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  uint32_t id = ExpectU32(info[0], "BpfProgram.fromId: id");
  int fd = bpf_prog_get_fd_by_id(id);
  if (fd < 0) {
    int err = errno;
    ThrowSys(env, err, "bpf_prog_get_fd_by_id", "open program id " + std::to_string(id), err == EPERM ? kHintSysAdmin : "");
  }
  return NewFromFd(env, fd);
}

}  // namespace xlb
