// map_values.cc - see map_values.h.
#include "map_values.h"

#include <bpf/libbpf.h>
#include <linux/bpf.h>

#include <cstring>

#include "args.h"
#include "bpf_map.h"
#include "bpf_program.h"
#include "errors.h"

namespace xlb {

bool IsPerCpuMapType(uint32_t type) {
  switch (type) {
    case BPF_MAP_TYPE_PERCPU_HASH:
    case BPF_MAP_TYPE_PERCPU_ARRAY:
    case BPF_MAP_TYPE_LRU_PERCPU_HASH:
    case BPF_MAP_TYPE_PERCPU_CGROUP_STORAGE:
      return true;
    default:
      return false;
  }
}

MapShape MakeShape(const std::string& name, uint32_t type, uint32_t keySize, uint32_t valueSize,
                   uint32_t maxEntries, uint32_t flags) {
  MapShape shape;
  shape.name = name;
  shape.type = type;
  shape.keySize = keySize;
  shape.valueSize = valueSize;
  shape.maxEntries = maxEntries;
  shape.flags = flags;
  shape.perCpu = IsPerCpuMapType(type);
  if (shape.perCpu) {
    int cpus = libbpf_num_possible_cpus();
    shape.cpus = cpus > 0 ? static_cast<uint32_t>(cpus) : 1;
    shape.stride = (static_cast<size_t>(valueSize) + 7) & ~static_cast<size_t>(7);
  } else {
    shape.stride = valueSize;
  }
  return shape;
}

namespace {

void WriteFd(int fd, uint8_t* out, const MapShape& shape, Napi::Env env, const std::string& what) {
  if (shape.valueSize != sizeof(uint32_t)) {
    ThrowRange(env, what + ": map '" + shape.name + "' has " + std::to_string(shape.valueSize) +
                        "-byte values, an fd value needs 4");
  }
  uint32_t value = static_cast<uint32_t>(fd);
  std::memcpy(out, &value, sizeof(value));
}

}  // namespace

void EncodeValue(Napi::Env env, const Napi::Value& value, const MapShape& shape, uint8_t* out,
                 const std::string& what) {
  std::string sized = what + " for map '" + shape.name + "'";
  if (shape.type == BPF_MAP_TYPE_ARRAY_OF_MAPS || shape.type == BPF_MAP_TYPE_HASH_OF_MAPS) {
    if (BpfMap* inner = BpfMap::FromValue(env, value)) {
      WriteFd(inner->UsableFd(env, what), out, shape, env, what);
      return;
    }
  }
  if (shape.type == BPF_MAP_TYPE_PROG_ARRAY) {
    if (BpfProgram* prog = BpfProgram::FromValue(env, value)) {
      WriteFd(prog->UsableFd(env, what), out, shape, env, what);
      return;
    }
  }
  if (!shape.perCpu) {
    Bytes bytes = ExpectBytesOfSize(value, shape.valueSize, sized);
    std::memcpy(out, bytes.data, bytes.size);
    return;
  }
  std::memset(out, 0, shape.KernelValueSize());
  if (value.IsArray()) {
    auto array = value.As<Napi::Array>();
    if (array.Length() != shape.cpus) {
      ThrowRange(env, sized + " must have one Buffer per possible CPU (" + std::to_string(shape.cpus) + "), got " +
                          std::to_string(array.Length()));
    }
    for (uint32_t cpu = 0; cpu < shape.cpus; cpu++) {
      Bytes bytes = ExpectBytesOfSize(array.Get(cpu), shape.valueSize, sized + " [CPU " + std::to_string(cpu) + "]");
      std::memcpy(out + cpu * shape.stride, bytes.data, bytes.size);
    }
    return;
  }
  if (!IsBytes(value)) {
    ThrowType(env, sized + " must be a Buffer (copied to every CPU) or an array of one Buffer per CPU");
  }
  Bytes bytes = ExpectBytesOfSize(value, shape.valueSize, sized);
  for (uint32_t cpu = 0; cpu < shape.cpus; cpu++) std::memcpy(out + cpu * shape.stride, bytes.data, bytes.size);
}

Napi::Value DecodeValue(Napi::Env env, const uint8_t* data, const MapShape& shape) {
  if (!shape.perCpu) return Napi::Buffer<uint8_t>::Copy(env, data, shape.valueSize);
  Napi::Array values = Napi::Array::New(env, shape.cpus);
  for (uint32_t cpu = 0; cpu < shape.cpus; cpu++) {
    values.Set(cpu, Napi::Buffer<uint8_t>::Copy(env, data + cpu * shape.stride, shape.valueSize));
  }
  return values;
}

}  // namespace xlb
