// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* xdp_count_pass - counts every frame per CPU (cp_stats[0]) and passes it: the last slot of a test
 * chain (bpf/README.md "Chaining with other XDP programs"), which shows what reached it. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} cp_stats SEC(".maps");

SEC("xdp")
int xdp_count_pass(struct xdp_md *ctx)
{
	__u32 zero = 0;
	__u64 *n = bpf_map_lookup_elem(&cp_stats, &zero);

	if (n)
		*n += 1;
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
