// fd_util.h - small helpers around BPF file descriptors: what kind of object an fd refers to, info
// queries and owning close.
#pragma once

#include <linux/bpf.h>

#include <string>

namespace xlb {

// "map", "prog", "link", "btf" or "" (not a BPF fd), from the fd's anon-inode name.
std::string BpfFdKind(int fd);

// bpf_obj_get_info_by_fd for each kind; return 0 or a positive errno.
int MapInfoByFd(int fd, bpf_map_info* info);
int ProgInfoByFd(int fd, bpf_prog_info* info);
int LinkInfoByFd(int fd, bpf_link_info* info);

// The 8-byte program tag as 16 hex digits, as bpftool prints it.
std::string TagHex(const unsigned char* tag, size_t size);

// Opens a pinned BPF object and checks it is of `kind`; returns the fd, or -errno.
// EINVAL with *actualKind set when the pin is another kind of BPF object.
int OpenPinned(const std::string& path, const std::string& kind, std::string* actualKind);

void CloseFd(int& fd);

}  // namespace xlb
