// btf_vars.cc - see btf_vars.h. libbpf has already fixed up the data sections' sizes and the
// variables' offsets in the object's BTF when bpf_object__open returns, so they are valid before load.
#include "btf_vars.h"

#include <bpf/btf.h>

namespace xlb {

std::vector<GlobalVariable> ListGlobalVariables(bpf_object* obj) {
  std::vector<GlobalVariable> vars;
  const struct btf* btf = bpf_object__btf(obj);
  if (btf == nullptr) return vars;
  __u32 count = btf__type_cnt(btf);
  for (__u32 id = 1; id < count; id++) {
    const struct btf_type* sec = btf__type_by_id(btf, id);
    if (sec == nullptr || !btf_is_datasec(sec)) continue;
    const char* secName = btf__name_by_offset(btf, sec->name_off);
    if (secName == nullptr) continue;
    // Only sections backed by an internal map have settable values (.kconfig and .ksyms do not).
    bpf_map* map = bpf_object__find_map_by_name(obj, secName);
    if (map == nullptr || !bpf_map__is_internal(map)) continue;
    const struct btf_var_secinfo* info = btf_var_secinfos(sec);
    for (__u16 i = 0; i < btf_vlen(sec); i++, info++) {
      const struct btf_type* var = btf__type_by_id(btf, info->type);
      if (var == nullptr || !btf_is_var(var)) continue;
      if (btf_var(var)->linkage == BTF_VAR_STATIC) continue;
      GlobalVariable gv;
      gv.name = btf__name_by_offset(btf, var->name_off);
      gv.section = secName;
      gv.offset = info->offset;
      gv.size = info->size;
      gv.map = map;
      vars.push_back(std::move(gv));
    }
  }
  return vars;
}

}  // namespace xlb
