#!/usr/bin/env bash
# Compile bpf/progs/*.bpf.c (utility programs: the veth peer's XDP_PASS, the bench hairpin, ...)
# into bpf/obj/. Strategy objects are built by their own packages with the same cc.sh.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
mkdir -p "$here/obj"
for src in "$here"/progs/*.bpf.c; do
  "$here/scripts/cc.sh" "$src" "$here/obj/$(basename "${src%.c}").o"
done
