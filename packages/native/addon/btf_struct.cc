// btf_struct.cc - BpfObject.structLayout(name): a struct's size and its members' byte offsets and
// sizes, read from the object's BTF (what the compiler laid out). Userspace codecs check theirs
// against it (bpf/tests/abi-btf.test.ts), so a field that moves in C fails a test rather than
// being misread. Valid before load (bpf_object__open has parsed the BTF).
#include <bpf/btf.h>

#include "args.h"
#include "bpf_object.h"
#include "errors.h"

namespace xlb {

Napi::Value BpfObject::StructLayout(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string name = ExpectString(info[0], "structLayout: name");
  CheckUsable(env, "structLayout");
  if (state_ == State::Loading) ThrowCoded(env, kErrNotLoaded, "structLayout: " + name_ + " is being loaded");
  const struct btf* btf = bpf_object__btf(obj_);
  if (btf == nullptr) return env.Null();
  __s32 id = btf__find_by_name_kind(btf, name.c_str(), BTF_KIND_STRUCT);
  if (id < 0) return env.Null();
  const struct btf_type* t = btf__type_by_id(btf, id);
  Napi::Object out = Napi::Object::New(env);
  out.Set("name", name);
  out.Set("size", Napi::Number::New(env, t->size));
  Napi::Array members = Napi::Array::New(env);
  const struct btf_member* m = btf_members(t);
  for (__u16 i = 0; i < btf_vlen(t); i++, m++) {
    __u32 bitOffset = btf_member_bit_offset(t, i);
    __s64 size = btf__resolve_size(btf, m->type);
    Napi::Object entry = Napi::Object::New(env);
    const char* mname = btf__name_by_offset(btf, m->name_off);
    entry.Set("name", std::string(mname ? mname : ""));
    entry.Set("offset", Napi::Number::New(env, bitOffset / 8));
    entry.Set("size", Napi::Number::New(env, size < 0 ? 0 : static_cast<double>(size)));
    // A bitfield member: its bit size (the codecs here use none; a check may refuse them).
    entry.Set("bitSize", Napi::Number::New(env, btf_member_bitfield_size(t, i)));
    members.Set(i, entry);
  }
  out.Set("members", members);
  return out;
}

}  // namespace xlb
