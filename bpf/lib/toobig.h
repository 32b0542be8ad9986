/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* toobig.h - path MTU discovery through the LB: a client packet that would not fit the egress
 * interface's MTU once forwarded (ipip / ip6ip6: 20 / 40 bytes longer; dsr and nat: to another
 * interface with a smaller MTU) is answered with ICMP "fragmentation needed" (IPv4, type 3 code 4,
 * RFC 1191) or ICMPv6 "packet too big" (type 2, RFC 8201), carrying the MTU the client must use: the
 * egress MTU less the encapsulation. Without it the client's TCP never learns the path MTU and large
 * transfers stall (a PMTU black hole), since the LB cannot fragment.
 *
 * The message goes back out of the ingress interface (XDP_TX, the frame's MACs swapped), from the
 * VIP (the destination the client addressed) to the client, quoting the first LB_TOOBIG_QUOTE bytes
 * of the packet from its IP header on (enough for the client to match its socket; RFC 792 asks for
 * the header + 8 bytes, RFC 4443 for as much as fits 1280). Counted as LB_R_ICMP_TOO_BIG.
 *
 * Dropped instead, counted as LB_R_DROP_TOO_BIG: an IPv4 packet without DF (the client allowed
 * fragmentation, which XDP cannot do: send smaller or set DF), a fragment, a packet shorter than
 * the quote (an egress MTU below it), and everything past the rate limit: icmp_too_big_rate
 * messages per second per CPU, with a burst of one second's worth (a GCRA bucket in lb_scratch:
 * no map, no shared write). IPv6: an MTU below 1280 is announced as 1280 (RFC 8200's minimum).
 */
#ifndef __LB_TOOBIG_H
#define __LB_TOOBIG_H

#include "lib/ctx.h"
#include "lib/config.h"
#include "lib/maps.h"
#include "lib/csum.h"
#include "lib/encap.h"

#define LB_TOOBIG_QUOTE 128 /* bytes of the offending packet quoted (a multiple of 4: bpf_csum_diff) */
#define LB_TOOBIG4_TYPE 3 /* destination unreachable, */
#define LB_TOOBIG4_CODE 4 /* fragmentation needed and DF set */
#define LB_TOOBIG6_TYPE 2 /* packet too big */
#define LB_IPV6_MIN_MTU 1280
#define LB_IPV4_MIN_MTU 68

DECLARE_CONFIG(__u32, icmp_too_big_rate, 1000,
	       "ICMP fragmentation-needed / packet-too-big messages per second per CPU (0: none, too-big packets are dropped)");

/* One message's worth from this CPU's bucket at @now (the coarse clock)? GCRA: @tat, the
 * theoretical arrival time, moves one interval per message and may run at most a second ahead. */
static __always_inline int lb_toobig_token(__u64 now)
{
	struct lb_scratch *s = lb_scratch_get();
	__u64 tat, rate = CONFIG(icmp_too_big_rate);

	if (!s || !rate)
		return 0;
	tat = s->toobig_tat > now ? s->toobig_tat : now;
	if (tat >= now + LB_NSEC_PER_SEC) /* a full second's worth (@rate messages) already sent */
		return 0;
	s->toobig_tat = tat + LB_NSEC_PER_SEC / rate;
	return 1;
}

/* Replace the packet (@l2len bytes of L2 header, then the IP packet) by its first LB_TOOBIG_QUOTE
 * bytes of IP with @hlen bytes of room before them for the error's IP and ICMP headers, the L2
 * header moved to the front with the MACs swapped. Returns where the error's IP header goes. */
static __always_inline void *lb_toobig_frame(struct lb_ctx *c, const int hlen, __u32 l2len, __be16 type)
{
	struct xdp_md *ctx = c->xdp;
	struct lb_nh back __attribute__((aligned(8))); /* the way back: the MACs swapped */
	struct ethhdr *eth = c->pkt.eth;
	int flen = (int)(c->pkt.data_end - (void *)eth);

	lb_mac_copy(back.dmac, eth->h_source);
	lb_mac_copy(back.smac, eth->h_dest);
	if (bpf_xdp_adjust_tail(ctx, (int)(l2len + LB_TOOBIG_QUOTE) - flen))
		return NULL;
	return lb_encap_head(c, hlen, l2len, type, &back);
}

/* The ICMP checksum over the header and the quote (@sum: a pseudo-header's partial sum, or 0). */
static __always_inline __sum16 lb_toobig_csum(struct lb_icmp_hdr *ih, __u32 sum)
{
	__s64 s = bpf_csum_diff(0, 0, (__be32 *)ih, sizeof(*ih) + LB_TOOBIG_QUOTE, sum);

	return (__sum16)~lb_csum_fold((__u32)s);
}

/**
 * lb_too_big - answer a packet that does not fit the path to its backend (see the top of this file).
 * @c: the packet (parsed, not yet rewritten; its pointers are invalid afterwards)
 * @mtu: the MTU the client must use (egress MTU less the encapsulation)
 *
 * Returns XDP_TX (the error, LB_R_ICMP_TOO_BIG) or XDP_DROP (LB_R_DROP_TOO_BIG; LB_R_DROP_ERROR when
 * the packet could not be reshaped). Not inlined: only the rare too-big packet runs it.
 */
static __noinline int lb_too_big(struct lb_ctx *c, __u32 mtu)
{
	struct lb_pkt *p = &c->pkt;
	__u32 l2len = p->l2len, ip_len = p->len - p->l2len;
	struct lb_addr src, dst; /* IPv6 */
	__be32 src4, dst4;
	struct lb_icmp_hdr *ih;
	struct ipv6hdr *eip6;
	struct iphdr *eip;
	void *oh, *data_end;

	c->reason = LB_R_DROP_TOO_BIG;
	if (p->frag != LB_FRAG_NONE || (l2len != 14 && l2len != 18) || ip_len < LB_TOOBIG_QUOTE)
		return XDP_DROP;
	if (!p->v6) {
		struct iphdr *ip = lb_ip4(p);

		if (!ip || !(ip->frag_off & bpf_htons(LB_IP_DF)) || !lb_toobig_token(c->now))
			return XDP_DROP;
		src4 = ip->saddr;
		dst4 = ip->daddr;
		oh = lb_toobig_frame(c, LB_IPV4_HLEN + sizeof(*ih), l2len, bpf_htons(ETH_P_IP));
		if (!oh)
			goto error;
		data_end = (void *)(long)c->xdp->data_end;
		if (oh + LB_IPV4_HLEN + sizeof(*ih) + LB_TOOBIG_QUOTE > data_end)
			goto error;
		eip = oh;
		eip->version = 4;
		eip->ihl = 5;
		eip->tos = 0xc0; /* internetwork control, as the kernel sends its ICMP errors */
		eip->tot_len = bpf_htons(LB_IPV4_HLEN + sizeof(*ih) + LB_TOOBIG_QUOTE);
		eip->id = 0;
		eip->frag_off = 0;
		eip->ttl = 64;
		eip->protocol = IPPROTO_ICMP;
		eip->check = 0;
		eip->saddr = dst4;
		eip->daddr = src4;
		eip->check = lb_csum_ipv4_full(eip);
		ih = oh + LB_IPV4_HLEN;
		ih->type = LB_TOOBIG4_TYPE;
		ih->code = LB_TOOBIG4_CODE;
		ih->checksum = 0;
		ih->rest = bpf_htonl(mtu < LB_IPV4_MIN_MTU ? LB_IPV4_MIN_MTU : mtu & 0xffff);
		ih->checksum = lb_toobig_csum(ih, 0);
	} else {
		struct ipv6hdr *ip6 = lb_ip6(p);
		__u32 sum;

		if (!ip6 || !lb_toobig_token(c->now))
			return XDP_DROP;
		__builtin_memcpy(&src, &ip6->saddr, sizeof(src));
		__builtin_memcpy(&dst, &ip6->daddr, sizeof(dst));
		oh = lb_toobig_frame(c, LB_IPV6_HLEN + sizeof(*ih), l2len, bpf_htons(ETH_P_IPV6));
		if (!oh)
			goto error;
		data_end = (void *)(long)c->xdp->data_end;
		if (oh + LB_IPV6_HLEN + sizeof(*ih) + LB_TOOBIG_QUOTE > data_end)
			goto error;
		eip6 = oh;
		*(__be32 *)eip6 = bpf_htonl(0x60000000U);
		eip6->payload_len = bpf_htons(sizeof(*ih) + LB_TOOBIG_QUOTE);
		eip6->nexthdr = IPPROTO_ICMPV6;
		eip6->hop_limit = 64;
		__builtin_memcpy(&eip6->saddr, &dst, sizeof(dst));
		__builtin_memcpy(&eip6->daddr, &src, sizeof(src));
		ih = oh + LB_IPV6_HLEN;
		ih->type = LB_TOOBIG6_TYPE;
		ih->code = 0;
		ih->checksum = 0;
		ih->rest = bpf_htonl(mtu < LB_IPV6_MIN_MTU ? LB_IPV6_MIN_MTU : mtu);
		/* the pseudo-header: both addresses, the upper-layer length, the next header */
		sum = lb_csum_add(bpf_htonl(sizeof(*ih) + LB_TOOBIG_QUOTE), bpf_htonl(IPPROTO_ICMPV6));
		sum = lb_csum_add(sum, lb_csum_add(lb_csum_add(src.w[0], src.w[1]), lb_csum_add(src.w[2], src.w[3])));
		sum = lb_csum_add(sum, lb_csum_add(lb_csum_add(dst.w[0], dst.w[1]), lb_csum_add(dst.w[2], dst.w[3])));
		ih->checksum = lb_toobig_csum(ih, sum);
	}
	c->reason = LB_R_ICMP_TOO_BIG;
	return XDP_TX;

error:
	c->reason = LB_R_DROP_ERROR;
	return XDP_DROP;
}

/**
 * lb_fits - would the packet, @olen bytes longer, fit the MTU of interface @ifindex?
 * @c: the packet
 * @ifindex: the egress interface
 * @olen: what forwarding adds (an outer header; 0)
 *
 * Returns LB_CONTINUE, or the verdict of lb_too_big().
 */
static __always_inline int lb_fits(struct lb_ctx *c, __u32 ifindex, int olen)
{
	__u32 len = c->pkt.len - c->pkt.l2len; /* the IP packet: a VLAN tag or padding does not count */

	if (bpf_check_mtu(c->xdp, ifindex, &len, olen, 0) == BPF_MTU_CHK_RET_SUCCESS)
		return LB_CONTINUE;
	return lb_too_big(c, len - olen); /* len: now the interface's MTU */
}

#endif /* __LB_TOOBIG_H */
