// errors.h - Node-style errors for the addon: system errors built from libbpf/syscall failures
// (code, errno, syscall, path, a message naming the object) and the few addon-specific codes.
#pragma once

#include <napi.h>

#include <string>

namespace xlb {

// Error codes of our own (not errno): misuse of a handle's life cycle.
inline constexpr const char* kErrDisposed = "ERR_LB_DISPOSED";
inline constexpr const char* kErrNotLoaded = "ERR_LB_NOT_LOADED";
inline constexpr const char* kErrAlreadyLoaded = "ERR_LB_ALREADY_LOADED";
inline constexpr const char* kErrLoadFailed = "ERR_LB_LOAD_FAILED";
inline constexpr const char* kErrNotFound = "ERR_LB_NOT_FOUND";
inline constexpr const char* kErrIncompatible = "ERR_LB_INCOMPATIBLE";

// Hints that several call sites share.
inline constexpr const char* kHintBpfCaps = "needs CAP_BPF and CAP_NET_ADMIN";
inline constexpr const char* kHintSysAdmin = "needs CAP_SYS_ADMIN";

// Everything needed to build a system error later. AsyncWorkers fill one on a pool thread, where no
// napi value may be created, and turn it into an Error on the JS thread.
struct SysFailure {
  int err = 0;              // positive errno, or one of libbpf's own codes (>= 4000)
  std::string syscall;      // the libbpf or libc function that failed: "bpf_object__load"
  std::string action;       // what was being done to what: "load verdict.bpf.o"
  std::string path;         // the file involved, if any
  std::string hint;         // why it probably failed, without parentheses
  std::string libbpfLog;    // what libbpf printed during the call, if captured
  std::string verifierLog;  // the verifier's log of the rejected program, if any
  long long count = -1;     // batch operations: elements processed before the failure
  std::string Message() const;
};

// "EPERM" for EPERM, "ENOTSUPP" for the kernel-internal 524, "ELIBBPF_FORMAT" for libbpf's codes.
std::string ErrnoCode(int err);
// strerror, or libbpf's text for its own codes.
std::string ErrnoText(int err);

Napi::Error MakeSysError(Napi::Env env, const SysFailure& failure);
[[noreturn]] void ThrowSys(Napi::Env env, const SysFailure& failure);
[[noreturn]] void ThrowSys(Napi::Env env, int err, const std::string& syscall, const std::string& action,
                           const std::string& hint = "", const std::string& path = "");

// An Error carrying only a code: life-cycle misuse such as a call after dispose().
[[noreturn]] void ThrowCoded(Napi::Env env, const char* code, const std::string& message);
[[noreturn]] void ThrowType(Napi::Env env, const std::string& message);
[[noreturn]] void ThrowRange(Napi::Env env, const std::string& message);

}  // namespace xlb
