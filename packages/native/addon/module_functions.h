// module_functions.h - the free functions of the addon, registered on exports by addon.cc. Each
// group lives in its own file.
#pragma once

#include <napi.h>

namespace xlb {

void RegisterXdpFunctions(Napi::Env env, Napi::Object exports);     // xdp_netlink.cc
void RegisterNetnsFunctions(Napi::Env env, Napi::Object exports);   // netns.cc
void RegisterSystemFunctions(Napi::Env env, Napi::Object exports);  // system_info.cc
void RegisterFileLockFunctions(Napi::Env env, Napi::Object exports); // file_lock.cc
void RegisterConstants(Napi::Env env, Napi::Object exports);        // constants.cc

}  // namespace xlb
