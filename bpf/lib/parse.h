/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* parse.h - bounds-checked cursor parsing of Ethernet (one 802.1Q/802.1ad tag), IPv4, TCP and UDP.
 *
 * Each parser checks bounds with the "pointer + 1 > data_end" idiom (a pointer one past the header
 * must not pass the end of the packet), fills struct lb_pkt and returns LB_CONTINUE, or XDP_PASS
 * with *reason set: the packet is then passed untouched and the kernel decides.
 * IPv6 is recognised and passed (its parser is a later issue); the flow key already holds 16-byte
 * addresses, so everything after parsing is family-agnostic.
 */
#ifndef __LB_PARSE_H
#define __LB_PARSE_H

#include "lib/common.h"

/* TCP flags byte (offset 13 of the TCP header). */
#define LB_TCP_FIN 0x01
#define LB_TCP_SYN 0x02
#define LB_TCP_RST 0x04
#define LB_TCP_ACK 0x10

/* IPv4 frag_off bits (host order). */
#define LB_IP_MF 0x2000
#define LB_IP_OFFSET 0x1fff

/* lb_pkt.frag */
#define LB_FRAG_NONE 0
#define LB_FRAG_FIRST 1 /* MF set, offset 0: carries the L4 header */
#define LB_FRAG_LATER 2 /* offset > 0: no L4 header */

struct lb_vlan_hdr {
	__be16 tci;
	__be16 proto; /* encapsulated EtherType */
};

/* A parsed packet. Pointers are packet pointers that passed their bounds check. */
struct lb_pkt {
	void *data_end;
	struct ethhdr *eth;
	struct iphdr *ip4;
	void *l4;           /* struct tcphdr or struct udphdr */
	__sum16 *l4_csum;   /* the TCP or UDP checksum field */
	struct lb_flow flow; /* 5-tuple as it arrived, zero padding: conntrack key and hash input */
	__u32 len;          /* L2 header + IP total length: the byte counters' unit */
	__u8 tcp_flags;     /* LB_TCP_*, 0 for UDP */
	__u8 frag;          /* LB_FRAG_* */
	__u8 pad[2];
};

/**
 * lb_parse_l3 - parse Ethernet, one optional VLAN tag and the IPv4 header.
 * @ctx: the XDP context
 * @p: filled: data_end, eth, ip4, flow.src/dst/proto, len, frag
 * @reason: set when the return value is XDP_PASS
 *
 * Returns LB_CONTINUE for a well-formed IPv4 packet (options allowed: IHL 5..15), or XDP_PASS with
 * LB_R_PASS_NOT_OURS (not IPv4: ARP, IPv6, a second VLAN tag, ...) or LB_R_PASS_MALFORMED
 * (truncated, IHL < 5, total length shorter than the header or longer than the frame).
 */
static __always_inline int lb_parse_l3(struct xdp_md *ctx, struct lb_pkt *p, __u32 *reason)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct iphdr *ip;
	void *cur;
	__be16 proto;
	__u32 hlen, tot, l2len;
	__u16 frag;

	p->data_end = data_end;
	if ((void *)(eth + 1) > data_end)
		goto malformed;
	p->eth = eth;
	cur = eth + 1;
	l2len = sizeof(*eth);
	proto = eth->h_proto;
	if (proto == bpf_htons(ETH_P_8021Q) || proto == bpf_htons(ETH_P_8021AD)) {
		struct lb_vlan_hdr *vh = cur;

		if ((void *)(vh + 1) > data_end)
			goto malformed;
		proto = vh->proto;
		cur = vh + 1;
		l2len += sizeof(*vh);
	}
	if (proto != bpf_htons(ETH_P_IP)) {
		*reason = LB_R_PASS_NOT_OURS;
		return XDP_PASS;
	}

	ip = cur;
	if ((void *)(ip + 1) > data_end)
		goto malformed;
	if (ip->version != 4 || ip->ihl < 5)
		goto malformed;
	hlen = ip->ihl * 4;
	if (cur + hlen > data_end)
		goto malformed;
	tot = bpf_ntohs(ip->tot_len);
	if (tot < hlen || cur + tot > data_end)
		goto malformed;

	p->ip4 = ip;
	p->l4 = cur + hlen;
	p->len = l2len + tot;
	frag = bpf_ntohs(ip->frag_off);
	p->frag = (frag & LB_IP_OFFSET) ? LB_FRAG_LATER : (frag & LB_IP_MF) ? LB_FRAG_FIRST : LB_FRAG_NONE;
	p->tcp_flags = 0;

	__builtin_memset(&p->flow, 0, sizeof(p->flow));
	lb_addr_set_v4(&p->flow.src, ip->saddr);
	lb_addr_set_v4(&p->flow.dst, ip->daddr);
	p->flow.proto = ip->protocol;
	return LB_CONTINUE;

malformed:
	*reason = LB_R_PASS_MALFORMED;
	return XDP_PASS;
}

/**
 * lb_parse_l4 - parse the TCP or UDP header that follows the IPv4 header.
 * @p: a packet lb_parse_l3 accepted; filled: l4_csum, flow.sport/dport, tcp_flags
 * @reason: set when the return value is XDP_PASS
 *
 * Returns LB_CONTINUE, or XDP_PASS with LB_R_PASS_UNSUPPORTED (neither TCP nor UDP: ICMP, ...) or
 * LB_R_PASS_MALFORMED (truncated header, TCP data offset < 5 or past the end).
 * Must not be called for an LB_FRAG_LATER fragment (it has no L4 header).
 */
static __always_inline int lb_parse_l4(struct lb_pkt *p, __u32 *reason)
{
	void *data_end = p->data_end;

	if (p->flow.proto == IPPROTO_TCP) {
		struct tcphdr *tcp = p->l4;
		__u32 doff;

		if ((void *)(tcp + 1) > data_end)
			goto malformed;
		doff = tcp->doff;
		if (doff < 5 || (void *)tcp + doff * 4 > data_end)
			goto malformed;
		p->flow.sport = tcp->source;
		p->flow.dport = tcp->dest;
		p->tcp_flags = ((__u8 *)tcp)[13];
		p->l4_csum = &tcp->check;
		return LB_CONTINUE;
	}
	if (p->flow.proto == IPPROTO_UDP) {
		struct udphdr *udp = p->l4;

		if ((void *)(udp + 1) > data_end)
			goto malformed;
		p->flow.sport = udp->source;
		p->flow.dport = udp->dest;
		p->l4_csum = &udp->check;
		return LB_CONTINUE;
	}
	*reason = LB_R_PASS_UNSUPPORTED;
	return XDP_PASS;

malformed:
	*reason = LB_R_PASS_MALFORMED;
	return XDP_PASS;
}

#endif /* __LB_PARSE_H */
