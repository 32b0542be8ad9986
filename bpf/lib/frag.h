/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* frag.h - the fragment policy: every fragment of a datagram goes where its first fragment went.
 *
 * Only the first fragment (offset 0) carries the ports, so it alone can be matched to a flow: it takes
 * the ordinary path (conntrack, service, selection, rewrite), and its decision is remembered in
 * lb_frags under the datagram's identity (source, destination, protocol, IP identification):
 * forwarded (with its ports) or passed to the host. A later fragment (offset > 0) looks the decision
 * up: forwarded -> it takes the ordinary path with the remembered ports, so it meets the flow's
 * conntrack entry and reaches the same backend with the same rewrite (NAT changes its addresses only;
 * the L4 checksum, in the first fragment, was patched there for the whole datagram); passed -> it is
 * passed too. A later fragment that finds no decision (it overtook its first fragment, or came after
 * frag_timeout_ns) is dropped when addressed to a VIP (LB_R_DROP_FRAGMENT: never guessed), passed when
 * addressed to a SNAT address (it may be the host's own). A later fragment never starts a flow: on a
 * conntrack miss only a stateless strategy's DSR service may place it, which repeats the first
 * fragment's choice.
 */
#ifndef __LB_FRAG_H
#define __LB_FRAG_H

#include "lib/ctx.h"
#include "lib/config.h"
#include "lib/maps.h"
#include "lib/stats.h"

static __always_inline void lb_frag_key_of(struct lb_frag_key *k, const struct lb_pkt *p)
{
	__builtin_memset(k, 0, sizeof(*k));
	k->src = p->flow.src;
	k->dst = p->flow.dst;
	k->id = p->frag_id;
	k->proto = p->frag_proto;
}

/**
 * lb_frag_later - place a later fragment (no L4 header) by its first fragment's decision.
 * (Keyed by the protocol every fragment names: for IPv6 the fragment header's next header, which
 * may be an extension header before TCP/UDP; the decision holds the real upper-layer protocol.)
 * @c: the packet (c->now set)
 * @flags: the destination's lb_addrs flags
 *
 * Returns LB_CONTINUE with c->pkt.flow's ports filled in (go on as with any packet), or a verdict:
 * XDP_PASS (not TCP/UDP, passed datagrams, no decision and a SNAT address) or XDP_DROP
 * (LB_R_DROP_FRAGMENT: no decision, a VIP).
 */
static __noinline int lb_frag_later(struct lb_ctx *c, __u32 flags)
{
	struct lb_pkt *p = &c->pkt;
	__u32 other = (flags & LB_ADDR_VIP) ? LB_R_PASS_UNSUPPORTED : LB_R_PASS_NOT_OURS;
	struct lb_scratch *s = lb_scratch_get();
	struct lb_frag *f;

	if (!s) {
		c->reason = LB_R_DROP_ERROR;
		return XDP_DROP;
	}
	lb_frag_key_of(&s->fk, p);
	f = bpf_map_lookup_elem(&lb_frags, &s->fk);
	if (!f || (__s64)(c->now - f->seen_ns) > (__s64)CONFIG(frag_timeout_ns)) {
		/* no decision: TCP/UDP to a VIP is dropped; other protocols (ICMP, ...) and
		 * extension headers we cannot see past are the host's */
		if ((flags & LB_ADDR_VIP) && !(flags & LB_ADDR_SNAT) &&
		    (p->flow.proto == IPPROTO_TCP || p->flow.proto == IPPROTO_UDP)) {
			c->reason = LB_R_DROP_FRAGMENT;
			return XDP_DROP;
		}
		c->reason = other;
		return XDP_PASS;
	}
	if (f->action != LB_FRAG_FORWARD || (f->proto != IPPROTO_TCP && f->proto != IPPROTO_UDP)) {
		c->reason = other;
		return XDP_PASS;
	}
	p->flow.proto = f->proto == IPPROTO_TCP ? IPPROTO_TCP : IPPROTO_UDP;
	p->flow.sport = f->sport;
	p->flow.dport = f->dport;
	return LB_CONTINUE;
}

/**
 * lb_frag_done - after a fragment's verdict: a first fragment's decision is remembered; forwarded
 * fragments are counted (LB_R_FRAGMENT).
 * @c: the packet (a fragment of TCP or UDP, c->pkt.flow as it arrived)
 * @verdict: its verdict
 */
static __noinline void lb_frag_done(struct lb_ctx *c, int verdict)
{
	int fwd = verdict == XDP_TX || verdict == XDP_REDIRECT;
	struct lb_scratch *s;
	struct lb_frag *v;

	if (fwd)
		lb_count_reason(LB_R_FRAGMENT);
	if (c->pkt.frag != LB_FRAG_FIRST || (!fwd && verdict != XDP_PASS))
		return;
	s = lb_scratch_get();
	if (!s)
		return;
	v = &s->fv;
	lb_frag_key_of(&s->fk, &c->pkt);
	__builtin_memset(v, 0, sizeof(*v));
	v->sport = c->pkt.flow.sport;
	v->dport = c->pkt.flow.dport;
	v->action = fwd ? LB_FRAG_FORWARD : LB_FRAG_PASS;
	v->proto = c->pkt.flow.proto;
	v->seen_ns = c->now;
	bpf_map_update_elem(&lb_frags, &s->fk, v, BPF_ANY);
}

#endif /* __LB_FRAG_H */
