// addon.cc - the one registration point: the handle classes, the free functions and the
// constants, plus libbpf's print callback (see libbpf_log.h).
#include <napi.h>

#include "addon_data.h"
#include "bpf_link.h"
#include "bpf_map.h"
#include "bpf_object.h"
#include "bpf_program.h"
#include "libbpf_log.h"
#include "ring_buffer.h"
#include "module_functions.h"

namespace xlb {

Napi::Object InitAddon(Napi::Env env, Napi::Object exports) {
  InstallLibbpfPrint();

  auto* data = new AddonData();
  env.SetInstanceData<AddonData>(data);

  Napi::Function bpfObject = BpfObject::Init(env);
  Napi::Function bpfMap = BpfMap::Init(env);
  Napi::Function bpfProgram = BpfProgram::Init(env);
  Napi::Function bpfLink = BpfLink::Init(env);
  data->bpfObject = Napi::Persistent(bpfObject);
  data->bpfMap = Napi::Persistent(bpfMap);
  data->bpfProgram = Napi::Persistent(bpfProgram);
  data->bpfLink = Napi::Persistent(bpfLink);
  Napi::Function ringBuffer = RingBuffer::Init(env);
  data->ringBuffer = Napi::Persistent(ringBuffer);

  exports.DefineProperties({
      Napi::PropertyDescriptor::Value("BpfObject", bpfObject, napi_enumerable),
      Napi::PropertyDescriptor::Value("BpfMap", bpfMap, napi_enumerable),
      Napi::PropertyDescriptor::Value("BpfProgram", bpfProgram, napi_enumerable),
      Napi::PropertyDescriptor::Value("BpfLink", bpfLink, napi_enumerable),
      Napi::PropertyDescriptor::Value("RingBuffer", ringBuffer, napi_enumerable),
  });
  RegisterXdpFunctions(env, exports);
  RegisterNetnsFunctions(env, exports);
  RegisterSystemFunctions(env, exports);
  RegisterFileLockFunctions(env, exports);
  RegisterConstants(env, exports);
  return exports;
}

}  // namespace xlb

static Napi::Object Init(Napi::Env env, Napi::Object exports) { return xlb::InitAddon(env, exports); }

NODE_API_MODULE(xdp_lb_native, Init)
