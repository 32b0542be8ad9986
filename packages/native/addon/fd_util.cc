// fd_util.cc - see fd_util.h.
#include "fd_util.h"

#include <bpf/bpf.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace xlb {

std::string BpfFdKind(int fd) {
  // bpf_obj_get_info_by_fd cannot tell kinds apart (it fills whatever struct it is given), but the
  // anon inode names can: "anon_inode:bpf-map", "anon_inode:bpf-prog", "anon_inode:bpf_link".
  char link[64];
  std::string procPath = "/proc/self/fd/" + std::to_string(fd);
  ssize_t n = readlink(procPath.c_str(), link, sizeof(link) - 1);
  if (n <= 0) return "";
  link[n] = '\0';
  std::string name(link);
  if (name == "anon_inode:bpf-map") return "map";
  if (name == "anon_inode:bpf-prog") return "prog";
  if (name == "anon_inode:bpf_link" || name == "anon_inode:bpf-link") return "link";
  if (name == "anon_inode:btf") return "btf";
  return "";
}

namespace {

template <typename Info>
int InfoByFd(int fd, Info* info) {
  std::memset(info, 0, sizeof(*info));
  __u32 len = sizeof(*info);
  if (bpf_obj_get_info_by_fd(fd, info, &len) != 0) return errno;
  return 0;
}

}  // namespace

int MapInfoByFd(int fd, bpf_map_info* info) { return InfoByFd(fd, info); }
int ProgInfoByFd(int fd, bpf_prog_info* info) { return InfoByFd(fd, info); }
int LinkInfoByFd(int fd, bpf_link_info* info) { return InfoByFd(fd, info); }

std::string TagHex(const unsigned char* tag, size_t size) {
  static const char* digits = "0123456789abcdef";
  std::string hex;
  for (size_t i = 0; i < size; i++) {
    hex += digits[tag[i] >> 4];
    hex += digits[tag[i] & 0xf];
  }
  return hex;
}

int OpenPinned(const std::string& path, const std::string& kind, std::string* actualKind) {
  int fd = bpf_obj_get(path.c_str());
  if (fd < 0) return -errno;
  std::string found = BpfFdKind(fd);
  if (found != kind) {
    if (actualKind != nullptr) *actualKind = found;
    close(fd);
    return -EINVAL;
  }
  return fd;
}

void CloseFd(int& fd) {
  if (fd >= 0) close(fd);
  fd = -1;
}

}  // namespace xlb
