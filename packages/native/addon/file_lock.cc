// file_lock.cc - flock(fd, operation): flock(2), which Node does not offer. An advisory lock on an
// open file description that the kernel drops when the last descriptor of it is closed, so a
// holder that is killed (SIGKILL included) never leaves a stale lock behind. Never blocks: a lock
// held elsewhere returns false, and the caller decides how long to wait (without stalling its
// event loop).
#include <sys/file.h>

#include <cerrno>
#include <string>

#include "args.h"
#include "errors.h"
#include "module_functions.h"

namespace xlb {

namespace {

Napi::Value Flock(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  uint32_t fd = ExpectU32(info[0], "flock: fd");
  std::string op = ExpectString(info[1], "flock: operation");
  int how = 0;
  if (op == "exclusive") {
    how = LOCK_EX | LOCK_NB;
  } else if (op == "shared") {
    how = LOCK_SH | LOCK_NB;
  } else if (op == "unlock") {
    how = LOCK_UN;
  } else {
    ThrowType(env, "flock: operation must be \"exclusive\", \"shared\" or \"unlock\"");
  }
  int r;
  do {
    r = flock(static_cast<int>(fd), how);
  } while (r < 0 && errno == EINTR);
  if (r == 0) return Napi::Boolean::New(env, true);
  int err = errno;
  if (err == EWOULDBLOCK) return Napi::Boolean::New(env, false);
  ThrowSys(env, err, "flock", "lock file descriptor " + std::to_string(fd));
}

}  // namespace

void RegisterFileLockFunctions(Napi::Env env, Napi::Object exports) {
  exports.Set("flock", Napi::Function::New<Flock>(env, "flock"));
}

}  // namespace xlb
