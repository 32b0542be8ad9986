// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* xdp_count_drop - counts every frame (packets, bytes) per CPU and drops it: the benchmark's
 * receiver. Userspace sums the CPUs of cd_stats[0]. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct cd_counters {
	__u64 packets;
	__u64 bytes; /* frame length, all fragments of a multi-buffer frame included */
};

/* Per-CPU totals, one entry. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct cd_counters);
} cd_stats SEC(".maps");

SEC("xdp")
int xdp_count_drop(struct xdp_md *ctx)
{
	__u32 zero = 0;
	struct cd_counters *c = bpf_map_lookup_elem(&cd_stats, &zero);

	if (c) {
		c->packets += 1;
		c->bytes += bpf_xdp_get_buff_len(ctx);
	}
	return XDP_DROP;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
