#!/usr/bin/env bash
# cc.sh SRC OUT [extra clang args...] - compile one BPF C file the one way the project does.
# UAPI headers come from the machine's linux-libc-dev (present wherever libc6-dev is), plus the
# multiarch include dir for <asm/types.h>; libbpf's bpf_helpers.h from libbpf-dev. No vmlinux.h:
# the data plane needs only UAPI structs, so the build does not depend on the running kernel's BTF.
# -mcpu=v3: the data plane uses BPF atomics with results (fetch-add, cmpxchg, xchg), kernel >= 5.12.
# Core compiles third-party strategy fragments with this same script.
set -euo pipefail
src=$1; out=$2; shift 2
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
multiarch=$(gcc -dumpmachine 2>/dev/null || echo "$(uname -m)-linux-gnu")
arch=$(uname -m); case "$arch" in x86_64) tarch=x86;; aarch64) tarch=arm64;; *) tarch=$arch;; esac
mkdir -p "$(dirname "$out")"
exec clang -target bpf -mcpu=v3 -O2 -g -Wall -Werror -Wno-unused-function \
  -D__TARGET_ARCH_"$tarch" \
  -I"$here/include" -I"$here" -I/usr/include/"$multiarch" \
  "$@" -c "$src" -o "$out"
