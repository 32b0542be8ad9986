// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* map_in_map - fixture for ARRAY_OF_MAPS: the verdict is slot 0 of whatever inner map user space
 * put in slot 0 of t_outer, so swapping the inner map swaps the verdict atomically. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct inner_verdicts {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, __u32);
	__uint(max_entries, 4);
};

/* Outer table: slot 0 holds the inner map currently in use. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__type(key, __u32);
	__uint(max_entries, 1);
	__array(values, struct inner_verdicts);
} t_outer SEC(".maps");

SEC("xdp")
int xdp_via_inner(struct xdp_md *ctx)
{
	__u32 slot = 0;
	void *inner = bpf_map_lookup_elem(&t_outer, &slot);
	__u32 *verdict;

	if (!inner)
		return XDP_ABORTED;
	verdict = bpf_map_lookup_elem(inner, &slot);
	return verdict ? (int)*verdict : XDP_ABORTED;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
