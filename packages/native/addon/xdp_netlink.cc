// xdp_netlink.cc - xdpQuery, xdpAttachNetlink, xdpDetachNetlink: the netlink side of XDP
// (bpf_xdp_query / bpf_xdp_attach / bpf_xdp_detach). All of them talk to the network namespace of
// the calling thread, so they are synchronous and safe to use inside inNetns().
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/bpf.h>
#include <linux/if_link.h>
#include <unistd.h>

#include <cerrno>

#include "args.h"
#include "bpf_program.h"
#include "errors.h"
#include "fd_util.h"
#include "module_functions.h"
#include "xdp_mode.h"

namespace xlb {

namespace {

const char* AttachModeName(uint8_t mode) {
  switch (mode) {
    case XDP_ATTACHED_NONE: return "none";
    case XDP_ATTACHED_DRV: return "drv";
    case XDP_ATTACHED_SKB: return "skb";
    case XDP_ATTACHED_HW: return "hw";
    case XDP_ATTACHED_MULTI: return "multi";
    default: return "unknown";
  }
}

// The id of an XDP link on ifindex that runs one of the given programs, 0 if there is none, -1 if
// this process may not walk the links (that needs CAP_SYS_ADMIN). Netlink does not say whether a
// program came through a link, so walk all links; a link's info has only the ifindex (no
// namespace), hence the program id check as well.
int64_t FindXdpLink(uint32_t ifindex, const bpf_xdp_query_opts& q) {
  uint32_t id = 0;
  for (;;) {
    if (bpf_link_get_next_id(id, &id) != 0) return errno == ENOENT ? 0 : -1;
    int fd = bpf_link_get_fd_by_id(id);
    if (fd < 0) {
      if (errno == EPERM) return -1;
      continue;  // vanished meanwhile
    }
    bpf_link_info li;
    bool match = LinkInfoByFd(fd, &li) == 0 && li.type == BPF_LINK_TYPE_XDP && li.xdp.ifindex == ifindex &&
                 li.prog_id != 0 &&
                 (li.prog_id == q.skb_prog_id || li.prog_id == q.drv_prog_id || li.prog_id == q.hw_prog_id);
    close(fd);
    if (match) return id;
  }
}

Napi::Value XdpQuery(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  uint32_t ifindex = ExpectU32(info[0], "xdpQuery: ifindex");
  LIBBPF_OPTS(bpf_xdp_query_opts, q);
  int r = bpf_xdp_query(static_cast<int>(ifindex), 0, &q);
  if (r != 0) {
    int err = -r;
    ThrowSys(env, err, "bpf_xdp_query", "query XDP on ifindex " + std::to_string(ifindex),
             err == ENODEV || err == EINVAL ? "no interface with this ifindex in this network namespace" : "");
  }
  Napi::Object out = Napi::Object::New(env);
  out.Set("mode", AttachModeName(q.attach_mode));
  out.Set("progId", Napi::Number::New(env, q.prog_id));
  out.Set("skbProgId", Napi::Number::New(env, q.skb_prog_id));
  out.Set("drvProgId", Napi::Number::New(env, q.drv_prog_id));
  out.Set("hwProgId", Napi::Number::New(env, q.hw_prog_id));
  if (q.attach_mode == XDP_ATTACHED_NONE) {
    out.Set("attachment", env.Null());
    return out;
  }
  int64_t linkId = FindXdpLink(ifindex, q);
  if (linkId < 0) {
    // Guessing 'netlink' would send a caller to detach through netlink what a link holds.
    ThrowSys(env, EPERM, "bpf_link_get_fd_by_id", "query XDP on ifindex " + std::to_string(ifindex),
             "telling a link from a netlink attachment needs CAP_SYS_ADMIN");
  }
  out.Set("attachment", linkId > 0 ? "link" : "netlink");
  if (linkId > 0) out.Set("linkId", Napi::Number::New(env, static_cast<double>(linkId)));
  return out;
}

Napi::Value XdpAttachNetlink(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  uint32_t ifindex = ExpectU32(info[0], "xdpAttachNetlink: ifindex");
  BpfProgram* prog = BpfProgram::Expect(env, info[1], "xdpAttachNetlink: program");
  uint32_t mode = ParseXdpMode(env, info[2], "xdpAttachNetlink: mode");
  uint32_t flags = info[3].IsUndefined() ? 0 : ExpectU32(info[3], "xdpAttachNetlink: flags");
  int progFd = prog->UsableFd(env, "xdpAttachNetlink");
  int r = bpf_xdp_attach(static_cast<int>(ifindex), progFd, mode | flags, nullptr);
  if (r != 0) {
    int err = -r;
    std::string hint = XdpAttachHint(err, mode, ifindex);
    if (err == EBUSY || err == EEXIST) {
      hint = (flags & XDP_FLAGS_UPDATE_IF_NOEXIST) ? "a program is already attached and flags has XDP_FLAGS_UPDATE_IF_NOEXIST"
                                                   : "an XDP link owns this interface; a link cannot be replaced through netlink";
    }
    ThrowSys(env, err, "bpf_xdp_attach",
             "attach XDP program '" + prog->Name() + "' to ifindex " + std::to_string(ifindex) + " in " + XdpModeName(mode) + " mode",
             hint);
  }
  return env.Undefined();
}

Napi::Value XdpDetachNetlink(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  uint32_t ifindex = ExpectU32(info[0], "xdpDetachNetlink: ifindex");
  uint32_t mode = ParseXdpMode(env, info[1], "xdpDetachNetlink: mode");
  int r = bpf_xdp_detach(static_cast<int>(ifindex), mode, nullptr);
  if (r != 0) {
    int err = -r;
    ThrowSys(env, err, "bpf_xdp_detach", "detach XDP from ifindex " + std::to_string(ifindex) + " in " + XdpModeName(mode) + " mode",
             err == EBUSY ? "the program is attached through a link; detach the link instead" : XdpAttachHint(err, mode, ifindex));
  }
  return env.Undefined();
}

}  // namespace

void RegisterXdpFunctions(Napi::Env env, Napi::Object exports) {
  exports.Set("xdpQuery", Napi::Function::New<XdpQuery>(env, "xdpQuery"));
  exports.Set("xdpAttachNetlink", Napi::Function::New<XdpAttachNetlink>(env, "xdpAttachNetlink"));
  exports.Set("xdpDetachNetlink", Napi::Function::New<XdpDetachNetlink>(env, "xdpDetachNetlink"));
}

}  // namespace xlb
