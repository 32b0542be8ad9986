#!/usr/bin/env bash
# ship-bpf.sh - runs after tsup: puts into dist/bpf/ what core needs at run time from the workspace's
# bpf/ project, so an installed @xdp-lb/core (npm pack) finds it the way the workspace does
# (strategy/external.ts bpfSourceDir() walks up from the module to the first bpf/lb.bpf.h):
#   - the skeleton's headers (lb.bpf.h, include/, lib/) and scripts/cc.sh: third-party strategy
#     fragments compile against them with the project's one compile command (needs clang, llvm,
#     libbpf-dev and gcc where that happens);
#   - the utility objects core loads itself: xdp_root (chain mode's root program; xdp_tx, a member
#     for `lb doctor`'s probe of it) and
#     xdp_ext_target/xdp_ext_member (`lb doctor`'s probe of extension programs, libxdp's mechanism),
#     xdp_pass (deploy puts it on a veth's peer for native mode: lifecycle/link-prep.ts).
# From src/ (tests, the workspace) the walk reaches the workspace's bpf/ itself, never a stale copy.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
bpf="$here/../../bpf"
out="$here/dist/bpf"
objects=(xdp_root xdp_tx xdp_ext_target xdp_ext_member xdp_pass)
for o in "${objects[@]}"; do
  [ -f "$bpf/obj/$o.bpf.o" ] || { echo "ship-bpf: $bpf/obj/$o.bpf.o is missing: run npx nx run bpf:build-bpf first" >&2; exit 1; }
done
rm -rf "$out"
mkdir -p "$out/obj"
cp "$bpf/lb.bpf.h" "$out/"
cp -r "$bpf/include" "$bpf/lib" "$out/"
mkdir -p "$out/scripts"
cp "$bpf/scripts/cc.sh" "$out/scripts/"
for o in "${objects[@]}"; do cp "$bpf/obj/$o.bpf.o" "$out/obj/"; done
