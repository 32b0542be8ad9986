// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* config_verdict - fixture for BpfObject and BpfMap tests: a rodata knob set before load decides
 * the verdict, globals in .data/.bss, and one map of each kind the control plane uses. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

/* The verdict xdp_verdict returns; user space sets it before load (setVariable). */
const volatile __u32 cfg_verdict = XDP_PASS;
/* Frames seen by xdp_verdict (.bss), and a marker with a non-zero initial value (.data). */
__u64 seen_frames = 0;
__u32 data_marker = 0x5eed;

struct pair {
	__u32 a;
	__u32 b;
};

/* Hash map; xdp_from_map returns the value stored under key 7 as its verdict. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, __u32);
	__type(value, __u64);
	__uint(max_entries, 64);
} t_hash SEC(".maps");

/* Array of 8-byte structs. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, struct pair);
	__uint(max_entries, 8);
} t_array SEC(".maps");

/* Per-CPU counter: slot 0 counts xdp_verdict runs. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__type(key, __u32);
	__type(value, __u64);
	__uint(max_entries, 4);
} t_percpu SEC(".maps");

/* LRU hash, the conntrack shape. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__type(key, __u32);
	__type(value, __u32);
	__uint(max_entries, 16);
} t_lru SEC(".maps");

SEC("xdp")
int xdp_verdict(struct xdp_md *ctx)
{
	__u32 slot = 0;
	__u64 *runs = bpf_map_lookup_elem(&t_percpu, &slot);

	if (runs)
		(*runs)++;
	__sync_fetch_and_add(&seen_frames, 1);
	return cfg_verdict;
}

SEC("xdp")
int xdp_from_map(struct xdp_md *ctx)
{
	__u32 key = 7;
	__u64 *verdict = bpf_map_lookup_elem(&t_hash, &key);

	return verdict ? (int)*verdict : XDP_PASS;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
