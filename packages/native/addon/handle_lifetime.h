// handle_lifetime.h - the dispose protocol every wrapped C handle follows.
//
// dispose() is explicit and idempotent; the destructor (GC finalizer) is only a fallback. An
// AsyncWorker may still be using the C handle on a pool thread when dispose() is called, so the
// real release waits until the last operation has left (Enter/Leave run on the JS thread only).
#pragma once

namespace xlb {

class HandleLifetime {
 public:
  virtual ~HandleLifetime() = default;

  bool IsDisposed() const { return disposed_; }

  void Dispose() {
    if (disposed_) return;
    disposed_ = true;
    if (busy_ == 0) ReleaseOnce();
  }

  void Enter() { ++busy_; }

  void Leave() {
    if (--busy_ == 0 && disposed_) ReleaseOnce();
  }

 protected:
  // Frees the C resource (close the fd, drop the owner reference). Called at most once.
  virtual void Release() = 0;

  // For destructors of derived classes: no worker can be running (each holds a reference to the
  // JS object), so release unconditionally.
  void ReleaseFromFinalizer() {
    disposed_ = true;
    ReleaseOnce();
  }

 private:
  void ReleaseOnce() {
    if (released_) return;
    released_ = true;
    Release();
  }

  bool disposed_ = false;
  bool released_ = false;
  int busy_ = 0;
};

}  // namespace xlb
