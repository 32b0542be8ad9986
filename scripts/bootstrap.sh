#!/usr/bin/env bash
# bootstrap.sh - the one idempotent setup behind both README commands: Debian packages, bpffs,
# npm ci, and the builds (BPF objects, the native addon, the TypeScript packages). Safe to re-run;
# each step is skipped when already done.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

say() { printf '\033[1mxdp-lb setup:\033[0m %s\n' "$*"; }
die() { printf 'xdp-lb setup: %s\n' "$*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || die "must run as root (it loads BPF programs, attaches XDP and creates network namespaces); try: sudo $0"

# Debian packages: the BPF toolchain, libbpf for the addon, and the tools the lab and tests drive.
# wrk, nginx, haproxy and nftables are the benchmark's load generator and comparison points; bird2
# announces VIPs over BGP (deploy/bgp, the scale-out tests); systemd gives systemd-analyze for the unit.
pkgs=(clang llvm libbpf-dev libelf-dev zlib1g-dev bpftool iproute2 ethtool gcc g++ make cmake pkg-config
      curl iputils-ping util-linux procps python3 wrk nginx-light haproxy nftables bird2 systemd)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  say "installing ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# Kernel: BPF syscall, bpffs for pins, BTF. XDP itself is probed by the addon after the build.
[ -e /proc/sys/net/core/bpf_jit_enable ] || die "this kernel has no BPF JIT/BPF syscall support (CONFIG_BPF_SYSCALL)"
if ! mountpoint -q /sys/fs/bpf; then
  say "mounting bpffs on /sys/fs/bpf"
  mount -t bpf bpf /sys/fs/bpf || die "cannot mount bpffs on /sys/fs/bpf"
fi

# Node: 20.19+ (vitest 4, nx 22).
node -e 'const [a,b]=process.versions.node.split(".").map(Number); process.exit(a>20||(a===20&&b>=19)?0:1)' \
  || die "Node.js >= 20.19 is required (found $(node --version 2>/dev/null || echo none))"

# npm ci only when the lock file changed since the last install.
stamp=node_modules/.xdp-lb-lock.sha
want=$(sha256sum package-lock.json | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  say "npm ci"
  npm ci --no-audit --no-fund --loglevel=error
  echo "$want" > "$stamp"
fi

# Builds: nx caches each on its inputs, so a re-run is quick.
say "building BPF objects, the native addon and the packages"
npx nx run-many -t build-bpf build-native build --outputStyle=static --parallel=2 >/tmp/xdp-lb-build.log 2>&1 \
  || { tail -n 60 /tmp/xdp-lb-build.log >&2; die "build failed (full log: /tmp/xdp-lb-build.log)"; }
say "ready"
