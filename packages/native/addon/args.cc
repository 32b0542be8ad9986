// args.cc - see args.h.
#include "args.h"

#include <cmath>

#include "errors.h"

namespace xlb {

bool IsBytes(const Napi::Value& value) {
  return value.IsTypedArray() && value.As<Napi::TypedArray>().TypedArrayType() == napi_uint8_array;
}

Bytes ExpectBytes(const Napi::Value& value, const std::string& what) {
  if (!IsBytes(value)) ThrowType(value.Env(), what + " must be a Buffer or Uint8Array");
  auto array = value.As<Napi::Uint8Array>();
  return Bytes{array.Data(), array.ByteLength()};
}

Bytes ExpectBytesOfSize(const Napi::Value& value, size_t size, const std::string& what) {
  Bytes bytes = ExpectBytes(value, what);
  if (bytes.size != size) {
    ThrowRange(value.Env(),
               what + " must be " + std::to_string(size) + " bytes, got " + std::to_string(bytes.size));
  }
  return bytes;
}

std::string ExpectString(const Napi::Value& value, const std::string& what) {
  if (!value.IsString()) ThrowType(value.Env(), what + " must be a string");
  return value.As<Napi::String>().Utf8Value();
}

uint64_t ExpectU64(const Napi::Value& value, const std::string& what) {
  if (value.IsBigInt()) {
    bool lossless = false;
    uint64_t v = value.As<Napi::BigInt>().Uint64Value(&lossless);
    if (!lossless) ThrowRange(value.Env(), what + " must fit in 64 bits");
    return v;
  }
  if (!value.IsNumber()) ThrowType(value.Env(), what + " must be a number");
  double d = value.As<Napi::Number>().DoubleValue();
  if (!std::isfinite(d) || std::floor(d) != d || d < 0 || d > 9007199254740991.0) {
    ThrowRange(value.Env(), what + " must be a non-negative integer, got " + value.ToString().Utf8Value());
  }
  return static_cast<uint64_t>(d);
}

uint32_t ExpectU32(const Napi::Value& value, const std::string& what) {
  if (!value.IsNumber()) ThrowType(value.Env(), what + " must be a number");
  double d = value.As<Napi::Number>().DoubleValue();
  if (!std::isfinite(d) || std::floor(d) != d || d < 0 || d > 4294967295.0) {
    ThrowRange(value.Env(), what + " must be an integer from 0 to 4294967295, got " + value.ToString().Utf8Value());
  }
  return static_cast<uint32_t>(d);
}

Napi::Function ExpectFunction(const Napi::Value& value, const std::string& what) {
  if (!value.IsFunction()) ThrowType(value.Env(), what + " must be a function");
  return value.As<Napi::Function>();
}

Napi::Object OptionsArg(const Napi::CallbackInfo& info, size_t index, const std::string& what) {
  Napi::Value value = info[index];
  if (value.IsUndefined()) return Napi::Object::New(info.Env());
  if (!value.IsObject() || value.IsArray() || value.IsFunction()) ThrowType(info.Env(), what + " must be an object");
  return value.As<Napi::Object>();
}

std::optional<uint32_t> OptionalU32(const Napi::Object& options, const char* key, const std::string& what) {
  Napi::Value value = options.Get(key);
  if (value.IsUndefined()) return std::nullopt;
  return ExpectU32(value, what + "." + key);
}

std::optional<std::string> OptionalString(const Napi::Object& options, const char* key, const std::string& what) {
  Napi::Value value = options.Get(key);
  if (value.IsUndefined()) return std::nullopt;
  return ExpectString(value, what + "." + key);
}

}  // namespace xlb
