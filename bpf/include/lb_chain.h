/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* lb_chain.h - the program array of an xdp-lb chain (LB_MAP_ROOT_PROGS, bpf/README.md "Chaining"),
 * declared the one way every program of a chain declares it: the root (progs/xdp_root), the lb
 * (lib/maps.h) and any member (progs/xdp_filter_sample, third-party filters). The control plane
 * pins the root's array and makes each member reuse it by fd before load, so all their tail calls
 * reach the same slots; a program loaded alone gets an empty array of its own. BPF side only. */
#ifndef __LB_CHAIN_H
#define __LB_CHAIN_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include "lb_abi.h"

struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(max_entries, LB_ROOT_SLOTS);
	__type(key, __u32);
	__type(value, __u32);
} lb_root_progs SEC(".maps");

#endif /* __LB_CHAIN_H */
