/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* reset.h - answer a client's TCP packet with an RST (RFC 9293 3.10.7.1: a segment of a
 * connection that does not exist), out of the interface it came in on.
 *
 * Used where the LB knows a connection cannot go on and dropping the packet would leave the client
 * waiting for its own timeout: a non-SYN packet of a flow whose entry is gone and that cannot be
 * tracked again (flood mode, no SNAT port), or a NAT flow that lost its port. A SYN is never reset
 * (it is dropped: the client retransmits it, and the next attempt may succeed), nor an RST, a
 * fragment or an IPv6 packet with extension headers (dropped as before).
 *
 * The packet itself becomes the RST: MACs, addresses and ports swapped, options and payload cut
 * (bpf_xdp_adjust_tail), sequence numbers as the RFC says (the peer's ACK number if it sent one,
 * else sequence 0 with an ACK of everything it sent), checksums computed anew. lb_tcp_reset is a
 * global function: verified once, with its own view of the packet after the tail moved.
 *
 * The other use (nat.h lb_nat_reset_orphan): a backend's reply to a NAT flow whose forward entry
 * was evicted (its reverse entry still names the client) is turned into an RST to the client in
 * place (@answer 0: addresses, ports and sequence number kept, already rewritten towards the
 * client): the client, waiting for that very data, learns that the connection is gone (RFC 5961:
 * the sequence number is the one it expects) instead of waiting for its own timeout.
 */
#ifndef __LB_RESET_H
#define __LB_RESET_H

#include "lib/ctx.h"
#include "lib/csum.h"

/* Largest L2 + L3 header lb_tcp_reset handles: VLAN (18) + IPv6 (40). */
#define LB_RST_MAX_HDRS (18 + 40)

/**
 * lb_tcp_reset - turn the TCP packet in @ctx into the RST that answers it.
 * @ctx: the XDP context
 * @l2len: the Ethernet header's length (14, or 18 with a VLAN tag)
 * @l3len: the IP header's length (IPv4: 20, no options; IPv6: 40, no extension headers)
 * @v6: 1 for IPv6
 * @answer: 1: the RST that answers the packet (back to its sender: MACs, addresses, ports swapped);
 *	    0: the packet itself becomes an RST (same addresses, ports, sequence number; MACs untouched)
 *
 * Returns 0 with the packet rewritten (send it back with XDP_TX), or -1 with the packet untouched.
 */
__noinline int lb_tcp_reset(struct xdp_md *ctx, __u32 l2len, __u32 l3len, __u32 v6, __u32 answer)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	__u32 l4off, paylen, seq, ack, sum, newlen, hdrs;
	__u8 flags;
	struct tcphdr *th;
	struct ethhdr *eth;

	if (l2len < 14 || l2len > 18 || l3len != (v6 ? 40 : 20))
		return -1;
	l4off = l2len + l3len;
	if (l4off > LB_RST_MAX_HDRS)
		return -1;
	th = data + l4off;
	if ((void *)(th + 1) > end)
		return -1;
	flags = ((__u8 *)th)[13];
	if (flags & LB_TCP_RST)
		return -1;
	hdrs = l3len + th->doff * 4;
	if (v6) {
		struct ipv6hdr *ip6 = data + l2len;

		if ((void *)(ip6 + 1) > end)
			return -1;
		paylen = bpf_ntohs(ip6->payload_len) + 40;
	} else {
		struct iphdr *ip = data + l2len;

		if ((void *)(ip + 1) > end)
			return -1;
		paylen = bpf_ntohs(ip->tot_len);
	}
	paylen = paylen > hdrs ? paylen - hdrs : 0;
	if (!answer) {
		seq = th->seq;
		ack = 0;
		flags = LB_TCP_RST;
	} else if (flags & LB_TCP_ACK) {
		seq = th->ack_seq;
		ack = 0;
		flags = LB_TCP_RST;
	} else {
		seq = 0;
		ack = bpf_htonl(bpf_ntohl(th->seq) + paylen + !!(flags & LB_TCP_SYN) + !!(flags & LB_TCP_FIN));
		flags = LB_TCP_RST | LB_TCP_ACK;
	}

	newlen = l4off + sizeof(struct tcphdr);
	/* the frame's length from the helper: pointer differences in 32 bits upset the verifier */
	if (bpf_xdp_adjust_tail(ctx, (int)newlen - (int)bpf_xdp_get_buff_len(ctx)))
		return -1;
	data = (void *)(long)ctx->data;
	end = (void *)(long)ctx->data_end;
	eth = data;
	if (l4off > LB_RST_MAX_HDRS || data + l4off + sizeof(struct tcphdr) > end ||
	    (void *)(eth + 1) > end)
		return -1;
	th = data + l4off;

	if (answer) {
		__be16 p = th->source;

		/* swapped in registers: this function's frame adds to lb_vip_miss's (512-byte stack) */
		__u32 d0 = *(__u32 *)eth->h_dest;
		__u16 d1 = *(__u16 *)(eth->h_dest + 4);

		*(__u32 *)eth->h_dest = *(__u32 *)eth->h_source;
		*(__u16 *)(eth->h_dest + 4) = *(__u16 *)(eth->h_source + 4);
		*(__u32 *)eth->h_source = d0;
		*(__u16 *)(eth->h_source + 4) = d1;
		th->source = th->dest;
		th->dest = p;
	}

	/* TCP: the RST's numbers, no options, no data */
	th->seq = seq;
	th->ack_seq = ack;
	((__u8 *)th)[12] = 5 << 4;
	((__u8 *)th)[13] = flags;
	th->window = 0;
	th->urg_ptr = 0;
	th->check = 0;
	sum = (__u32)bpf_csum_diff(0, 0, (__be32 *)th, sizeof(*th), 0);

	if (v6) {
		struct ipv6hdr *ip6 = data + l2len;

		if ((void *)(ip6 + 1) > end)
			return -1;
		if (answer) {
			__u32 i;

#pragma unroll
			for (i = 0; i < 4; i++) {
				__u32 t = ip6->saddr.in6_u.u6_addr32[i];

				ip6->saddr.in6_u.u6_addr32[i] = ip6->daddr.in6_u.u6_addr32[i];
				ip6->daddr.in6_u.u6_addr32[i] = t;
			}
		}
		ip6->payload_len = bpf_htons(sizeof(*th));
		ip6->hop_limit = 64;
		sum = (__u32)bpf_csum_diff(0, 0, (__be32 *)&ip6->saddr, 32, sum);
	} else {
		struct iphdr *ip = data + l2len;
		__be32 a;

		if ((void *)(ip + 1) > end)
			return -1;
		if (answer) {
			a = ip->saddr;
			ip->saddr = ip->daddr;
			ip->daddr = a;
		}
		ip->tot_len = bpf_htons(l3len + sizeof(*th));
		ip->ttl = 64;
		ip->frag_off = bpf_htons(LB_IP_DF);
		ip->check = 0;
		ip->check = lb_csum_ipv4_full(ip);
		sum = lb_csum_add(sum, ip->saddr);
		sum = lb_csum_add(sum, ip->daddr);
	}
	sum = lb_csum_add(sum, bpf_htonl(IPPROTO_TCP + sizeof(*th)));
	th->check = (__sum16)~lb_csum_fold(sum);
	return 0;
}

/**
 * lb_reset_client - answer the client's TCP packet with an RST instead of dropping it.
 * @c: the packet; c->reason is the drop reason, kept when no RST can be sent
 *
 * Returns XDP_TX (LB_R_RESET, the packet rewritten) or XDP_DROP (untouched).
 */
static __always_inline int lb_reset_client(struct lb_ctx *c)
{
	const struct lb_pkt *p = &c->pkt;

	if (p->flow.proto != IPPROTO_TCP || (p->tcp_flags & (LB_TCP_RST | LB_TCP_SYN)) ||
	    p->frag != LB_FRAG_NONE || p->ext)
		return XDP_DROP;
	if (lb_tcp_reset(c->xdp, p->l2len, (__u32)p->l4_off - p->l2len, p->v6, 1))
		return XDP_DROP;
	c->reason = LB_R_RESET;
	return XDP_TX;
}

#endif /* __LB_RESET_H */
