#!/usr/bin/env bash
# Compile the test fixture programs tests/bpf/*.bpf.c into obj/ with the project's one BPF compile
# command (bpf/scripts/cc.sh). These objects exist only to exercise the addon against a real kernel.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cc="$here/../../bpf/scripts/cc.sh"
mkdir -p "$here/obj"
for src in "$here"/tests/bpf/*.bpf.c; do
  "$cc" "$src" "$here/obj/$(basename "${src%.c}").o"
done
