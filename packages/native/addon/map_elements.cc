// map_elements.cc - BpfMap element operations: lookup, update, delete, lookupAndDelete, nextKey
// and the keys() iterator. Synchronous: each is one bpf() syscall.
#include <bpf/bpf.h>

#include <cerrno>
#include <memory>
#include <vector>

#include "args.h"
#include "bpf_map.h"
#include "errors.h"

namespace xlb {

namespace {

std::string UpdateHint(int err, const MapShape& shape) {
  switch (err) {
    case E2BIG: return "the map is full or the index is beyond max_entries (" + std::to_string(shape.maxEntries) + ")";
    case EEXIST: return "the key exists and flags is BPF_NOEXIST";
    case ENOENT: return "the key does not exist and flags is BPF_EXIST";
    case EPERM: return "the map may be read-only for user space";
    default: return "";
  }
}

}  // namespace

const uint8_t* BpfMap::KeyArg(const Napi::Value& value, const MapShape& shape, const std::string& what) {
  if (shape.keySize == 0) {
    if (value.IsUndefined() || value.IsNull()) return nullptr;
    ExpectBytesOfSize(value, 0, what + " for map '" + shape.name + "'");
    return nullptr;
  }
  return ExpectBytesOfSize(value, shape.keySize, what + " for map '" + shape.name + "'").data;
}

Napi::Value BpfMap::Lookup(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = UsableFd(env, "lookup");
  MapShape shape = Shape();
  const uint8_t* key = KeyArg(info[0], shape, "key");
  std::vector<uint8_t> value(shape.KernelValueSize());
  if (bpf_map_lookup_elem(fd, key, value.data()) != 0) {
    if (errno == ENOENT) return env.Null();
    ThrowSys(env, errno, "bpf_map_lookup_elem", "lookup in map '" + shape.name + "'");
  }
  return DecodeValue(env, value.data(), shape);
}

Napi::Value BpfMap::Update(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = UsableFd(env, "update");
  MapShape shape = Shape();
  const uint8_t* key = KeyArg(info[0], shape, "key");
  std::vector<uint8_t> value(shape.KernelValueSize());
  EncodeValue(env, info[1], shape, value.data(), "value");
  uint32_t flags = info[2].IsUndefined() ? 0 : ExpectU32(info[2], "update: flags");
  if (bpf_map_update_elem(fd, key, value.data(), flags) != 0) {
    int err = errno;
    ThrowSys(env, err, "bpf_map_update_elem", "update map '" + shape.name + "'", UpdateHint(err, shape));
  }
  return env.Undefined();
}

Napi::Value BpfMap::Delete(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = UsableFd(env, "delete");
  MapShape shape = Shape();
  const uint8_t* key = KeyArg(info[0], shape, "key");
  if (bpf_map_delete_elem(fd, key) != 0) {
    if (errno == ENOENT) return Napi::Boolean::New(env, false);
    int err = errno;
    ThrowSys(env, err, "bpf_map_delete_elem", "delete from map '" + shape.name + "'",
             err == EINVAL ? "array maps cannot delete elements; write a zero value instead" : "");
  }
  return Napi::Boolean::New(env, true);
}

Napi::Value BpfMap::LookupAndDelete(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = UsableFd(env, "lookupAndDelete");
  MapShape shape = Shape();
  const uint8_t* key = KeyArg(info[0], shape, "key");
  std::vector<uint8_t> value(shape.KernelValueSize());
  if (bpf_map_lookup_and_delete_elem(fd, key, value.data()) != 0) {
    if (errno == ENOENT) return env.Null();
    int err = errno;
    ThrowSys(env, err, "bpf_map_lookup_and_delete_elem", "lookup and delete in map '" + shape.name + "'",
             err == ENOTSUP || err == 524 || err == EINVAL ? "this map type does not support lookup-and-delete" : "");
  }
  return DecodeValue(env, value.data(), shape);
}

Napi::Value BpfMap::NextKey(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = UsableFd(env, "nextKey");
  MapShape shape = Shape();
  const uint8_t* prev = nullptr;
  if (!info[0].IsUndefined() && !info[0].IsNull()) prev = KeyArg(info[0], shape, "previous key");
  std::vector<uint8_t> next(shape.keySize);
  if (bpf_map_get_next_key(fd, prev, next.data()) != 0) {
    if (errno == ENOENT) return env.Null();
    ThrowSys(env, errno, "bpf_map_get_next_key", "iterate map '" + shape.name + "'");
  }
  return Napi::Buffer<uint8_t>::Copy(env, next.data(), next.size());
}

namespace {

// State of one keys() iteration; the map's JS object is held so the handle outlives the iterator.
struct KeyIteration {
  Napi::ObjectReference map;
  std::vector<uint8_t> previous;
  bool started = false;
  bool done = false;
};

}  // namespace

Napi::Value BpfMap::Keys(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  UsableFd(env, "keys");
  auto state = std::make_shared<KeyIteration>();
  state->map = Napi::Persistent(Value());

  Napi::Object iterator = Napi::Object::New(env);
  iterator.Set("next", Napi::Function::New(env, [state](const Napi::CallbackInfo& ci) -> Napi::Value {
                 Napi::Env env = ci.Env();
                 Napi::Object result = Napi::Object::New(env);
                 if (!state->done) {
                   BpfMap* self = Napi::ObjectWrap<BpfMap>::Unwrap(state->map.Value());
                   int fd = self->UsableFd(env, "keys");
                   MapShape shape = self->Shape();
                   std::vector<uint8_t> next(shape.keySize);
                   // The kernel restarts from the first key when the previous one was deleted meanwhile.
                   if (bpf_map_get_next_key(fd, state->started ? state->previous.data() : nullptr, next.data()) == 0) {
                     state->started = true;
                     state->previous = next;
                     result.Set("value", Napi::Buffer<uint8_t>::Copy(env, next.data(), next.size()));
                     result.Set("done", false);
                     return result;
                   }
                   if (errno != ENOENT) ThrowSys(env, errno, "bpf_map_get_next_key", "iterate map '" + shape.name + "'");
                   state->done = true;
                   state->map.Reset();
                 }
                 result.Set("value", env.Undefined());
                 result.Set("done", true);
                 return result;
               }));
  iterator.Set(Napi::Symbol::WellKnown(env, "iterator"),
               Napi::Function::New(env, [](const Napi::CallbackInfo& ci) -> Napi::Value { return ci.This(); }));
  return iterator;
}

}  // namespace xlb
