/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* icmp.h - ICMP and ICMPv6 to the LB's addresses: echo requests to a VIP (answered when icmp_echo is
 * set), and errors about tracked flows, relayed to the party that sent the packet they quote.
 *
 * An ICMP error (IPv4: destination unreachable, including fragmentation needed; time exceeded;
 * parameter problem. ICMPv6: destination unreachable, packet too big, time exceeded, parameter
 * problem) quotes the packet that caused it, which the error's destination had sent:
 *  - to a VIP, quoting VIP:port -> client (a reply, from the LB in nat, from a backend in dsr): the
 *    flow is the quote reversed. dsr/ipip/ip6ip6: the error is forwarded to the flow's backend as is
 *    (MACs, or encapsulated): the backend holds the VIP and its TCP learns the path MTU. nat: it is
 *    translated for the backend: outer SNAT address -> backend, quote backend:port -> SNAT
 *    address:port (what the backend sent);
 *  - to a SNAT address, quoting SNAT address:port -> backend (a forwarded packet of a NAT flow): the
 *    reply tuple is the quote reversed; translated for the client: outer VIP -> client, quote
 *    client:port -> VIP:port (what the client sent), out where the client came in.
 * Translation rewrites the outer addresses (IPv4 header checksum), the quoted addresses (its IPv4
 * header checksum), the quoted ports and the quoted TCP/UDP checksum when the quote holds it, and
 * patches the ICMP checksum (ICMPv6: with its pseudo-header) by the sum of all of it. The MTU in a
 * "fragmentation needed" / "packet too big" is kept: NAT does not change packet sizes. Errors about
 * untracked flows (and DSR flows of a stateless strategy are placed by the strategy) are passed to
 * the host untouched, like every other ICMP message (neighbour discovery included).
 */
#ifndef __LB_ICMP_H
#define __LB_ICMP_H

#include "lib/ctx.h"
#include "lib/config.h"
#include "lib/maps.h"
#include "lib/csum.h"
#include "lib/stats.h"
#include "lib/conntrack.h"
#include "lib/flowtab.h"
#include "lib/fib.h"
#include "lib/nat.h"
#include "lib/service.h"
#include "lib/rewrite.h"
#include "lib/forward.h"
#include "lib/dispatch.h"

#define LB_ICMP_ECHO_REPLY 0
#define LB_ICMP_DEST_UNREACH 3
#define LB_ICMP_ECHO_REQUEST 8
#define LB_ICMP_TIME_EXCEEDED 11
#define LB_ICMP_PARAMETERPROB 12
#define LB_ICMP6_DEST_UNREACH 1
#define LB_ICMP6_PARAMPROB 4
#define LB_ICMP6_ECHO_REQUEST 128
#define LB_ICMP6_ECHO_REPLY 129

/* The packet quoted by an ICMP error: its headers in the packet and its flow as it was sent. */
struct lb_quote {
	void *l3;
	void *l4;
	struct lb_flow *flow; /* in lb_scratch */
};

/* Answer an echo request to a VIP: swap the addresses and MACs, TTL/hop limit 64, echo reply. */
static __always_inline int lb_icmp_echo(struct lb_ctx *c, struct lb_icmp_hdr *ih, __u32 other)
{
	struct lb_pkt *p = &c->pkt;
	struct ethhdr *eth = p->eth;
	__u8 req = p->v6 ? LB_ICMP6_ECHO_REQUEST : LB_ICMP_ECHO_REQUEST;
	__u8 rep = p->v6 ? LB_ICMP6_ECHO_REPLY : LB_ICMP_ECHO_REPLY;
	struct lb_mac mac __attribute__((aligned(4))); /* the verifier wants lb_mac_copy's word
							 * accesses to the stack aligned */
	__u32 d;

	if (!p->v6) {
		struct iphdr *ip = lb_ip4(p);
		__be32 a;
		__be16 old;

		if (!ip || ip->ihl != 5) /* options (record route, ...) are the host's business */
			goto pass;
		a = ip->saddr;
		ip->saddr = ip->daddr;
		ip->daddr = a;
		old = *(__be16 *)&ip->ttl;
		ip->ttl = 64;
		ip->check = lb_csum_apply(ip->check, lb_csum_diff2(0, old, *(__be16 *)&ip->ttl));
	} else {
		struct ipv6hdr *ip6 = lb_ip6(p);
		__be32 *s, *t, a;

		if (!ip6 || p->ext) /* extension headers are the host's business */
			goto pass;
		s = ip6->saddr.in6_u.u6_addr32;
		t = ip6->daddr.in6_u.u6_addr32;
#pragma unroll
		for (int i = 0; i < 4; i++) {
			a = s[i];
			s[i] = t[i];
			t[i] = a;
		}
		ip6->hop_limit = 64; /* not in the ICMPv6 pseudo-header; swapped addresses sum the same */
	}
	d = lb_csum_diff2(0, bpf_htons((__u16)req << 8 | ih->code), bpf_htons((__u16)rep << 8 | ih->code));
	ih->type = rep;
	ih->checksum = lb_csum_apply_nz(ih->checksum, d); /* id 0, seq 0, no payload: 0xffff */
	lb_mac_copy(mac.addr, eth->h_source);
	lb_mac_copy(eth->h_source, eth->h_dest);
	lb_mac_copy(eth->h_dest, mac.addr);
	c->reason = LB_R_ICMP_ECHO;
	return XDP_TX;
pass:
	c->reason = other;
	return XDP_PASS;
}

/* Parse the packet an ICMP error quotes (right after the 8-byte ICMP header): an IP header of the
 * error's family, not a later fragment, then TCP or UDP with at least the 8 bytes RFC 792 requires
 * a quote to hold, all inside the error's IP packet (not its Ethernet padding). The quote's length
 * fields describe the packet as it was sent, which must have been well formed (it left one of our
 * addresses): IP length room for the L4 header, a UDP length of 8 up to what that IP packet held
 * (see lb_parse_l4), a TCP data offset of 5 up to it. Returns 0, -1 for a quote that is not ours to
 * translate (another protocol, a later fragment), or LB_R_PASS_MALFORMED. */
static __always_inline int lb_quote_parse(struct lb_pkt *p, struct lb_icmp_hdr *ih, struct lb_quote *q)
{
	void *data_end = p->data_end;
	struct lb_scratch *s = lb_scratch_get();
	__u32 qlen, hlen, iplen, whole;
	__be16 *ports;

	if (!s)
		return -1;
	q->flow = &s->qflow;
	__builtin_memset(q->flow, 0, sizeof(*q->flow));
	q->l3 = ih + 1;
	qlen = p->len - p->l4_off - sizeof(*ih); /* lb_icmp checked that the ICMP header fits */
	if (!p->v6) {
		struct iphdr *ip = q->l3;

		if ((void *)(ip + 1) > data_end || ip->version != 4 || ip->ihl < 5)
			return LB_R_PASS_MALFORMED;
		if (ip->frag_off & bpf_htons(LB_IP_OFFSET))
			return -1;
		hlen = ip->ihl * 4;
		iplen = bpf_ntohs(ip->tot_len);
		whole = !(ip->frag_off & bpf_htons(LB_IP_MF));
		q->l4 = q->l3 + hlen;
		lb_addr_set_v4(&q->flow->src, ip->saddr);
		lb_addr_set_v4(&q->flow->dst, ip->daddr);
		q->flow->proto = ip->protocol;
	} else {
		struct ipv6hdr *ip6 = q->l3;

		if ((void *)(ip6 + 1) > data_end || ip6->version != 6)
			return LB_R_PASS_MALFORMED;
		hlen = sizeof(*ip6);
		iplen = hlen + bpf_ntohs(ip6->payload_len);
		whole = 1; /* a fragment header would be an extension header: not followed */
		q->l4 = ip6 + 1;
		__builtin_memcpy(&q->flow->src, &ip6->saddr, sizeof(q->flow->src));
		__builtin_memcpy(&q->flow->dst, &ip6->daddr, sizeof(q->flow->dst));
		q->flow->proto = ip6->nexthdr; /* extension headers in a quote: not ours to follow */
	}
	if (q->flow->proto != IPPROTO_TCP && q->flow->proto != IPPROTO_UDP)
		return -1;
	ports = q->l4;
	/* 8 bytes of L4 in the quote, inside the error's IP packet and the frame */
	if (qlen < hlen + 8 || (void *)(ports + 4) > data_end)
		return LB_R_PASS_MALFORMED;
	if (q->flow->proto == IPPROTO_UDP) {
		__u32 ulen = bpf_ntohs(ports[2]);

		if (iplen < hlen + 8 || ulen < 8 || (whole && ulen > iplen - hlen))
			return LB_R_PASS_MALFORMED;
	} else {
		__u8 *doff = (__u8 *)q->l4 + 12; /* quoted when the router quoted more than 8 bytes */

		if (iplen < hlen + 20)
			return LB_R_PASS_MALFORMED;
		if (qlen >= hlen + 13 && (void *)(doff + 1) <= data_end &&
		    ((*doff >> 4) < 5 || (whole && (__u32)(*doff >> 4) * 4 > iplen - hlen)))
			return LB_R_PASS_MALFORMED;
	}
	q->flow->sport = ports[0];
	q->flow->dport = ports[1];
	return 0;
}

/* Rewrite an ICMP error: outer addresses @osrc -> @odst, the quote's addresses and ports, and the
 * checksums (see the top of this file). */
static __always_inline void lb_icmp_xlate(struct lb_ctx *c, struct lb_quote *q, const struct lb_addr *osrc,
					  const struct lb_addr *odst, const struct lb_addr *isrc, __be16 isport,
					  const struct lb_addr *idst, __be16 idport)
{
	struct lb_pkt *p = &c->pkt;
	struct lb_icmp_hdr *ih = p->l4;
	__u32 opseudo = 0, ipseudo = 0, d;
	__s64 ib, lb;

	if ((void *)(ih + 1) > p->data_end)
		return;
	if (lb_l3_rewrite(p->l3, p->data_end, p->v6, osrc, odst, &opseudo) < 0)
		return;
	ib = lb_l3_rewrite(q->l3, p->data_end, p->v6, isrc, idst, &ipseudo);
	if (ib < 0)
		return;
	lb = lb_l4_rewrite(q->l4, p->data_end, q->flow->proto, isport, idport, ipseudo, 1);
	if (lb < 0)
		return;
	d = lb_csum_add((__u32)ib, (__u32)lb);
	if (p->v6)
		d = lb_csum_add(d, opseudo);
	ih->checksum = lb_csum_apply_nz(ih->checksum, d);
}

/* An error to a VIP (roles @flags) about a packet the VIP sent (a reply). LB_CONTINUE: not a flow
 * of ours. */
static __always_inline int lb_icmp_to_vip(struct lb_ctx *c, struct lb_quote *q, __u32 flags)
{
	struct lb_pkt *p = &c->pkt;
	struct lb_backend *be = NULL;
	struct lb_scratch *s;
	struct lb_ct *ct;
	struct lb_nh *nh;
	__u32 why, be_id = 0;
	int verdict, ret;

	/* the flow as the client sends it: the quote reversed */
	__builtin_memset(&p->flow, 0, sizeof(p->flow));
	p->flow.src = q->flow->dst;
	p->flow.dst = q->flow->src;
	p->flow.sport = q->flow->dport;
	p->flow.dport = q->flow->sport;
	p->flow.proto = q->flow->proto;
	p->tcp_flags = 0;
	ct = lb_ft_on(c) && (flags & LB_ADDR_FT) ? lb_ft_usable(c) : NULL; /* the flow table first */
	if (ct)
		be = bpf_map_lookup_elem(&lb_backends, &ct->backend_id);
	else
		ct = lb_ct_lookup(c, &be, &why);
	if (!ct || !be) {
		/* untracked: a stateless strategy's DSR service places it as it would the flow */
		struct lb_svc *svc;

		if (!LB_STATELESS_ANY)
			return LB_CONTINUE;
		svc = lb_svc_lookup(&p->flow, flags);
		if (!svc || svc->fwd == LB_FWD_NAT || !lb_svc_stateless(svc) || lb_select(&p->flow, svc, &be_id) < 0)
			return LB_CONTINUE;
		be = bpf_map_lookup_elem(&lb_backends, &be_id);
		s = lb_scratch_get();
		if (!be || be->state == LB_BE_EMPTY || !s)
			return LB_CONTINUE;
		ct = &s->ct;
		lb_ct_init(ct, c, svc, be_id, be);
	}
	c->svc_id = ct->svc_id;
	c->be_id = ct->backend_id;
	ret = lb_nh_get(c, ct->backend_id, be, ct->fwd == LB_FWD_DSR, &nh);
	if (ret != LB_CONTINUE)
		return ret;
	lb_count_reason(LB_R_ICMP_RELAYED);
	if (ct->fwd != LB_FWD_NAT)
		return lb_forward(c, ct, be, nh);

	/* nat: for the backend, about what it sent (backend:port -> SNAT address:port) */
	if (lb_addr_is_v4(&be->addr) == p->v6 || lb_addr_is_v4(&ct->snat_addr) == p->v6) {
		c->reason = LB_R_DROP_ERROR;
		return XDP_DROP;
	}
	verdict = lb_tx_via(c, nh->ifindex);
	if (verdict == XDP_DROP)
		return verdict;
	lb_icmp_xlate(c, q, &ct->snat_addr, &be->addr, &be->addr, lb_be_port(be, p->flow.dport), &ct->snat_addr,
		      ct->snat_port);
	lb_macs_set(p->eth, nh);
	return verdict;
}

/* An error to a SNAT address about a packet the LB forwarded for a NAT flow. */
static __always_inline int lb_icmp_to_snat(struct lb_ctx *c, struct lb_quote *q)
{
	struct lb_scratch *s = lb_scratch_get();
	struct lb_flow *rk, *client;
	struct lb_ct *ct;
	int verdict;

	if (!lb_snat_port_in_range(q->flow->sport)) { /* the host's own traffic */
		c->reason = LB_R_PASS_NOT_OURS;
		return XDP_PASS;
	}
	if (!s) {
		c->reason = LB_R_DROP_ERROR;
		return XDP_DROP;
	}
	rk = &s->rk;
	client = &s->client;
	__builtin_memset(rk, 0, sizeof(*rk));
	rk->src = q->flow->dst;
	rk->dst = q->flow->src;
	rk->sport = q->flow->dport;
	rk->dport = q->flow->sport;
	rk->proto = q->flow->proto;
	ct = lb_nat_owner(c, rk, client);
	if (!ct)
		return c->reason == LB_R_PASS_SNAT_UNKNOWN ? XDP_PASS : XDP_DROP;
	c->svc_id = ct->svc_id;
	c->be_id = ct->backend_id;
	verdict = lb_nat_to_client(c, ct);
	if (verdict == XDP_DROP)
		return verdict;
	lb_count_reason(LB_R_ICMP_RELAYED);
	lb_icmp_xlate(c, q, &client->dst, &client->src, &client->src, client->sport, &client->dst, client->dport);
	return verdict;
}

/**
 * lb_icmp - an ICMP or ICMPv6 packet (or another protocol that is not TCP/UDP) to one of our
 * addresses (@flags: its lb_addrs roles).
 * @c: the packet (c->now set)
 * @flags: LB_ADDR_* of the destination
 *
 * Returns a verdict: XDP_TX for an answered echo request (LB_R_ICMP_ECHO), the verdict of a relayed
 * error, or XDP_PASS untouched (everything else: LB_R_PASS_UNSUPPORTED to a VIP, LB_R_PASS_NOT_OURS
 * to a SNAT address, LB_R_PASS_MALFORMED for a truncated ICMP header).
 */
static __noinline int lb_icmp(struct lb_ctx *c, __u32 flags)
{
	struct lb_pkt *p = &c->pkt;
	__u32 other = (flags & LB_ADDR_VIP) ? LB_R_PASS_UNSUPPORTED : LB_R_PASS_NOT_OURS;
	struct lb_icmp_hdr *ih = p->l4;
	struct lb_quote q;
	__u8 type;
	int ret;

	c->reason = other;
	if (p->flow.proto != (p->v6 ? IPPROTO_ICMPV6 : IPPROTO_ICMP) || p->frag != LB_FRAG_NONE)
		return XDP_PASS;
	if ((void *)(ih + 1) > p->data_end || p->l4_off + sizeof(*ih) > p->len) { /* not into padding */
		c->reason = LB_R_PASS_MALFORMED;
		return XDP_PASS;
	}
	type = ih->type;
	if (type == (p->v6 ? LB_ICMP6_ECHO_REQUEST : LB_ICMP_ECHO_REQUEST)) {
		if ((flags & LB_ADDR_VIP) && CONFIG(icmp_echo))
			return lb_icmp_echo(c, ih, other);
		return XDP_PASS;
	}
	if (p->v6 ? (type < LB_ICMP6_DEST_UNREACH || type > LB_ICMP6_PARAMPROB)
		  : (type != LB_ICMP_DEST_UNREACH && type != LB_ICMP_TIME_EXCEEDED && type != LB_ICMP_PARAMETERPROB))
		return XDP_PASS;
	/* an error: about a packet its destination (one of our addresses) sent */
	ret = lb_quote_parse(p, ih, &q);
	if (ret > 0)
		c->reason = ret; /* a malformed quote: never translated */
	if (ret || !lb_addr_eq(&q.flow->src, &p->flow.dst))
		return XDP_PASS;
	if (flags & LB_ADDR_VIP) {
		ret = lb_icmp_to_vip(c, &q, flags);
		if (ret != LB_CONTINUE)
			return ret;
		c->reason = other;
	}
	if (flags & LB_ADDR_SNAT)
		return lb_icmp_to_snat(c, &q);
	return XDP_PASS;
}

#endif /* __LB_ICMP_H */
