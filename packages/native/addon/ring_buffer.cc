// ring_buffer.cc - see ring_buffer.h.
#include "ring_buffer.h"

#include <fcntl.h>
#include <linux/bpf.h>
#include <unistd.h>

#include <cerrno>

#include "addon_data.h"
#include "args.h"
#include "bpf_map.h"
#include "errors.h"
#include "fd_util.h"

namespace xlb {

Napi::Function RingBuffer::Init(Napi::Env env) {
  return DefineClass(env, "RingBuffer",
                     {
                         StaticMethod<&RingBuffer::Open>("open"),
                         InstanceAccessor<&RingBuffer::GetDisposed>("disposed"),
                         InstanceMethod<&RingBuffer::Consume>("consume"),
                         InstanceMethod<&RingBuffer::DisposeJs>("dispose"),
                     });
}

RingBuffer::RingBuffer(const Napi::CallbackInfo& info) : Napi::ObjectWrap<RingBuffer>(info) {
  if (!IsInternalConstruction(info)) ThrowType(info.Env(), "RingBuffer cannot be constructed directly; use RingBuffer.open(map)");
  auto* init = InternalInit<Init_>(info);
  rb_ = init->rb;
  fd_ = init->fd;
}

RingBuffer::~RingBuffer() { ReleaseFromFinalizer(); }

void RingBuffer::Release() {
  if (rb_) ring_buffer__free(rb_);
  rb_ = nullptr;
  CloseFd(fd_);
}

int RingBuffer::OnRecord(void* ctx, void* data, size_t size) {
  auto* self = static_cast<RingBuffer*>(ctx);
  self->pending_.emplace_back(static_cast<const char*>(data), size);
  // A negative return stops this round: the records after it stay in the ring for the next call.
  return self->limit_ && self->pending_.size() >= self->limit_ ? -1 : 0;
}

Napi::Value RingBuffer::Open(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  BpfMap* map = BpfMap::FromValue(env, info[0]);
  if (!map) ThrowType(env, "RingBuffer.open: map must be a BpfMap of type ringbuf");
  int mapFd = map->UsableFd(env, "RingBuffer.open");
  bpf_map_info mi{};
  if (int err = MapInfoByFd(mapFd, &mi)) ThrowSys(env, err, "bpf_obj_get_info_by_fd", "read map " + map->Name());
  if (mi.type != BPF_MAP_TYPE_RINGBUF) ThrowType(env, "RingBuffer.open: map " + map->Name() + " is not a ringbuf (type " + std::to_string(mi.type) + ")");
  int fd = fcntl(mapFd, F_DUPFD_CLOEXEC, 0);
  if (fd < 0) ThrowSys(env, errno, "fcntl", "duplicate the fd of map " + map->Name());
  Init_ init;
  init.fd = fd;
  // ring_buffer__new's context is the wrapper, so the ring is made once the wrapper exists.
  Napi::Object obj = GetAddonData(env).ringBuffer.New({Napi::External<Init_>::New(env, &init)});
  RingBuffer* self = RingBuffer::Unwrap(obj);
  self->rb_ = ring_buffer__new(fd, &RingBuffer::OnRecord, self, nullptr);
  if (!self->rb_) {
    int err = errno;
    self->Dispose();
    ThrowSys(env, err, "ring_buffer__new", "map the ring of map " + map->Name());
  }
  return obj;
}

// consume(max?) -> Buffer[]: the records there now, oldest first (at most max when given).
Napi::Value RingBuffer::Consume(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (IsDisposed()) ThrowCoded(env, kErrDisposed, "consume: RingBuffer is disposed");
  limit_ = info.Length() > 0 && !info[0].IsUndefined() ? ExpectU32(info[0], "RingBuffer.consume: max") : 0;
  pending_.clear();
  int n = ring_buffer__consume(rb_);
  if (n < 0 && !(limit_ && pending_.size() >= limit_)) ThrowSys(env, -n, "ring_buffer__consume", "read the ring");
  Napi::Array out = Napi::Array::New(env, pending_.size());
  for (size_t i = 0; i < pending_.size(); i++) out.Set(static_cast<uint32_t>(i), Napi::Buffer<char>::Copy(env, pending_[i].data(), pending_[i].size()));
  pending_.clear();
  return out;
}

Napi::Value RingBuffer::GetDisposed(const Napi::CallbackInfo& info) { return Napi::Boolean::New(info.Env(), IsDisposed()); }

Napi::Value RingBuffer::DisposeJs(const Napi::CallbackInfo& info) {
  Dispose();
  return info.Env().Undefined();
}

}  // namespace xlb
