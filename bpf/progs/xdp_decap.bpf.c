// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* xdp_decap - the backend side of the ipip / ip6ip6 / gue forwarding modes, for labs and tests (this
 * kernel has no ipip module) and for backends that would rather not configure tunnel devices: an
 * IPv4 packet of protocol 4 (IPv4) or 41 (IPv6) without options and not fragmented, or an IPv6
 * packet whose next header is 41 or 4, loses its outer header; so does (gue) one of protocol /
 * next header UDP to port gue_port whose payload starts with an IPv4 or IPv6 header (GUE variant 1:
 * the version nibble tells which), losing the UDP header too (its checksum is not checked: the LB
 * sends 0, and the inner packet carries its own). The inner packet goes up the stack as if it had
 * arrived so (the backend holds the VIP on a loopback and answers the client directly). Everything
 * else passes untouched. One Ethernet header, no VLAN.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/udp.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

/* gue: the UDP destination port of encapsulated packets (host order; the LB's gue_port). */
const volatile __u32 gue_port = 6080;

SEC("xdp")
int xdp_decap(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	unsigned char macs[12];
	__be16 inner;
	int olen;
	__u8 p;

	if ((void *)(eth + 1) > data_end)
		return XDP_PASS;
	if (eth->h_proto == bpf_htons(ETH_P_IP)) {
		struct iphdr *ip = (void *)(eth + 1);

		if ((void *)(ip + 1) > data_end || ip->ihl != 5 || (ip->frag_off & bpf_htons(0x3fff)))
			return XDP_PASS;
		p = ip->protocol;
		olen = sizeof(*ip);
	} else if (eth->h_proto == bpf_htons(ETH_P_IPV6)) {
		struct ipv6hdr *ip6 = (void *)(eth + 1);

		if ((void *)(ip6 + 1) > data_end)
			return XDP_PASS;
		p = ip6->nexthdr;
		olen = sizeof(*ip6);
	} else {
		return XDP_PASS;
	}
	if (p == IPPROTO_IPIP) {
		inner = bpf_htons(ETH_P_IP);
	} else if (p == IPPROTO_IPV6) {
		inner = bpf_htons(ETH_P_IPV6);
	} else if (p == IPPROTO_UDP) {
		struct udphdr *uh = (void *)(eth + 1) + olen;
		__u8 *v = (void *)(uh + 1);

		if ((void *)(v + 1) > data_end || uh->dest != bpf_htons(gue_port))
			return XDP_PASS;
		if ((*v >> 4) == 4)
			inner = bpf_htons(ETH_P_IP);
		else if ((*v >> 4) == 6)
			inner = bpf_htons(ETH_P_IPV6);
		else
			return XDP_PASS; /* a GUE header (variant 0): not ours */
		olen += sizeof(*uh);
	} else {
		return XDP_PASS;
	}

	__builtin_memcpy(macs, eth, sizeof(macs));
	if (bpf_xdp_adjust_head(ctx, olen))
		return XDP_PASS;
	data = (void *)(long)ctx->data;
	data_end = (void *)(long)ctx->data_end;
	eth = data;
	if ((void *)(eth + 1) > data_end)
		return XDP_DROP; /* cannot happen: the inner packet is at least as long */
	__builtin_memcpy(eth, macs, sizeof(macs));
	eth->h_proto = inner;
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
