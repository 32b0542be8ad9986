/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* parse.h - bounds-checked cursor parsing of Ethernet (one 802.1Q/802.1ad tag), IPv4, IPv6 (and its
 * extension headers), TCP, UDP and the ICMP/ICMPv6 header.
 *
 * Each parser checks bounds with the "pointer + 1 > data_end" idiom (a pointer one past the header
 * must not pass the end of the packet), fills struct lb_pkt and returns LB_CONTINUE, or XDP_PASS
 * with *reason set: the packet is then passed untouched and the kernel decides. The flow key holds
 * 16-byte addresses (IPv4 mapped), so everything after parsing is family-agnostic but the rewrites.
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
#define LB_IP_DF 0x4000
#define LB_IP_MF 0x2000
#define LB_IP_OFFSET 0x1fff

/* IPv6 fragment header frag_off bits (host order). */
#define LB_IP6_OFFSET 0xfff8
#define LB_IP6_MF 0x0001

/* At most this many IPv6 extension headers are skipped before the upper-layer header. */
#ifndef LB_IPV6_MAX_EXT
#define LB_IPV6_MAX_EXT 6
#endif

#ifndef IPPROTO_ICMPV6
#define IPPROTO_ICMPV6 58
#endif
#define LB_IPPROTO_HOPOPTS 0
#define LB_IPPROTO_ROUTING 43
#define LB_IPPROTO_FRAGMENT 44
#define LB_IPPROTO_DSTOPTS 60

/* lb_pkt.frag */
#define LB_FRAG_NONE 0
#define LB_FRAG_FIRST 1 /* more fragments follow, offset 0: carries the L4 header */
#define LB_FRAG_LATER 2 /* offset > 0: no L4 header */

/* lb_parse_l4: neither TCP nor UDP (ICMP, ...): the caller decides. */
#define LB_NOT_L4 (-2)

struct lb_vlan_hdr {
	__be16 tci;
	__be16 proto; /* encapsulated EtherType */
};

/* The IPv6 fragment header (RFC 8200 4.5). */
struct lb_frag6_hdr {
	__u8 nexthdr;
	__u8 reserved;
	__be16 frag_off; /* offset (13 bits, 8-octet units) << 3 | M */
	__be32 id;
};

/* The first 8 bytes of an ICMP or ICMPv6 message. */
struct lb_icmp_hdr {
	__u8 type;
	__u8 code;
	__sum16 checksum;
	__be32 rest; /* echo: id, sequence; frag needed / packet too big: the MTU; ... */
};

/* A parsed packet. Pointers are packet pointers that passed their bounds check. */
struct lb_pkt {
	void *data_end;
	struct ethhdr *eth;
	void *l3;            /* struct iphdr (v6 = 0) or struct ipv6hdr (v6 = 1); see lb_ip4(), lb_ip6() */
	void *l4;            /* the upper-layer header (TCP, UDP, ICMP; absent for a later fragment) */
	__sum16 *l4_csum;    /* the TCP or UDP checksum field */
	struct lb_flow flow; /* 5-tuple as it arrived, zero padding: conntrack key and hash input */
	__u32 len;           /* L2 header + IP packet (IPv4 total length, IPv6 40 + payload length) */
	__u32 frag_id;       /* fragments: the IPv4 identification (network order, 16 bits) or IPv6's */
	__u8 tcp_flags;      /* LB_TCP_*, 0 for UDP */
	__u8 frag;           /* LB_FRAG_* */
	__u8 v6;             /* 1 for IPv6 */
	__u8 l2len;          /* 14, or 18 with a VLAN tag */
	__u8 ext;            /* IPv6: extension headers precede the upper-layer header */
	__u8 frag_proto;     /* fragments: the protocol every fragment names (IPv4 protocol, IPv6
			      * fragment header's next header) */
	__u16 l4_off;        /* l4 as an offset from the frame's start (for global functions) */
};

/* What lb_ip6_exthdrs() found after the IPv6 header. */
struct lb_ip6_ext {
	__u32 l4_off; /* offset of the upper-layer header from the frame's start */
	__u32 frag_id;
	__u8 proto;   /* the upper-layer protocol (a fragment header's next header for a fragment) */
	__u8 frag;    /* LB_FRAG_* */
	__u8 ext;     /* 1 if extension headers were skipped */
	__u8 frag_proto; /* the fragment header's next header */
};

/**
 * lb_ip6_exthdrs - walk the extension headers that follow an IPv6 header (RFC 8200 4): skips
 * hop-by-hop, routing (only with no segments left: otherwise the VIP is not the final destination),
 * destination options and AH, and notes a fragment header.
 * @ctx: the XDP context
 * @off: offset of the first header after the fixed IPv6 header (its type is @nexthdr)
 * @nexthdr: the fixed header's next header
 * @out: filled on success
 *
 * A global (not inlined, separately verified) function: however many ways the walk can go, the
 * pipeline after it sees one state (an offset), which keeps the program's verification small.
 * Returns 0, or an enum lb_reason to pass the packet with (malformed, unsupported).
 */
__noinline int lb_ip6_exthdrs(struct xdp_md *ctx, __u32 off, __u32 nexthdr, struct lb_ip6_ext *out)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	__u8 nh = nexthdr;
	void *h;
	int i;

	if (!out)
		return LB_R_PASS_MALFORMED;
	out->ext = 0;
	out->frag = LB_FRAG_NONE;
	out->frag_id = 0;
	out->frag_proto = 0;
	if (off > 256)
		return LB_R_PASS_MALFORMED;
	h = data + off;
#pragma unroll
	for (i = 0; i <= LB_IPV6_MAX_EXT; i++) { /* the last round may only find the upper layer */
		if (nh == LB_IPPROTO_HOPOPTS || nh == LB_IPPROTO_DSTOPTS || nh == LB_IPPROTO_ROUTING ||
		    nh == IPPROTO_AH) {
			struct ipv6_rt_hdr *o = h; /* nexthdr, hdrlen, (routing: type, segments left) */

			if (i == LB_IPV6_MAX_EXT)
				break;
			if ((void *)(o + 1) > data_end)
				return LB_R_PASS_MALFORMED;
			if (nh == LB_IPPROTO_ROUTING && o->segments_left)
				return LB_R_PASS_UNSUPPORTED;
			h += nh == IPPROTO_AH ? (o->hdrlen + 2) * 4 : (o->hdrlen + 1) * 8;
			nh = o->nexthdr;
			out->ext = 1;
		} else if (nh == LB_IPPROTO_FRAGMENT) {
			struct lb_frag6_hdr *f = h;
			__u16 fo;

			if (i == LB_IPV6_MAX_EXT)
				break;
			if ((void *)(f + 1) > data_end)
				return LB_R_PASS_MALFORMED;
			fo = bpf_ntohs(f->frag_off);
			out->frag_id = f->id;
			out->frag_proto = f->nexthdr;
			nh = f->nexthdr;
			h = f + 1;
			out->ext = 1;
			if (fo & LB_IP6_OFFSET) {
				out->frag = LB_FRAG_LATER;
				goto done;
			}
			if (fo & LB_IP6_MF)
				out->frag = LB_FRAG_FIRST; /* else an atomic fragment (RFC 6946): whole */
		} else {
			goto done;
		}
	}
	return LB_R_PASS_UNSUPPORTED; /* more extension headers than we skip */
done:
	if (h > data_end)
		return LB_R_PASS_MALFORMED;
	out->l4_off = h - data;
	out->proto = nh;
	return 0;
}

/* The IPv6 header at @ip6 (extension headers: lb_ip6_exthdrs()). */
static __always_inline int lb_parse_ip6(struct xdp_md *ctx, struct lb_pkt *p, struct ipv6hdr *ip6,
					__u32 *reason)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = p->data_end;
	struct lb_ip6_ext x;
	__u32 l4_off;
	int r;

	if ((void *)(ip6 + 1) > data_end)
		goto malformed;
	if (ip6->version != 6)
		goto malformed;
	if ((void *)(ip6 + 1) + bpf_ntohs(ip6->payload_len) > data_end)
		goto malformed;
	p->l3 = ip6;
	p->v6 = 1;
	p->len = p->l2len + sizeof(*ip6) + bpf_ntohs(ip6->payload_len);
	p->tcp_flags = 0;
	__builtin_memset(&p->flow, 0, sizeof(p->flow));
	__builtin_memcpy(&p->flow.src, &ip6->saddr, sizeof(p->flow.src));
	__builtin_memcpy(&p->flow.dst, &ip6->daddr, sizeof(p->flow.dst));

	/* always through the walker, also without extension headers: one verifier state for IPv6 */
	r = lb_ip6_exthdrs(ctx, (void *)(ip6 + 1) - data, ip6->nexthdr, &x);
	if (r) {
		*reason = r;
		return XDP_PASS;
	}
	l4_off = x.l4_off;
	if (l4_off > 2048)
		goto malformed;
	p->l4 = data + l4_off;
	p->l4_off = l4_off;
	p->flow.proto = x.proto;
	p->frag = x.frag;
	p->frag_id = x.frag_id;
	p->frag_proto = x.frag_proto;
	p->ext = x.ext;
	return LB_CONTINUE;

malformed:
	*reason = LB_R_PASS_MALFORMED;
	return XDP_PASS;
}

/**
 * lb_parse_l3 - parse Ethernet, one optional VLAN tag and the IPv4 or IPv6 header (with IPv6's
 * extension headers).
 * @ctx: the XDP context
 * @p: filled: data_end, eth, l3, l4, flow.src/dst/proto, len, frag, frag_id, v6, l2len
 * @reason: set when the return value is XDP_PASS
 *
 * Returns LB_CONTINUE for a well-formed IP packet (IPv4 options allowed: IHL 5..15), or XDP_PASS with
 * LB_R_PASS_NOT_OURS (neither IPv4 nor IPv6: ARP, a second VLAN tag, ...), LB_R_PASS_MALFORMED
 * (truncated, IHL < 5, a length field past the frame) or LB_R_PASS_UNSUPPORTED (an IPv6 routing
 * header with segments left, too many extension headers).
 */
static __always_inline int lb_parse_l3(struct xdp_md *ctx, struct lb_pkt *p, __u32 *reason)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct iphdr *ip;
	void *cur;
	__be16 proto;
	__u32 hlen, tot;
	__u16 frag;

	p->data_end = data_end;
	p->ext = 0;
	if ((void *)(eth + 1) > data_end)
		goto malformed;
	p->eth = eth;
	cur = eth + 1;
	p->l2len = sizeof(*eth);
	proto = eth->h_proto;
	if (proto == bpf_htons(ETH_P_8021Q) || proto == bpf_htons(ETH_P_8021AD)) {
		struct lb_vlan_hdr *vh = cur;

		if ((void *)(vh + 1) > data_end)
			goto malformed;
		proto = vh->proto;
		cur = vh + 1;
		p->l2len += sizeof(*vh);
	}
	if (proto != bpf_htons(ETH_P_IP)) {
		if (proto == bpf_htons(ETH_P_IPV6))
			return lb_parse_ip6(ctx, p, cur, reason);
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

	p->l3 = ip;
	p->v6 = 0;
	p->l4 = cur + hlen;
	p->l4_off = p->l2len + hlen;
	p->len = p->l2len + tot;
	frag = bpf_ntohs(ip->frag_off);
	p->frag = (frag & LB_IP_OFFSET) ? LB_FRAG_LATER : (frag & LB_IP_MF) ? LB_FRAG_FIRST : LB_FRAG_NONE;
	p->frag_id = ip->id;
	p->frag_proto = ip->protocol;
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
 * lb_parse_l4 - parse the TCP or UDP header that follows the IP header(s).
 * @p: a packet lb_parse_l3 accepted; filled: l4_csum, flow.sport/dport, tcp_flags
 * @reason: set when the return value is XDP_PASS
 *
 * Returns LB_CONTINUE, LB_NOT_L4 (neither TCP nor UDP: ICMP and others, for the caller), or
 * XDP_PASS with LB_R_PASS_MALFORMED: a header cut short by the frame or by the IP length (bytes
 * after the IP packet are Ethernet padding, never a header), TCP data offset < 5 or past the IP
 * packet, a UDP length below 8 or (not fragmented) above what the IP packet holds, a UDP checksum
 * of 0 over IPv6 (RFC 8200 forbids it).
 *
 * A UDP length below what the IP packet holds is accepted: RFC 768 defines the datagram by its
 * length field, Linux trims the surplus and delivers the datagram (udp_rcv), and UDP options (RFC
 * 9868) live in exactly that surplus. Forwarding it is safe: the UDP checksum covers only the
 * length field's bytes, and NAT patches it for the addresses and ports alone. A first fragment's
 * UDP length counts the whole datagram, so only its lower bound is checked there.
 * Must not be called for an LB_FRAG_LATER fragment (it has no L4 header).
 */
static __always_inline int lb_parse_l4(struct lb_pkt *p, __u32 *reason)
{
	void *data_end = p->data_end;
	__u32 room; /* bytes of the IP packet from the L4 header on */

	if (p->l4_off > p->len)
		goto malformed;
	room = p->len - p->l4_off;
	if (p->flow.proto == IPPROTO_TCP) {
		struct tcphdr *tcp = p->l4;
		__u32 doff;

		if ((void *)(tcp + 1) > data_end)
			goto malformed;
		doff = tcp->doff;
		if (doff < 5 || (void *)tcp + doff * 4 > data_end || doff * 4 > room)
			goto malformed;
		p->flow.sport = tcp->source;
		p->flow.dport = tcp->dest;
		p->tcp_flags = ((__u8 *)tcp)[13];
		p->l4_csum = &tcp->check;
		return LB_CONTINUE;
	}
	if (p->flow.proto == IPPROTO_UDP) {
		struct udphdr *udp = p->l4;

		__u32 ulen;

		if ((void *)(udp + 1) > data_end)
			goto malformed;
		ulen = bpf_ntohs(udp->len);
		if (ulen < sizeof(*udp) || room < sizeof(*udp) || (p->frag == LB_FRAG_NONE && ulen > room))
			goto malformed;
		if (p->v6 && !udp->check)
			goto malformed;
		p->flow.sport = udp->source;
		p->flow.dport = udp->dest;
		p->l4_csum = &udp->check;
		return LB_CONTINUE;
	}
	return LB_NOT_L4;

malformed:
	*reason = LB_R_PASS_MALFORMED;
	return XDP_PASS;
}

/* The IPv4 header of a packet with v6 = 0, or NULL. The bounds are checked again here, so that the
 * verifier accepts every path whatever it knows about v6 (one compare). */
static __always_inline struct iphdr *lb_ip4(const struct lb_pkt *p)
{
	struct iphdr *ip = p->l3;

	if ((void *)(ip + 1) > p->data_end)
		return NULL;
	return ip;
}

/* The IPv6 header of a packet with v6 = 1, or NULL (bounds checked again, see lb_ip4()). */
static __always_inline struct ipv6hdr *lb_ip6(const struct lb_pkt *p)
{
	struct ipv6hdr *ip6 = p->l3;

	if ((void *)(ip6 + 1) > p->data_end)
		return NULL;
	return ip6;
}

#endif /* __LB_PARSE_H */
