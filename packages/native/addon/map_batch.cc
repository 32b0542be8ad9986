// map_batch.cc - BpfMap.lookupBatch/updateBatch/deleteBatch: the BPF_MAP_*_BATCH commands on a
// pool thread (a big map is many syscalls' worth of copying). Where the kernel lacks a batch
// command for the map type (ENOTSUPP), the same work is done element by element and the result
// says so with batched: false.
#include <bpf/bpf.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <vector>

#include "args.h"
#include "bpf_map.h"
#include "errors.h"
#include "promise_worker.h"

namespace xlb {

namespace {

bool BatchUnsupported(int err) { return err == 524 /* ENOTSUPP */ || err == EOPNOTSUPP; }

// Base: holds the map (and its object) for the duration of the work.
class MapWorker : public PromiseWorker {
 public:
  MapWorker(Napi::Env env, const char* name, BpfMap* map, int fd, MapShape shape)
      : PromiseWorker(env, name), map_(map), fd_(fd), shape_(std::move(shape)) {
    map_->EnterOperation();
  }
  ~MapWorker() override { map_->LeaveOperation(); }

 protected:
  SysFailure Failure(int err, const char* syscall, const std::string& verb, long long count) const {
    SysFailure f;
    f.err = err;
    f.syscall = syscall;
    f.action = verb + " map '" + shape_.name + "'";
    f.count = count;
    return f;
  }

  BpfMap* map_;
  int fd_;
  MapShape shape_;
  bool batched_ = true;
};

class LookupBatchWorker : public MapWorker {
 public:
  using MapWorker::MapWorker;

 protected:
  void Run() override {
    const size_t valueSize = shape_.KernelValueSize();
    // Hash maps hand out a u32 bucket cursor, array maps a key; this fits both.
    const size_t cursorSize = std::max<size_t>(shape_.keySize, 8);
    std::vector<uint8_t> in(cursorSize), out(cursorSize);
    __u32 chunk = std::clamp<__u32>(shape_.maxEntries, 1, 4096);
    bool first = true;
    for (;;) {
      __u32 count = chunk;
      std::vector<uint8_t> keys(static_cast<size_t>(count) * shape_.keySize);
      std::vector<uint8_t> values(static_cast<size_t>(count) * valueSize);
      LIBBPF_OPTS(bpf_map_batch_opts, opts);
      int r = bpf_map_lookup_batch(fd_, first ? nullptr : in.data(), out.data(), keys.data(), values.data(), &count, &opts);
      int err = r == 0 ? 0 : errno;
      if (err == ENOSPC && chunk < (1u << 20)) {
        chunk *= 2;  // one hash bucket holds more entries than the chunk: retry bigger
        continue;
      }
      if (err != 0 && err != ENOENT) {
        if (first && BatchUnsupported(err)) return RunPerElement();
        return Fail(Failure(err, "bpf_map_lookup_batch", "batch lookup in", static_cast<long long>(keys_.size())));
      }
      for (__u32 i = 0; i < count; i++) {
        keys_.emplace_back(keys.begin() + i * shape_.keySize, keys.begin() + (i + 1) * shape_.keySize);
        values_.emplace_back(values.begin() + i * valueSize, values.begin() + (i + 1) * valueSize);
      }
      if (err == ENOENT) return;  // no more entries
      in = out;
      first = false;
    }
  }

  Napi::Value Result(Napi::Env env) override {
    Napi::Array keys = Napi::Array::New(env, keys_.size());
    Napi::Array values = Napi::Array::New(env, values_.size());
    for (size_t i = 0; i < keys_.size(); i++) {
      keys.Set(i, Napi::Buffer<uint8_t>::Copy(env, keys_[i].data(), keys_[i].size()));
      values.Set(i, DecodeValue(env, values_[i].data(), shape_));
    }
    Napi::Object result = Napi::Object::New(env);
    result.Set("keys", keys);
    result.Set("values", values);
    result.Set("batched", batched_);
    return result;
  }

 private:
  void RunPerElement() {
    batched_ = false;
    std::vector<uint8_t> key(shape_.keySize), next(shape_.keySize), value(shape_.KernelValueSize());
    bool first = true;
    while (bpf_map_get_next_key(fd_, first ? nullptr : key.data(), next.data()) == 0) {
      first = false;
      key = next;
      if (bpf_map_lookup_elem(fd_, key.data(), value.data()) != 0) {
        if (errno == ENOENT) continue;  // deleted meanwhile
        return Fail(Failure(errno, "bpf_map_lookup_elem", "lookup in", static_cast<long long>(keys_.size())));
      }
      keys_.push_back(key);
      values_.push_back(value);
    }
    if (errno != ENOENT) Fail(Failure(errno, "bpf_map_get_next_key", "iterate", static_cast<long long>(keys_.size())));
  }

  std::vector<std::vector<uint8_t>> keys_;
  std::vector<std::vector<uint8_t>> values_;
};

// Shared by update and delete: keys (and values) packed on the JS thread, one call on the pool.
class WriteBatchWorker : public MapWorker {
 public:
  WriteBatchWorker(Napi::Env env, const char* name, BpfMap* map, int fd, MapShape shape, std::vector<uint8_t> keys,
                   std::vector<uint8_t> values, size_t count, uint32_t flags, bool isDelete)
      : MapWorker(env, name, map, fd, std::move(shape)),
        keys_(std::move(keys)),
        values_(std::move(values)),
        count_(count),
        flags_(flags),
        delete_(isDelete) {}

 protected:
  void Run() override {
    if (count_ == 0) return;
    __u32 count = static_cast<__u32>(count_);
    LIBBPF_OPTS(bpf_map_batch_opts, opts, .elem_flags = flags_);
    int r = delete_ ? bpf_map_delete_batch(fd_, keys_.data(), &count, &opts)
                    : bpf_map_update_batch(fd_, keys_.data(), values_.data(), &count, &opts);
    if (r == 0) {
      done_ = count;
      return;
    }
    int err = errno;
    // ENOTSUPP comes before the kernel touches any element (and it leaves count as it was).
    if (BatchUnsupported(err)) return RunPerElement();
    Fail(Failure(err, delete_ ? "bpf_map_delete_batch" : "bpf_map_update_batch", delete_ ? "batch delete from" : "batch update",
                 count));
  }

  Napi::Value Result(Napi::Env env) override {
    Napi::Object result = Napi::Object::New(env);
    result.Set("count", Napi::Number::New(env, static_cast<double>(done_)));
    result.Set("batched", batched_);
    return result;
  }

 private:
  void RunPerElement() {
    batched_ = false;
    const size_t valueSize = shape_.KernelValueSize();
    for (size_t i = 0; i < count_; i++) {
      const uint8_t* key = keys_.data() + i * shape_.keySize;
      int r = delete_ ? bpf_map_delete_elem(fd_, key) : bpf_map_update_elem(fd_, key, values_.data() + i * valueSize, flags_);
      if (r != 0) {
        int err = errno;
        SysFailure failure = Failure(err, delete_ ? "bpf_map_delete_elem" : "bpf_map_update_elem",
                                     delete_ ? "delete from" : "update", static_cast<long long>(i));
        if (delete_ && err == EINVAL) failure.hint = "array maps cannot delete elements; write a zero value instead";
        return Fail(std::move(failure));
      }
      done_ = i + 1;
    }
  }

  std::vector<uint8_t> keys_;
  std::vector<uint8_t> values_;
  size_t count_;
  uint32_t flags_;
  bool delete_;
  size_t done_ = 0;
};

std::vector<uint8_t> PackKeys(const Napi::Array& keys, const MapShape& shape, const std::string& what) {
  std::vector<uint8_t> packed(static_cast<size_t>(keys.Length()) * shape.keySize);
  for (uint32_t i = 0; i < keys.Length(); i++) {
    Bytes key = ExpectBytesOfSize(keys.Get(i), shape.keySize,
                                  what + ": key " + std::to_string(i) + " for map '" + shape.name + "'");
    std::memcpy(packed.data() + static_cast<size_t>(i) * shape.keySize, key.data, key.size);
  }
  return packed;
}

Napi::Array ExpectArray(Napi::Env env, const Napi::Value& value, const std::string& what) {
  if (!value.IsArray()) ThrowType(env, what + " must be an array");
  return value.As<Napi::Array>();
}

}  // namespace

Napi::Value BpfMap::LookupBatch(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return AsPromise(env, [&]() -> Napi::Value {
    int fd = UsableFd(env, "lookupBatch");
    auto* worker = new LookupBatchWorker(env, "BpfMapLookupBatchWorker", this, fd, Shape());
    return worker->Start();
  });
}

Napi::Value BpfMap::UpdateBatch(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return AsPromise(env, [&]() -> Napi::Value { return StartUpdateBatch(info); });
}

Napi::Value BpfMap::StartUpdateBatch(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = UsableFd(env, "updateBatch");
  MapShape shape = Shape();
  Napi::Array keys = ExpectArray(env, info[0], "updateBatch: keys");
  Napi::Array values = ExpectArray(env, info[1], "updateBatch: values");
  if (keys.Length() != values.Length()) {
    ThrowRange(env, "updateBatch: " + std::to_string(keys.Length()) + " keys but " + std::to_string(values.Length()) + " values");
  }
  uint32_t flags = info[2].IsUndefined() ? 0 : ExpectU32(info[2], "updateBatch: flags");
  std::vector<uint8_t> packedKeys = PackKeys(keys, shape, "updateBatch");
  const size_t valueSize = shape.KernelValueSize();
  std::vector<uint8_t> packedValues(static_cast<size_t>(values.Length()) * valueSize);
  for (uint32_t i = 0; i < values.Length(); i++) {
    EncodeValue(env, values.Get(i), shape, packedValues.data() + static_cast<size_t>(i) * valueSize,
                "updateBatch: value " + std::to_string(i));
  }
  auto* worker = new WriteBatchWorker(env, "BpfMapUpdateBatchWorker", this, fd, shape, std::move(packedKeys),
                                      std::move(packedValues), keys.Length(), flags, false);
  return worker->Start();
}

Napi::Value BpfMap::DeleteBatch(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return AsPromise(env, [&]() -> Napi::Value { return StartDeleteBatch(info); });
}

Napi::Value BpfMap::StartDeleteBatch(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = UsableFd(env, "deleteBatch");
  MapShape shape = Shape();
  Napi::Array keys = ExpectArray(env, info[0], "deleteBatch: keys");
  std::vector<uint8_t> packedKeys = PackKeys(keys, shape, "deleteBatch");
  auto* worker = new WriteBatchWorker(env, "BpfMapDeleteBatchWorker", this, fd, shape, std::move(packedKeys), {},
                                      keys.Length(), 0, true);
  return worker->Start();
}

}  // namespace xlb
