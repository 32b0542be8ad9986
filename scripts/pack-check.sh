#!/usr/bin/env bash
# pack-check.sh - does `npm pack` of each package give a working package? Packs every public
# workspace package into a temporary directory, checks what each tarball holds (the prebuilt BPF
# objects, the native addon for this platform and its sources, the built JavaScript), installs the
# tarballs into a fresh project the way a user would (`npm install ./*.tgz`: no install scripts run,
# none are needed), and checks that the installed CLI runs: `lb --help`, the native addon loads
# against the system libbpf, every strategy finds its object, `lb config check` validates the
# examples. Then the documented step for other platforms: with the prebuilt addon moved aside, the
# load error names it, `npx xdp-lb-native-build` rebuilds the addon from the installed sources, and
# the CLI and the addon load again (the rest, and --demo, use the rebuilt addon).
#
#   bash scripts/pack-check.sh                 # all of the above (needs the builds: scripts/bootstrap.sh)
#   bash scripts/pack-check.sh --demo          # and, as root, `lb demo` from the installed CLI: the
#                                              # lab, a deploy, real HTTP through it, teardown
#   bash scripts/pack-check.sh --pack-only DIR # only pack the tarballs into DIR (the container build)
#
# Dependencies (zod, yaml, ...) come from npm's cache when they are there (--prefer-offline).
# Exit 0 when everything holds; otherwise one line per problem and exit 1.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
root=$PWD

pack_only=""
demo=0
keep=0
while [ $# -gt 0 ]; do
  case "$1" in
    --pack-only) pack_only=${2:?--pack-only needs a directory}; shift 2 ;;
    --demo) demo=1; shift ;;
    --keep) keep=1; shift ;;
    -h|--help) sed -n '2,18p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "pack-check: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
done

say() { printf 'pack-check: %s\n' "$*"; }
problems=0
fail() { printf 'pack-check: FAIL %s\n' "$*" >&2; problems=$((problems + 1)); }

# The public workspace packages (private ones, like bpf/, are never published).
mapfile -t pkgs < <(node -e '
  const fs = require("fs"), path = require("path");
  const root = require("./package.json");
  const dirs = [];
  for (const w of root.workspaces) {
    if (w.endsWith("/*")) { const base = w.slice(0, -2); for (const d of fs.readdirSync(base).sort()) if (fs.existsSync(path.join(base, d, "package.json"))) dirs.push(path.join(base, d)); }
    else dirs.push(w);
  }
  for (const d of dirs) { const p = require("./" + d + "/package.json"); if (!p.private) console.log(d); }
')
[ ${#pkgs[@]} -gt 0 ] || { echo "pack-check: no packages found" >&2; exit 1; }

for d in "${pkgs[@]}"; do
  [ -d "$d/dist" ] || { echo "pack-check: $d/dist is missing: build first (bash scripts/bootstrap.sh, or npx nx run-many -t build-bpf build-native build)" >&2; exit 1; }
done

tmp=$(mktemp -d /tmp/xdp-lb-pack-check.XXXXXX)
cleanup() { if [ "$keep" = 1 ]; then say "kept $tmp"; else rm -rf "$tmp"; fi; }
trap cleanup EXIT
tarballs=$(realpath -m "${pack_only:-$tmp/tarballs}")
mkdir -p "$tarballs"

say "packing ${#pkgs[@]} packages"
for d in "${pkgs[@]}"; do
  (cd "$d" && npm pack --silent --pack-destination "$tarballs" >/dev/null 2>"$tmp/pack.err") \
    || { cat "$tmp/pack.err" >&2; echo "pack-check: npm pack failed in $d" >&2; exit 1; }
done
if [ -n "$pack_only" ]; then say "tarballs in $pack_only"; exit 0; fi

# What each tarball must hold beyond its package.json.
tarball_of() { node -e 'const p=require(process.argv[1]); console.log(p.name.replace(/^@/,"").replace("/","-")+"-"+p.version+".tgz")' "$root/$1/package.json"; }
need() { # need DIR PATH...: the tarball of package DIR contains each PATH
  local d=$1; shift
  local t; t="$tarballs/$(tarball_of "$d")"
  [ -f "$t" ] || { fail "$d: no tarball $t"; return; }
  local list; list=$(tar tzf "$t")
  for p in "$@"; do grep -qx "package/$p" <<<"$list" || fail "$d: $(basename "$t") lacks $p"; done
}
for d in "${pkgs[@]}"; do need "$d" package.json dist/index.js; done
need packages/native build/Release/xdp_lb_native.node CMakeLists.txt scripts/build-addon.mjs \
  $(cd packages/native && ls addon/*.cc addon/*.h)
need packages/cli dist/main.js
# The built-in strategies' program, prebuilt (cli:build-bpf): an install runs them without clang.
need packages/cli $(cd packages/cli && ls obj/lb_*.bpf.o)
need packages/core dist/bpf/lb.bpf.h dist/bpf/scripts/cc.sh dist/bpf/obj/xdp_root.bpf.o dist/bpf/obj/xdp_tx.bpf.o \
  dist/bpf/obj/xdp_ext_target.bpf.o dist/bpf/obj/xdp_ext_member.bpf.o dist/bpf/obj/xdp_pass.bpf.o
need packages/netlab lab-scripts/keepalive-client.mjs obj/xdp_pass.bpf.o
for s in packages/strategies/*/; do
  s=${s%/}; id=$(basename "$s")
  need "$s" "obj/lb_${id}.bpf.o"
done

say "installing the tarballs into a fresh project"
app=$tmp/app
mkdir -p "$app"
(cd "$app" && npm init -y >/dev/null && npm install --prefer-offline --no-audit --no-fund --loglevel=error "$tarballs"/*.tgz >"$tmp/install.log" 2>&1) \
  || { cat "$tmp/install.log" >&2; echo "pack-check: npm install of the tarballs failed" >&2; exit 1; }
lb=$app/node_modules/.bin/lb
[ -x "$lb" ] || fail "the installed CLI has no bin lb"

# Nothing from the repository may leak in: run from the app, with no workspace around it.
cd "$app"
if out=$("$lb" --help 2>&1); then
  grep -q 'Usage: lb' <<<"$out" || fail "lb --help printed no usage: $out"
else
  fail "lb --help failed: $out"
fi
# Every strategy package of the workspace (a strategy is its package: none is listed here).
strategy_pkgs=$(for s in "$root"/packages/strategies/*/; do node -p "require('${s}package.json').name"; done | paste -sd, -)
STRATEGY_PKGS=$strategy_pkgs node --input-type=module -e '
  const native = await import("@xdp-lb/native");
  if (typeof native.BpfMap !== "function") throw new Error("@xdp-lb/native exports no BpfMap");
  const fs = await import("node:fs");
  for (const pkg of process.env.STRATEGY_PKGS.split(",")) {
    const m = await import(pkg);
    const s = Object.values(m).find((v) => v && typeof v === "object" && "objectPath" in v);
    if (!s) throw new Error(pkg + ": no strategy export");
    for (const f of [s.objectPath, s.fragmentPath]) {
      if (!f || !fs.existsSync(f)) throw new Error(pkg + ": its BPF object or fragment is missing at " + f);
      if (!f.includes("/node_modules/")) throw new Error(pkg + ": resolved outside the install: " + f);
    }
  }
' 2>"$tmp/node.err" || fail "the installed packages do not load: $(tail -3 "$tmp/node.err")"
# The documented step where the prebuilt addon does not fit: build it from the installed sources.
# Without the addon, loading names the step; the step rebuilds it (plain cmake, no devDependencies,
# no network); then everything loads again, and a second run has nothing to do.
native=$app/node_modules/@xdp-lb/native
native_ok='const n = await import("@xdp-lb/native"); if (typeof n.BpfMap !== "function") throw new Error("@xdp-lb/native exports no BpfMap")'
if [ ! -x "$app/node_modules/.bin/xdp-lb-native-build" ]; then
  fail "the installed @xdp-lb/native has no bin xdp-lb-native-build"
else
  mv "$native/build" "$tmp/prebuilt-build"
  if out=$(node --input-type=module -e "$native_ok" 2>&1); then
    fail "@xdp-lb/native loaded without its addon"
  else
    grep -q 'npx xdp-lb-native-build' <<<"$out" || fail "without the addon, the load error does not name npx xdp-lb-native-build: $(grep -m1 'xdp-lb/native' <<<"$out")"
  fi
  say "rebuilding the native addon from the installed sources (npx xdp-lb-native-build)"
  if ! npx --no-install xdp-lb-native-build >"$tmp/native-build.log" 2>&1; then
    tail -20 "$tmp/native-build.log" >&2
    fail "npx xdp-lb-native-build failed in the installed project"
  elif [ ! -f "$native/build/Release/xdp_lb_native.node" ]; then
    fail "npx xdp-lb-native-build left no build/Release/xdp_lb_native.node"
  else
    node --input-type=module -e "$native_ok" 2>"$tmp/node.err" || fail "the rebuilt addon does not load: $(tail -3 "$tmp/node.err")"
    out=$("$lb" --help 2>&1) && grep -q 'Usage: lb' <<<"$out" || fail "lb --help with the rebuilt addon failed: $out"
    out=$(npx --no-install xdp-lb-native-build 2>&1) && grep -q 'nothing to do' <<<"$out" \
      || fail "a second npx xdp-lb-native-build did not find the addon loading: $out"
  fi
fi

for f in "$root"/deploy/examples/lb.yaml "$root"/deploy/examples/production.yaml; do
  [ -f "$f" ] || continue
  out=$("$lb" config check "$f" 2>&1) || grep -q 'no interface named' <<<"$out" || fail "lb config check $(basename "$f"): $out"
done

# The data plane's headers and compile script ship inside @xdp-lb/core (dist/bpf): a third-party
# strategy fragment compiles from the install alone (clang needed; nothing of this checkout used).
if command -v clang >/dev/null; then
  cat >"$tmp/fragment.yaml" <<EOF
strategy: $root/deploy/examples/strategies/subnet-affinity/bpf/subnet-affinity.bpf.c
interfaces: [lo]
services:
  - {vip: 198.18.0.10:80, forward: dsr, backends: [198.18.0.11, 198.18.0.12]}
EOF
  out=$(cd "$app" && env -u XDP_LB_BPF_DIR XDP_LB_CACHE_DIR="$tmp/fragment-cache" "$lb" config check "$tmp/fragment.yaml" 2>&1) \
    || fail "a third-party fragment does not compile from the installed packages: $out"
fi

# lb doctor (root): its probes load the utility objects shipped in @xdp-lb/core (dist/bpf/obj).
if [ "$(id -u)" = 0 ]; then
  if out=$("$lb" doctor -o json 2>&1); then
    node -e 'const r = JSON.parse(process.argv[1]); const c = r.checks.find((x) => x.id === "chain"); if (!c || c.status !== "ok") process.exit(1)' "$out" \
      || fail "lb doctor from the installed CLI did not find chain mode working: $(tail -3 <<<"$out")"
  else
    fail "lb doctor from the installed CLI failed: $(tail -3 <<<"$out")"
  fi
fi

if [ "$demo" = 1 ]; then
  [ "$(id -u)" = 0 ] || { fail "--demo needs root"; }
  say "lb demo from the installed CLI"
  export XDP_LB_BPFFS=/sys/fs/bpf/xdp-lb-pack-check-$$ XDP_LB_STATE_DIR=$tmp/state
  # Everything from the install: netlab's own obj/xdp_pass.bpf.o (the lab's veth peers), never this checkout's.
  unset XDP_LB_XDP_PASS_OBJ XDP_LB_BPF_DIR
  if ! timeout 240 "$lb" demo --clients 2 --backends 2 --requests 4 >"$tmp/demo.log" 2>&1; then
    tail -20 "$tmp/demo.log" >&2
    fail "lb demo from the installed CLI failed"
  fi
  rm -rf "$XDP_LB_BPFFS"
fi

if [ "$problems" -gt 0 ]; then echo "pack-check: $problems problem(s)" >&2; exit 1; fi
say "ok: ${#pkgs[@]} packages pack, install and run"
