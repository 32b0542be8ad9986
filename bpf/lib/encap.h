/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* encap.h - DSR across L3 (Katran style): the client's packet, unchanged, inside an outer IP header
 * to the backend; the backend decapsulates it, holds the VIP on a loopback and answers the client
 * directly.
 *
 *   ipip (LB_FWD_IPIP): outer IPv4, protocol 4 (IPv4 inside) or 41 (IPv6 inside), to an IPv4 backend
 *   ip6ip6 (LB_FWD_IP6IP6): outer IPv6, next header 41 (IPv6 inside) or 4 (IPv4 inside), to an IPv6
 *   backend
 *   gue (LB_FWD_GUE): outer IP of the backend's family + UDP (GUE variant 1, RFC draft-ietf-intarea-gue
 *   section 4: the inner IP packet right after the UDP header, its version nibble telling 4 from 6),
 *   destination port gue_port, source port 49152 + 14 bits of the flow hash (RSS on the backend
 *   hashes the ports of a UDP packet), UDP checksum 0 (RFC 6935 for IPv6: the decapsulator accepts
 *   it; bpf/progs/xdp_decap does; a kernel fou/gue receiver needs udp6zerocsumrx)
 *
 * The outer source varies per flow, so that a backend NIC's RSS (which hashes the outer addresses of
 * a tunnel packet) spreads the flows over its queues: IPv4, the /16 prefix encap_src4 + the low 16
 * bits of a flow hash; IPv6, the /96 prefix encap_src6 + 32 bits of it (and 20 bits as the flow
 * label). These addresses only ever appear as sources: the backend answers from the inner packet.
 * Outer TTL/hop limit 64; the outer IPv4 DF bit and TOS copy the inner packet's (RFC 2003), the outer
 * IPv6 traffic class the inner one's.
 *
 * MTU: the packet grows by 20 (ipip) or 40 (ip6ip6) bytes, 28 or 48 (gue). One that would exceed the egress
 * interface's MTU is answered with ICMP fragmentation needed / packet too big carrying the MTU less
 * the outer header (lib/toobig.h), so that clients' path MTU discovery works through the LB; a
 * larger MTU on the LB-to-backend path (1520/1540 for 1500-byte client packets) avoids the round
 * trip. See bpf/README.md.
 */
#ifndef __LB_ENCAP_H
#define __LB_ENCAP_H

#include "lib/ctx.h"
#include "lib/config.h"
#include "lib/csum.h"

#define LB_ENCAP_SALT 0x1e4c0de5U /* separates the outer-source hash from the strategies' */
#define LB_IPV4_HLEN 20
#define LB_IPV6_HLEN 40
#define LB_UDP_HLEN 8
#define LB_GUE_SPORT_BASE 49152 /* gue outer source ports: 49152 + 14 bits of the flow hash */

/* The source and destination ports as one word, as lb_ft_hash and the slots take them. */
static __always_inline __u32 lb_ft_ports(const struct lb_flow *f)
{
	return *(const __u32 *)&f->sport;
}

/* The flow table's hash of an IPv4 flow (lb_hash.h lb_ft_hash; lib/flowtab.h). */
static __always_inline __u32 lb_ft_hash_of(const struct lb_flow *f)
{
	return lb_ft_hash(f->src.w[3], f->dst.w[3], lb_ft_ports(f), f->proto, CONFIG(hash_seed));
}

/* The outer-source hash of a flow. IPv4: the flow table's hash, so an lb_ft4 flow (which computes
 * it for its lookup) and an lb_ct flow (which keeps it in encap_hash) leave with the same outer
 * source, and four rounds do. IPv6: lb_hash_words() of the flow (bit for bit), as a loop (the
 * verifier walks its ten rounds): unrolled, clang hoists all ten loads and spills them, 80 bytes of
 * lb_encap's frame, on the deepest call chain (lb_icmp -> lb_forward -> lb_encap). */
static __always_inline __u32 lb_encap_hash(const struct lb_flow *f)
{
	const __u32 *w = (const __u32 *)f;
	__u32 h = CONFIG(hash_seed) ^ LB_ENCAP_SALT;
	int i;

	if (lb_addr_is_v4(&f->src))
		return lb_ft_hash_of(f);
#pragma clang loop unroll(disable)
	for (i = 0; i < LB_FLOW_WORDS; i++)
		h = lb_murmur_step(h, w[i]);
	h ^= (__u32)(LB_FLOW_WORDS * 4);
	return lb_fmix32(h);
}

/* The overhead of a forwarding mode towards backend @be (0: it does not encapsulate). */
static __always_inline int lb_encap_len(__u8 fwd, const struct lb_backend *be)
{
	if (fwd == LB_FWD_GUE)
		return lb_addr_is_v4(&be->addr) ? LB_IPV4_HLEN + LB_UDP_HLEN : LB_IPV6_HLEN + LB_UDP_HLEN;
	return fwd == LB_FWD_IPIP ? LB_IPV4_HLEN : fwd == LB_FWD_IP6IP6 ? LB_IPV6_HLEN : 0;
}

/* Grow the head by @olen (20 to 48) and write the @l2len-byte L2 header (14, or 18 with a VLAN tag)
 * at the new front: the next hop's MACs, the packet's VLAN tag, @type as the (inner) EtherType.
 * Returns where the outer IP header goes, or NULL. */
static __always_inline void *lb_encap_head(struct lb_ctx *c, int olen, __u32 l2len, __be16 type,
					   const struct lb_nh *nh)
{
	struct xdp_md *ctx = c->xdp;
	struct ethhdr *eth;
	void *data, *data_end;

	if (olen < LB_IPV4_HLEN || olen > LB_IPV6_HLEN + LB_UDP_HLEN || bpf_xdp_adjust_head(ctx, -olen))
		return NULL;
	data = (void *)(long)ctx->data;
	data_end = (void *)(long)ctx->data_end;
	if (data + olen + 18 > data_end) /* the old L2 header starts olen (>= 20) bytes in: no overlap */
		return NULL;
	eth = data;
	/* Of the old L2 header only a VLAN tag survives: the MACs are the next hop's, the EtherType
	 * @type. Nothing else is copied. */
	if (l2len == 14) {
		*(__be16 *)(data + 12) = type;
	} else {
		*(__u32 *)(data + 12) = *(__u32 *)(data + olen + 12);
		*(__be16 *)(data + 16) = type;
	}
	lb_macs_set(eth, nh);
	return l2len == 14 ? data + 14 : data + 18;
}

/**
 * lb_encap - put the packet in an outer header to @be and address the frame to next hop @nh.
 * @c: the packet (parsed; its pointers are invalid afterwards)
 * @be: the backend (its family must be the outer header's)
 * @nh: the next hop towards it
 * @fwd: LB_FWD_IPIP, LB_FWD_IP6IP6 or LB_FWD_GUE
 * @hash: the flow's lb_encap_hash (its entry's encap_hash); 0: computed here (an entry of an older
 *	  program)
 *
 * Call after every decision (the verdict is the caller's). Returns LB_CONTINUE, or XDP_DROP with
 * LB_R_DROP_ERROR (the backend's family does not match the mode, the head could not grow).
 */
static __noinline int lb_encap(struct lb_ctx *c, const struct lb_backend *be, const struct lb_nh *nh,
			      __u8 fwd, __u32 hash)
{
	struct lb_pkt *p = &c->pkt;
	struct xdp_md *ctx = c->xdp;
	__u32 inner_len, l2len = p->l2len, h;
	int gue = fwd == LB_FWD_GUE;
	int outer6 = gue ? !lb_addr_is_v4(&be->addr) : fwd == LB_FWD_IP6IP6;
	__u8 inner_proto = gue ? IPPROTO_UDP : p->v6 ? IPPROTO_IPV6 : IPPROTO_IPIP;
	__u32 ulen = gue ? LB_UDP_HLEN : 0; /* the UDP header after the outer IP header */
	int olen = (outer6 ? LB_IPV6_HLEN : LB_IPV4_HLEN) + ulen;
	struct udphdr *uh;
	__u8 tclass;
	__be16 df, id;
	void *data_end, *oh, *in;

	if (outer6 == lb_addr_is_v4(&be->addr) || (l2len != 14 && l2len != 18))
		goto error;
	h = hash ? hash : lb_encap_hash(&p->flow);
	/* The hash, room, then the inner header's fields read where it now sits: few values live at
	 * once (the unrolled hash, the helper call), so this frame stays small (lb_icmp -> lb_forward -> here is the deepest
	 * call chain: 512 bytes for all of it). One inlined copy of the head for the four layouts. */
	oh = lb_encap_head(c, olen, l2len, outer6 ? bpf_htons(ETH_P_IPV6) : bpf_htons(ETH_P_IP), nh);
	if (!oh)
		goto error;
	data_end = (void *)(long)ctx->data_end;
	in = oh + olen;
	if (p->v6) {
		struct ipv6hdr *ip6 = in;

		if ((void *)(ip6 + 1) > data_end)
			goto error;
		tclass = (ip6->priority << 4) | (ip6->flow_lbl[0] >> 4);
		inner_len = LB_IPV6_HLEN + bpf_ntohs(ip6->payload_len);
		df = bpf_htons(LB_IP_DF);
		id = 0;
	} else {
		struct iphdr *ip = in;

		if ((void *)(ip + 1) > data_end)
			goto error;
		tclass = ip->tos;
		inner_len = bpf_ntohs(ip->tot_len);
		df = ip->frag_off & bpf_htons(LB_IP_DF);
		id = ip->id;
	}

	if (!outer6) {
		struct iphdr *ip = oh;

		if ((void *)(ip + 1) > data_end)
			goto error;
		ip->version = 4;
		ip->ihl = 5;
		ip->tos = tclass;
		ip->tot_len = bpf_htons(inner_len + ulen + LB_IPV4_HLEN);
		ip->id = id;
		ip->frag_off = df;
		ip->ttl = 64;
		ip->protocol = inner_proto;
		ip->check = 0;
		ip->saddr = (CONFIG(encap_src4) & bpf_htonl(0xffff0000)) | bpf_htonl(h & 0xffff);
		ip->daddr = be->addr.w[3];
		ip->check = lb_csum_ipv4_full(ip);
		uh = (void *)(ip + 1);
	} else {
		struct ipv6hdr *ip6 = oh;
		__be32 *w;

		if ((void *)(ip6 + 1) > data_end)
			goto error;
		/* version 6, traffic class, flow label = 20 bits of the flow hash */
		*(__be32 *)ip6 = bpf_htonl(0x60000000U | ((__u32)tclass << 20) | (h & 0xfffff));
		ip6->payload_len = bpf_htons(inner_len + ulen);
		ip6->nexthdr = inner_proto;
		ip6->hop_limit = 64;
		w = ip6->saddr.in6_u.u6_addr32;
		w[0] = CONFIG(encap_src6).w[0];
		w[1] = CONFIG(encap_src6).w[1];
		w[2] = CONFIG(encap_src6).w[2];
		w[3] = bpf_htonl(h);
		w = ip6->daddr.in6_u.u6_addr32;
		w[0] = be->addr.w[0];
		w[1] = be->addr.w[1];
		w[2] = be->addr.w[2];
		w[3] = be->addr.w[3];
		uh = (void *)(ip6 + 1);
	}
	if (gue) {
		if ((void *)(uh + 1) > data_end)
			goto error;
		uh->source = bpf_htons(LB_GUE_SPORT_BASE | (h & 0x3fff));
		uh->dest = bpf_htons(CONFIG(gue_port));
		uh->len = bpf_htons(inner_len + LB_UDP_HLEN);
		uh->check = 0;
	}
	return LB_CONTINUE;

error:
	c->reason = LB_R_DROP_ERROR;
	return XDP_DROP;
}

#endif /* __LB_ENCAP_H */
