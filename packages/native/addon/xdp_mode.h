// xdp_mode.h - XDP attach modes by name ('skb' | 'drv' | 'hw', libbpf's and iproute2's words) and
// the hints that explain attach failures.
#pragma once

#include <napi.h>

#include <cstdint>
#include <string>

namespace xlb {

// XDP_FLAGS_SKB_MODE / XDP_FLAGS_DRV_MODE / XDP_FLAGS_HW_MODE; TypeError for anything else.
uint32_t ParseXdpMode(Napi::Env env, const Napi::Value& value, const std::string& what);
const char* XdpModeName(uint32_t modeFlag);
// Why an XDP attach in this mode most likely failed with err (empty when nothing useful to say).
std::string XdpAttachHint(int err, uint32_t modeFlag, uint32_t ifindex);

}  // namespace xlb
