// xdp_mode.cc - see xdp_mode.h.
#include "xdp_mode.h"

#include <linux/if_link.h>

#include <cerrno>

#include "errors.h"

namespace xlb {

uint32_t ParseXdpMode(Napi::Env env, const Napi::Value& value, const std::string& what) {
  if (value.IsString()) {
    std::string mode = value.As<Napi::String>().Utf8Value();
    if (mode == "skb") return XDP_FLAGS_SKB_MODE;
    if (mode == "drv") return XDP_FLAGS_DRV_MODE;
    if (mode == "hw") return XDP_FLAGS_HW_MODE;
  }
  ThrowType(env, what + " must be 'skb', 'drv' or 'hw'");
}

const char* XdpModeName(uint32_t modeFlag) {
  switch (modeFlag) {
    case XDP_FLAGS_SKB_MODE: return "skb";
    case XDP_FLAGS_DRV_MODE: return "drv";
    case XDP_FLAGS_HW_MODE: return "hw";
    default: return "unspecified";
  }
}

std::string XdpAttachHint(int err, uint32_t modeFlag, uint32_t ifindex) {
  // A device without offload support answers a hw request with EINVAL (veth) or EOPNOTSUPP.
  if (modeFlag == XDP_FLAGS_HW_MODE && (err == EINVAL || err == EOPNOTSUPP || err == 524 || err == ENODEV)) {
    return "offload (hw) XDP is not supported by this interface";
  }
  switch (err) {
    case EPERM: return kHintBpfCaps;
    case ENODEV: return "no interface with ifindex " + std::to_string(ifindex) + " in this network namespace";
    case EBUSY:
    case EEXIST: return "another XDP program is already attached to this interface; detach it first";
    case EOPNOTSUPP:
      return modeFlag == XDP_FLAGS_DRV_MODE ? "the driver has no native XDP support; use mode 'skb'" : "";
    case EINVAL: return "the program must be of type XDP; the interface may not accept this mode";
    default: return "";
  }
}

}  // namespace xlb
