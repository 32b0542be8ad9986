// thread_netns.h - moving one thread into another network namespace and back.
//
// setns(CLONE_NEWNET) affects only the calling thread. inNetns() uses this on the JS thread; every
// AsyncWorker uses it to run on its pool thread in the namespace of the thread that started it,
// because some work resolves ifindexes in the current namespace (live-frames test runs, devmap
// updates): without this a pool thread would resolve them in the process's original namespace.
#pragma once

namespace xlb {

// An fd for the calling thread's network namespace, or -1.
int OpenThreadNetns();

// Enters the namespace behind targetFd for the lifetime of the object (no-op when the thread is
// already there, which needs no privilege), and goes back in the destructor. Failing to go back
// would leave a thread of the process in a foreign namespace, so that aborts.
class ThreadNetnsSwitch {
 public:
  explicit ThreadNetnsSwitch(int targetFd);
  ~ThreadNetnsSwitch();
  ThreadNetnsSwitch(const ThreadNetnsSwitch&) = delete;
  ThreadNetnsSwitch& operator=(const ThreadNetnsSwitch&) = delete;

  // 0, or the errno of the failed setns into the target.
  int error() const { return error_; }

 private:
  int original_ = -1;
  bool switched_ = false;
  int error_ = 0;
};

}  // namespace xlb
