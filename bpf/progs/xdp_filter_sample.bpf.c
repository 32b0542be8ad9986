// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* xdp_filter_sample - a sample member of an XDP chain (bpf/README.md "Chaining with other XDP
 * programs"), for tests and as a template: drops UDP to filter_udp_port (IPv4, or IPv6 with UDP
 * as the first next header), and tail-calls slot chain_next_slot of lb_root_progs with every
 * other packet (XDP_PASS when that slot is empty or chain_next_slot is 0xffffffff).
 * filter_stats (per CPU): [0] dropped, [1] passed on. */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/udp.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include "lb_chain.h"

const volatile __u32 filter_udp_port = 0; /* host order; 0: drop nothing */
const volatile __u32 chain_next_slot = LB_CHAIN_OFF;

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, __u64);
} filter_stats SEC(".maps");

static __always_inline void count(__u32 i)
{
	__u64 *n = bpf_map_lookup_elem(&filter_stats, &i);

	if (n)
		*n += 1;
}

/* Is the frame UDP to filter_udp_port? */
static __always_inline int filtered(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct udphdr *udp;
	__u8 proto;

	if (!filter_udp_port || (void *)(eth + 1) > end)
		return 0;
	if (eth->h_proto == bpf_htons(ETH_P_IP)) {
		struct iphdr *ip = (void *)(eth + 1);

		if ((void *)(ip + 1) > end || ip->ihl < 5)
			return 0;
		if (ip->frag_off & bpf_htons(0x1fff)) /* a later fragment: no ports */
			return 0;
		proto = ip->protocol;
		udp = (void *)ip + ip->ihl * 4;
	} else if (eth->h_proto == bpf_htons(ETH_P_IPV6)) {
		struct ipv6hdr *ip6 = (void *)(eth + 1);

		if ((void *)(ip6 + 1) > end)
			return 0;
		proto = ip6->nexthdr;
		udp = (void *)(ip6 + 1);
	} else {
		return 0;
	}
	if (proto != IPPROTO_UDP || (void *)(udp + 1) > end)
		return 0;
	return udp->dest == bpf_htons((__u16)filter_udp_port);
}

SEC("xdp")
int xdp_filter_sample(struct xdp_md *ctx)
{
	if (filtered(ctx)) {
		count(0);
		return XDP_DROP;
	}
	count(1);
	if (chain_next_slot != LB_CHAIN_OFF)
		bpf_tail_call(ctx, &lb_root_progs, chain_next_slot);
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
