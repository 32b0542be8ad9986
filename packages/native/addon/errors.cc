// errors.cc - see errors.h. Shape follows Node's own system errors (node::ErrnoException): the
// properties code, errno (negative, as in fs errors), syscall and path on a plain Error.
#include "errors.h"

#include <bpf/libbpf.h>

#include <cerrno>
#include <cstring>

namespace xlb {

namespace {

// The kernel returns ENOTSUPP (524) from the bpf() syscall for operations a map or program type does
// not implement; glibc has no name or text for it.
constexpr int kENOTSUPP = 524;

const char* LibbpfCodeName(int err) {
  switch (err) {
    case LIBBPF_ERRNO__LIBELF: return "ELIBBPF_LIBELF";
    case LIBBPF_ERRNO__FORMAT: return "ELIBBPF_FORMAT";
    case LIBBPF_ERRNO__KVERSION: return "ELIBBPF_KVERSION";
    case LIBBPF_ERRNO__ENDIAN: return "ELIBBPF_ENDIAN";
    case LIBBPF_ERRNO__INTERNAL: return "ELIBBPF_INTERNAL";
    case LIBBPF_ERRNO__RELOC: return "ELIBBPF_RELOC";
    case LIBBPF_ERRNO__LOAD: return "ELIBBPF_LOAD";
    case LIBBPF_ERRNO__VERIFY: return "ELIBBPF_VERIFY";
    case LIBBPF_ERRNO__PROG2BIG: return "ELIBBPF_PROG2BIG";
    case LIBBPF_ERRNO__KVER: return "ELIBBPF_KVER";
    case LIBBPF_ERRNO__PROGTYPE: return "ELIBBPF_PROGTYPE";
    case LIBBPF_ERRNO__WRNGPID: return "ELIBBPF_WRNGPID";
    case LIBBPF_ERRNO__INVSEQ: return "ELIBBPF_INVSEQ";
    case LIBBPF_ERRNO__NLPARSE: return "ELIBBPF_NLPARSE";
    default: return nullptr;
  }
}

}  // namespace

std::string ErrnoCode(int err) {
  if (err == kENOTSUPP) return "ENOTSUPP";
  if (const char* name = LibbpfCodeName(err)) return name;
  if (const char* name = strerrorname_np(err)) return name;
  return "EUNKNOWN";
}

std::string ErrnoText(int err) {
  if (err == kENOTSUPP) return "Operation not supported for this map or program type";
  char buf[256];
  if (libbpf_strerror(err, buf, sizeof(buf)) == 0) return buf;
  return "Unknown error " + std::to_string(err);
}

std::string SysFailure::Message() const {
  std::string message = action + ": " + ErrnoText(err);
  if (!hint.empty()) message += " (" + hint + ")";
  return message;
}

Napi::Error MakeSysError(Napi::Env env, const SysFailure& failure) {
  Napi::Error error = Napi::Error::New(env, failure.Message());
  Napi::Object obj = error.Value();
  obj.Set("code", ErrnoCode(failure.err));
  obj.Set("errno", Napi::Number::New(env, -failure.err));
  obj.Set("syscall", failure.syscall);
  if (!failure.path.empty()) obj.Set("path", failure.path);
  if (!failure.verifierLog.empty()) obj.Set("verifierLog", failure.verifierLog);
  if (!failure.libbpfLog.empty()) obj.Set("libbpfLog", failure.libbpfLog);
  if (failure.count >= 0) obj.Set("count", Napi::Number::New(env, static_cast<double>(failure.count)));
  return error;
}

void ThrowSys(Napi::Env env, const SysFailure& failure) { throw MakeSysError(env, failure); }

void ThrowSys(Napi::Env env, int err, const std::string& syscall, const std::string& action,
              const std::string& hint, const std::string& path) {
  SysFailure failure;
  failure.err = err;
  failure.syscall = syscall;
  failure.action = action;
  failure.hint = hint;
  failure.path = path;
  ThrowSys(env, failure);
}

void ThrowCoded(Napi::Env env, const char* code, const std::string& message) {
  Napi::Error error = Napi::Error::New(env, message);
  error.Value().Set("code", code);
  throw error;
}

void ThrowType(Napi::Env env, const std::string& message) { throw Napi::TypeError::New(env, message); }

void ThrowRange(Napi::Env env, const std::string& message) { throw Napi::RangeError::New(env, message); }

}  // namespace xlb
