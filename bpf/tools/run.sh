#!/usr/bin/env bash
# run.sh [OBJECT...] - build lbtest and run it against each strategy object: the static fixture
# table, port exhaustion, and the FIB/devmap cases inside a throwaway network namespace.
# Needs root (BPF_PROG_TEST_RUN, netns). Default objects: the three built-in strategies.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
cc -O2 -Wall -Werror -I"$root/bpf/include" "$here/lbtest.c" -lbpf -o "$here/lbtest"
objs=("$@")
if [ ${#objs[@]} -eq 0 ]; then
  for s in hash random round-robin; do
    "$root/bpf/scripts/cc.sh" "$root/packages/strategies/$s/bpf/$s.bpf.c" "$root/packages/strategies/$s/obj/lb_$s.bpf.o"
    objs+=("$root/packages/strategies/$s/obj/lb_$s.bpf.o")
  done
fi

ns="lbtest-$$"
cleanup() { ip netns del "$ns" 2>/dev/null || true; }
trap cleanup EXIT
# The FIB lab: "in" (10.0.0.0/24, LB MAC 02::0b) with backend 10.0.0.21 resolved and 10.0.0.22 not;
# "out" (10.1.0.0/24, LB MAC 02::2b) with backend 10.1.0.31 resolved. Forwarding on, as deploy does.
ip netns add "$ns"
nsx() { ip netns exec "$ns" "$@"; }
nsx ip link set lo up
nsx ip link add in type veth peer name in-peer
nsx ip link add out type veth peer name out-peer
nsx ip link set in address 02:00:00:00:00:0b
nsx ip link set out address 02:00:00:00:00:2b
for l in in in-peer out out-peer; do nsx ip link set "$l" up; done
nsx ip addr add 10.0.0.2/24 dev in
nsx ip addr add 10.1.0.2/24 dev out
nsx ip neigh replace 10.0.0.21 lladdr 02:00:00:00:00:b1 dev in nud permanent
nsx ip neigh replace 10.1.0.31 lladdr 02:00:00:00:00:b2 dev out nud permanent
nsx sysctl -qw net.ipv4.conf.in.forwarding=1 net.ipv4.conf.out.forwarding=1
in_if=$(nsx cat /sys/class/net/in/ifindex)
out_if=$(nsx cat /sys/class/net/out/ifindex)

rc=0
for o in "${objs[@]}"; do
  echo "== $(basename "$o")"
  "$here/lbtest" "$o" || rc=1
  "$here/lbtest" "$o" --exhaustion || rc=1
  nsx "$here/lbtest" "$o" --fib "$in_if" "$out_if" || rc=1
done
exit $rc
