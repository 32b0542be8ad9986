// ring_buffer.h - RingBuffer reads the records of a BPF_MAP_TYPE_RINGBUF map (libbpf's ring_buffer,
// which mmaps the map's pages). Mechanism only: consume() takes every record there is now, without
// blocking, and hands each one over as a Buffer; the caller decides when to poll (a timer) and
// what records mean.
#pragma once

#include <bpf/libbpf.h>
#include <napi.h>

#include <string>
#include <vector>

#include "handle_lifetime.h"

namespace xlb {

class RingBuffer : public Napi::ObjectWrap<RingBuffer>, public HandleLifetime {
 public:
  static Napi::Function Init(Napi::Env env);
  explicit RingBuffer(const Napi::CallbackInfo& info);
  ~RingBuffer() override;

 protected:
  void Release() override;

 private:
  struct Init_ {
    ring_buffer* rb = nullptr;
    int fd = -1;
  };

  static Napi::Value Open(const Napi::CallbackInfo& info);
  static int OnRecord(void* ctx, void* data, size_t size);
  Napi::Value Consume(const Napi::CallbackInfo& info);
  Napi::Value GetDisposed(const Napi::CallbackInfo& info);
  Napi::Value DisposeJs(const Napi::CallbackInfo& info);

  ring_buffer* rb_ = nullptr;
  int fd_ = -1;  // our own dup of the map's fd: the ring outlives the BpfMap it came from
  std::vector<std::string> pending_;
  size_t limit_ = 0;
};

}  // namespace xlb
