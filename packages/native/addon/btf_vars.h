// btf_vars.h - the global variables of an object, read from its BTF: for each non-static variable
// in a data section (.rodata, .data, .bss, .rodata.*, .data.*) its section, offset and size, and
// the internal map that holds the section's initial value.
#pragma once

#include <bpf/libbpf.h>

#include <cstdint>
#include <string>
#include <vector>

namespace xlb {

struct GlobalVariable {
  std::string name;
  std::string section;
  uint32_t offset = 0;
  uint32_t size = 0;
  bpf_map* map = nullptr;
};

std::vector<GlobalVariable> ListGlobalVariables(bpf_object* obj);

}  // namespace xlb
