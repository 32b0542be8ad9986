// map_values.h - the shape of a map and the conversion of values between JS and the kernel's
// layout. Per-CPU maps hold one slot per possible CPU, each rounded up to 8 bytes, in one buffer.
#pragma once

#include <napi.h>

#include <cstdint>
#include <string>

namespace xlb {

struct MapShape {
  std::string name;
  uint32_t type = 0;
  uint32_t keySize = 0;
  uint32_t valueSize = 0;
  uint32_t maxEntries = 0;
  uint32_t flags = 0;
  bool perCpu = false;
  uint32_t cpus = 1;   // possible CPUs for per-CPU maps, 1 otherwise
  size_t stride = 0;   // bytes per CPU slot in the kernel layout

  size_t KernelValueSize() const { return perCpu ? stride * cpus : valueSize; }
};

bool IsPerCpuMapType(uint32_t type);
MapShape MakeShape(const std::string& name, uint32_t type, uint32_t keySize, uint32_t valueSize,
                   uint32_t maxEntries, uint32_t flags);

// Writes a JS value into `out` (KernelValueSize() bytes). Accepts a Buffer of valueSize; for
// per-CPU maps also an array with one Buffer per possible CPU (a single Buffer is replicated); for
// map-in-map maps a BpfMap and for program arrays a BpfProgram (their fd is the value).
void EncodeValue(Napi::Env env, const Napi::Value& value, const MapShape& shape, uint8_t* out,
                 const std::string& what);

// A Buffer, or for per-CPU maps an array of one Buffer per possible CPU.
Napi::Value DecodeValue(Napi::Env env, const uint8_t* data, const MapShape& shape);

}  // namespace xlb
