// bpf_link.cc - see bpf_link.h. XDP links are created with bpf_link_create(BPF_XDP) and the mode
// flag in opts.flags; update() is bpf_link_update, the atomic program swap a re-deploy relies on.
#include "bpf_link.h"

#include <bpf/bpf.h>
#include <linux/bpf.h>
#include <unistd.h>

#include <cerrno>

#include "addon_data.h"
#include "args.h"
#include "bpf_program.h"
#include "errors.h"
#include "fd_util.h"
#include "xdp_mode.h"

namespace xlb {

Napi::Function BpfLink::Init(Napi::Env env) {
  return DefineClass(env, "BpfLink",
                     {
                         StaticMethod<&BpfLink::AttachXdp>("attachXdp"),
                         StaticMethod<&BpfLink::AttachExtension>("attachExtension"),
                         StaticMethod<&BpfLink::FromPinned>("fromPinned"),
                         StaticMethod<&BpfLink::FromId>("fromId"),
                         InstanceAccessor<&BpfLink::GetFd>("fd"),
                         InstanceAccessor<&BpfLink::GetPinPath>("pinPath"),
                         InstanceAccessor<&BpfLink::GetDisposed>("disposed"),
                         InstanceMethod<&BpfLink::Info>("info"),
                         InstanceMethod<&BpfLink::Update>("update"),
                         InstanceMethod<&BpfLink::Detach>("detach"),
                         InstanceMethod<&BpfLink::Pin>("pin"),
                         InstanceMethod<&BpfLink::Unpin>("unpin"),
                         InstanceMethod<&BpfLink::DisposeJs>("dispose"),
                     });
}

BpfLink::BpfLink(const Napi::CallbackInfo& info) : Napi::ObjectWrap<BpfLink>(info) {
  Napi::Env env = info.Env();
  if (!IsInternalConstruction(info)) {
    ThrowType(env, "BpfLink cannot be constructed directly; use BpfLink.attachXdp(), BpfLink.fromPinned() or "
                   "BpfLink.fromId()");
  }
  auto* init = InternalInit<Init_>(info);
  fd_ = init->fd;
  pinPath_ = init->pinPath;
  bpf_link_info li;
  if (LinkInfoByFd(fd_, &li) == 0) id_ = li.id;
}

BpfLink::~BpfLink() { ReleaseFromFinalizer(); }

void BpfLink::Release() { CloseFd(fd_); }

Napi::Object BpfLink::NewFromFd(Napi::Env env, int fd, const std::string& pinPath) {
  Init_ init;
  init.fd = fd;
  init.pinPath = pinPath;
  return GetAddonData(env).bpfLink.New({Napi::External<Init_>::New(env, &init)});
}

std::string BpfLink::Describe() const { return "link " + std::to_string(id_); }

int BpfLink::UsableFd(Napi::Env env, const std::string& what) const {
  if (IsDisposed()) ThrowCoded(env, kErrDisposed, what + ": BpfLink " + std::to_string(id_) + " is disposed");
  return fd_;
}

Napi::Value BpfLink::AttachXdp(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  BpfProgram* prog = BpfProgram::Expect(env, info[0], "BpfLink.attachXdp: program");
  uint32_t ifindex = ExpectU32(info[1], "BpfLink.attachXdp: ifindex");
  if (!info[2].IsObject()) ThrowType(env, "BpfLink.attachXdp: options must be an object with mode 'skb', 'drv' or 'hw'");
  uint32_t mode = ParseXdpMode(env, info[2].As<Napi::Object>().Get("mode"), "BpfLink.attachXdp: options.mode");
  int progFd = prog->UsableFd(env, "BpfLink.attachXdp");
  LIBBPF_OPTS(bpf_link_create_opts, opts, .flags = mode);
  int fd = bpf_link_create(progFd, static_cast<int>(ifindex), BPF_XDP, &opts);
  if (fd < 0) {
    int err = errno;
    ThrowSys(env, err, "bpf_link_create",
             "attach XDP program '" + prog->Name() + "' to ifindex " + std::to_string(ifindex) + " in " + XdpModeName(mode) + " mode",
             XdpAttachHint(err, mode, ifindex));
  }
  return NewFromFd(env, fd, "");
}

// An extension (BPF_PROG_TYPE_EXT, "freplace") program, loaded for a function of a target program
// (BpfProgram.setAttachTarget), replaces that function from the moment the link exists. With target
// bpf_raw_tracepoint_open with no name attaches a tracing/extension program to the target named at
// load (what libbpf itself does for a freplace program without a new target).
Napi::Value BpfLink::AttachExtension(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  BpfProgram* prog = BpfProgram::Expect(env, info[0], "BpfLink.attachExtension: program");
  int progFd = prog->UsableFd(env, "BpfLink.attachExtension");
  int fd = bpf_raw_tracepoint_open(nullptr, progFd);
  if (fd < 0) {
    int err = errno;
    ThrowSys(env, err, "bpf_raw_tracepoint_open", "attach extension program '" + prog->Name() + "' to its target function",
             err == EINVAL ? "the program is not an extension loaded for a target (setAttachTarget before load), or the target is gone" : "");
  }
  return NewFromFd(env, fd, "");
}

Napi::Value BpfLink::FromPinned(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string path = ExpectString(info[0], "BpfLink.fromPinned: path");
  std::string kind;
  int fd = OpenPinned(path, "link", &kind);
  if (fd < 0) {
    std::string hint = !kind.empty() ? "the pin is a BPF " + kind + ", not a link" : (-fd == EPERM ? kHintBpfCaps : "");
    ThrowSys(env, -fd, "bpf_obj_get", "open pinned link " + path, hint, path);
  }
  return NewFromFd(env, fd, path);
}

Napi::Value BpfLink::FromId(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  uint32_t id = ExpectU32(info[0], "BpfLink.fromId: id");
  int fd = bpf_link_get_fd_by_id(id);
  if (fd < 0) {
    int err = errno;
    ThrowSys(env, err, "bpf_link_get_fd_by_id", "open link id " + std::to_string(id), err == EPERM ? kHintSysAdmin : "");
  }
  return NewFromFd(env, fd, "");
}

Napi::Value BpfLink::GetFd(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), UsableFd(info.Env(), "fd")); }

Napi::Value BpfLink::GetPinPath(const Napi::CallbackInfo& info) {
  if (pinPath_.empty()) return info.Env().Null();
  return Napi::String::New(info.Env(), pinPath_);
}

Napi::Value BpfLink::GetDisposed(const Napi::CallbackInfo& info) { return Napi::Boolean::New(info.Env(), IsDisposed()); }

Napi::Value BpfLink::Info(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = UsableFd(env, "info");
  bpf_link_info li;
  int err = LinkInfoByFd(fd, &li);
  if (err != 0) ThrowSys(env, err, "bpf_obj_get_info_by_fd", "read info of " + Describe());
  Napi::Object out = Napi::Object::New(env);
  out.Set("id", Napi::Number::New(env, li.id));
  out.Set("type", Napi::Number::New(env, li.type));
  out.Set("progId", Napi::Number::New(env, li.prog_id));
  // A detached XDP link reports ifindex 0.
  out.Set("ifindex", li.type == BPF_LINK_TYPE_XDP ? Napi::Number::New(env, li.xdp.ifindex).As<Napi::Value>() : env.Null());
  return out;
}

Napi::Value BpfLink::Update(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  BpfProgram* prog = BpfProgram::Expect(env, info[0], "update: program");
  Napi::Object options = OptionsArg(info, 1, "update: options");
  int fd = UsableFd(env, "update");
  int progFd = prog->UsableFd(env, "update");
  LIBBPF_OPTS(bpf_link_update_opts, opts);
  Napi::Value expected = options.Get("expectedProgram");
  if (!expected.IsUndefined()) {
    // Compare-and-swap: fails with EPERM unless the link still runs expectedProgram.
    opts.flags = BPF_F_REPLACE;
    opts.old_prog_fd = BpfProgram::Expect(env, expected, "update: options.expectedProgram")->UsableFd(env, "update");
  }
  if (bpf_link_update(fd, progFd, &opts) != 0) {
    int err = errno;
    std::string hint = err == ENOLINK ? "the link is detached" : err == EPERM && opts.flags ? "the link no longer runs expectedProgram" : "";
    ThrowSys(env, err, "bpf_link_update", "update " + Describe() + " to program '" + prog->Name() + "'", hint);
  }
  return env.Undefined();
}

Napi::Value BpfLink::Detach(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = UsableFd(env, "detach");
  if (bpf_link_detach(fd) != 0) ThrowSys(env, errno, "bpf_link_detach", "detach " + Describe());
  return env.Undefined();
}

Napi::Value BpfLink::Pin(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string path = ExpectString(info[0], "pin: path");
  int fd = UsableFd(env, "pin");
  if (bpf_obj_pin(fd, path.c_str()) != 0) {
    int err = errno;
    ThrowSys(env, err, "bpf_obj_pin", "pin " + Describe() + " at " + path,
             err == ENOENT ? "the directory does not exist or is not on bpffs" : "", path);
  }
  pinPath_ = path;
  return env.Undefined();
}

Napi::Value BpfLink::Unpin(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  UsableFd(env, "unpin");
  std::string path = info[0].IsUndefined() ? pinPath_ : ExpectString(info[0], "unpin: path");
  if (path.empty()) ThrowType(env, "unpin: " + Describe() + " was not pinned by this handle; pass the path");
  if (unlink(path.c_str()) != 0) ThrowSys(env, errno, "unlink", "unpin " + Describe() + " from " + path, "", path);
  if (path == pinPath_) pinPath_.clear();
  return env.Undefined();
}

Napi::Value BpfLink::DisposeJs(const Napi::CallbackInfo& info) {
  Dispose();
  return info.Env().Undefined();
}

}  // namespace xlb
