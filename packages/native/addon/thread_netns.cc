// thread_netns.cc - see thread_netns.h.
#include "thread_netns.h"

#include <fcntl.h>
#include <sched.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>

namespace xlb {

namespace {

bool SameNamespace(int a, int b) {
  struct stat sa, sb;
  if (fstat(a, &sa) != 0 || fstat(b, &sb) != 0) return false;
  return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

}  // namespace

int OpenThreadNetns() { return open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC); }

ThreadNetnsSwitch::ThreadNetnsSwitch(int targetFd) {
  if (targetFd < 0) return;
  original_ = OpenThreadNetns();
  if (original_ < 0) {
    error_ = errno;
    return;
  }
  if (SameNamespace(original_, targetFd)) return;
  if (setns(targetFd, CLONE_NEWNET) != 0) {
    error_ = errno;
    return;
  }
  switched_ = true;
}

ThreadNetnsSwitch::~ThreadNetnsSwitch() {
  if (switched_ && setns(original_, CLONE_NEWNET) != 0) {
    std::fprintf(stderr, "@xdp-lb/native: cannot return a thread to its network namespace (errno %d)\n", errno);
    std::abort();
  }
  if (original_ >= 0) close(original_);
}

}  // namespace xlb
