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
#include "lib/encap.h" /* LB_IPV4_HLEN, LB_IPV6_HLEN */

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
 * bytes of IP with @hlen bytes of room before them for the error's IP and ICMP headers, and the L2
 * header in front with the MACs swapped (the way back). Copies packet to packet, nothing on the
 * stack: lb_icmp -> lb_forward -> here is the deepest call chain. Returns the frame's start. */
static __always_inline void *lb_toobig_frame(struct lb_ctx *c, const int hlen, __u32 l2len)
{
	struct xdp_md *ctx = c->xdp;
	void *data, *data_end, *old;
	int flen = (int)(c->pkt.data_end - (void *)c->pkt.eth);

	if (bpf_xdp_adjust_tail(ctx, (int)(l2len + LB_TOOBIG_QUOTE) - flen) || bpf_xdp_adjust_head(ctx, -hlen))
		return NULL;
	data = (void *)(long)ctx->data;
	data_end = (void *)(long)ctx->data_end;
	old = data + hlen; /* the old L2 header (hlen >= 28: no overlap with the new one) */
	if (old + 18 > data_end)
		return NULL;
	lb_mac_copy(data, old + 6);
	lb_mac_copy(data + 6, old);
	if (l2len == 14)
		*(__u16 *)(data + 12) = *(__u16 *)(old + 12);
	else
		__builtin_memcpy(data + 12, old + 12, 6); /* VLAN tag, then the EtherType */
	return data;
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
 * Never about an ICMP message (RFC 1122 3.2.2, RFC 4443 2.4: no error about an error; a relayed
 * ICMP error that grew too big is dropped). Returns XDP_TX (the error, LB_R_ICMP_TOO_BIG) or
 * XDP_DROP (LB_R_DROP_TOO_BIG; LB_R_DROP_ERROR when the packet could not be reshaped). Not inlined:
 * only the rare too-big packet runs it.
 */
static __noinline int lb_too_big(struct lb_ctx *c, __u32 mtu)
{
	struct lb_pkt *p = &c->pkt;
	__u32 l2len = p->l2len, ip_len = p->len - p->l2len;
	struct lb_icmp_hdr *ih;
	void *data, *data_end;

	c->reason = LB_R_DROP_TOO_BIG;
	if (p->frag != LB_FRAG_NONE || (l2len != 14 && l2len != 18) || ip_len < LB_TOOBIG_QUOTE)
		return XDP_DROP;
	if (!p->v6) {
		struct iphdr *ip = lb_ip4(p), *eip, *q;

		if (!ip || ip->protocol == IPPROTO_ICMP || !(ip->frag_off & bpf_htons(LB_IP_DF)) ||
		    !lb_toobig_token(c->now))
			return XDP_DROP;
		data = lb_toobig_frame(c, LB_IPV4_HLEN + sizeof(*ih), l2len);
		if (!data)
			goto error;
		data_end = (void *)(long)c->xdp->data_end;
		eip = data + l2len;
		ih = (void *)(eip + 1);
		q = (void *)(ih + 1); /* the quote: the client's IP header first */
		if ((void *)(ih + 1) + LB_TOOBIG_QUOTE > data_end)
			goto error;
		eip->version = 4;
		eip->ihl = 5;
		eip->tos = 0xc0; /* internetwork control, as the kernel sends its ICMP errors */
		eip->tot_len = bpf_htons(LB_IPV4_HLEN + sizeof(*ih) + LB_TOOBIG_QUOTE);
		eip->id = 0;
		eip->frag_off = 0;
		eip->ttl = 64;
		eip->protocol = IPPROTO_ICMP;
		eip->check = 0;
		eip->saddr = q->daddr; /* from the VIP the client addressed, to the client */
		eip->daddr = q->saddr;
		eip->check = lb_csum_ipv4_full(eip);
		ih->type = LB_TOOBIG4_TYPE;
		ih->code = LB_TOOBIG4_CODE;
		ih->checksum = 0;
		ih->rest = bpf_htonl(mtu < LB_IPV4_MIN_MTU ? LB_IPV4_MIN_MTU : mtu & 0xffff);
		ih->checksum = lb_toobig_csum(ih, 0);
	} else {
		struct ipv6hdr *ip6 = lb_ip6(p), *eip6, *q6;
		__u32 sum;

		if (!ip6 || p->ext || ip6->nexthdr == IPPROTO_ICMPV6 || !lb_toobig_token(c->now))
			return XDP_DROP;
		data = lb_toobig_frame(c, LB_IPV6_HLEN + sizeof(*ih), l2len);
		if (!data)
			goto error;
		data_end = (void *)(long)c->xdp->data_end;
		eip6 = data + l2len;
		ih = (void *)(eip6 + 1);
		q6 = (void *)(ih + 1);
		if ((void *)(ih + 1) + LB_TOOBIG_QUOTE > data_end)
			goto error;
		*(__be32 *)eip6 = bpf_htonl(0x60000000U);
		eip6->payload_len = bpf_htons(sizeof(*ih) + LB_TOOBIG_QUOTE);
		eip6->nexthdr = IPPROTO_ICMPV6;
		eip6->hop_limit = 64;
		__builtin_memcpy(&eip6->saddr, &q6->daddr, sizeof(eip6->saddr));
		__builtin_memcpy(&eip6->daddr, &q6->saddr, sizeof(eip6->daddr));
		ih->type = LB_TOOBIG6_TYPE;
		ih->code = 0;
		ih->checksum = 0;
		ih->rest = bpf_htonl(mtu < LB_IPV6_MIN_MTU ? LB_IPV6_MIN_MTU : mtu);
		/* the pseudo-header: both addresses (summed from the packet), the upper-layer length, the
		 * next header */
		sum = lb_csum_add(bpf_htonl(sizeof(*ih) + LB_TOOBIG_QUOTE), bpf_htonl(IPPROTO_ICMPV6));
		sum = (__u32)bpf_csum_diff(0, 0, (__be32 *)&eip6->saddr, 32, sum);
		ih->checksum = lb_toobig_csum(ih, sum);
	}
	c->reason = LB_R_ICMP_TOO_BIG;
	return XDP_TX;

error:
	c->reason = LB_R_DROP_ERROR;
	return XDP_DROP;
}

/* lb_fits's question to the device (bpf_check_mtu), its answer cached for this CPU. Not inlined:
 * the helper's in/out length lives in this frame, not in the callers' (lb_vip_miss is on the
 * deepest call chain). */
static __noinline int lb_fits_ask(struct lb_ctx *c, __u32 ifindex, int olen)
{
	__u32 len = c->pkt.len - c->pkt.l2len;
	struct lb_scratch *s;
	long ret;

	ret = bpf_check_mtu(c->xdp, ifindex, &len, olen, 0);
	if (ret < 0) /* no such device: len was not touched */
		return lb_too_big(c, len - olen);
	s = lb_scratch_get();
	if (s) { /* len: now the interface's MTU, on either answer */
		s->mtu_ifindex = ifindex;
		s->mtu = len;
		s->mtu_ns = c->now;
	}
	if (ret == BPF_MTU_CHK_RET_SUCCESS)
		return LB_CONTINUE;
	return lb_too_big(c, len - olen);
}

/**
 * lb_fits - would the packet, @olen bytes longer, fit the MTU of interface @ifindex?
 * @c: the packet
 * @ifindex: the egress interface
 * @olen: what forwarding adds (an outer header; 0)
 *
 * The MTU is this CPU's last answer of bpf_check_mtu() for @ifindex (lb_scratch), compared inline,
 * while it is younger than nh_refresh_ns (the next hop's own refresh period: an MTU change is seen
 * as late as a new neighbour); otherwise, and for every packet the cached MTU says is too big (the
 * exact answer, and the too-big reply, come from the helper), the helper asks the device. Per CPU
 * and not in lb_nh: no write to a shared cache line, no change of the pinned layout; one cached
 * interface per CPU (an instance's backends are mostly behind one).
 *
 * Returns LB_CONTINUE, or the verdict of lb_too_big().
 */
static __always_inline int lb_fits(struct lb_ctx *c, __u32 ifindex, int olen)
{
	__u32 len = c->pkt.len - c->pkt.l2len; /* the IP packet: a VLAN tag or padding does not count */
	struct lb_scratch *s = lb_scratch_get();

	if (likely(s && s->mtu_ifindex == ifindex &&
		   (__s64)(c->now - s->mtu_ns) < (__s64)CONFIG(nh_refresh_ns) && len + olen <= s->mtu))
		return LB_CONTINUE;
	return lb_fits_ask(c, ifindex, olen);
}

#endif /* __LB_TOOBIG_H */
