// args.h - argument checks at the JS boundary. Wrong types become TypeError, out-of-range values
// RangeError, each naming the argument, so bad input never reaches libbpf.
#pragma once

#include <napi.h>

#include <cstdint>
#include <optional>
#include <string>

namespace xlb {

// A view of the bytes of a Buffer / Uint8Array argument (valid while the JS value lives).
struct Bytes {
  const uint8_t* data = nullptr;
  size_t size = 0;
};

bool IsBytes(const Napi::Value& value);
Bytes ExpectBytes(const Napi::Value& value, const std::string& what);
// Exactly `size` bytes, else RangeError "<what> must be N bytes, got M".
Bytes ExpectBytesOfSize(const Napi::Value& value, size_t size, const std::string& what);

std::string ExpectString(const Napi::Value& value, const std::string& what);
uint32_t ExpectU32(const Napi::Value& value, const std::string& what);
uint64_t ExpectU64(const Napi::Value& value, const std::string& what);
Napi::Function ExpectFunction(const Napi::Value& value, const std::string& what);

// The options object at `index`, or an empty object when it is undefined; TypeError otherwise.
Napi::Object OptionsArg(const Napi::CallbackInfo& info, size_t index, const std::string& what);
std::optional<uint32_t> OptionalU32(const Napi::Object& options, const char* key, const std::string& what);
std::optional<std::string> OptionalString(const Napi::Object& options, const char* key, const std::string& what);

}  // namespace xlb
