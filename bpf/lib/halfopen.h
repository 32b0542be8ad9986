/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* halfopen.h - half-open TCP flows apart from established ones (layout 4).
 *
 * Design. A SYN flood used to insert one lb_ct entry per SYN into the LRU that also holds the
 * established flows: past the table's size it evicted them (a download hung), and each NAT SYN held
 * a SNAT port for tcp_timeout_ns + snat_reuse_ns (new clients were refused for minutes).
 *  - Every new TCP flow starts in lb_ct_syn, an LRU of its own (limits.halfOpenSize): the entry is
 *    the same struct lb_ct. Only a completed handshake moves it to lb_ct ("promotion"), so new flows,
 *    however many, churn lb_ct_syn and never evict an established flow (lb_ct is filled only by
 *    promotions and UDP flows).
 *  - Promotion: a client packet without SYN or RST on an open half-open entry, once the flow is
 *    known to be answered: nat sees the backend's reply (lb_nat_reverse sets LB_CT_F_REPLIED: a
 *    spoofed source never ACKs the SYN-ACK it did not get); dsr/ipip see only the client, whose
 *    ACK is the evidence. A flow picked up in the middle (its entry was evicted or expired: no
 *    SYN) takes the same way: half-open, promoted by the next exchange.
 *  - Timeout: syn_timeout_ns of idleness (3 s: a client's SYN retransmissions come 1, 2, 4 s apart
 *    and each refreshes the entry). A NAT half-open flow's lease carries LB_SNAT_LEASE_HALF: its port
 *    is free the moment its entry is evicted or times out (nat.h: no TIME_WAIT at the backend for a
 *    connection that never opened), so a flood's ports come back within seconds.
 *  - Cost: the established path is unchanged (one lb_ct lookup); lb_ct_syn is looked up only after
 *    a miss of lb_ct (lb_half, a TCP packet but a pure SYN, whose insert finds its entry), or on a
 *    CLOSING lb_ct entry (lb_ct_reused: a reused tuple), i.e. for the handshake's packets, and the reply
 *    path looks at it only for a lease with the half-open bit. A promotion is one lb_ct insert, one
 *    compare-and-swap of the reverse entry's lease (nat) and one lb_ct_syn delete, once per flow.
 *  - A client packet that cannot be carried on (flood mode or no SNAT port for a flow without SYN,
 *    a NAT flow that lost its port at promotion) is answered with an RST (lib/reset.h) rather than
 *    dropped: the client learns at once instead of waiting for its own timeout.
 * UDP flows are tracked in lb_ct as before.
 */
#ifndef __LB_HALFOPEN_H
#define __LB_HALFOPEN_H

#include "lib/ctx.h"
#include "lib/maps.h"
#include "lib/stats.h"
#include "lib/conntrack.h"
#include "lib/flowsync.h"
#include "lib/fib.h"
#include "lib/nat.h"
#include "lib/forward.h"
#include "lib/reset.h"

/* Does this packet of half-open entry @ct complete the handshake? */
static __always_inline int lb_half_completes(const struct lb_ctx *c, const struct lb_ct *ct)
{
	return !(c->pkt.tcp_flags & (LB_TCP_SYN | LB_TCP_RST)) && ct->state == LB_CT_OPEN &&
	       (ct->fwd != LB_FWD_NAT || (ct->flags & LB_CT_F_REPLIED));
}

/* Half-open entry @ct (a copy) as the established entry this packet makes of it: flags cleared,
 * refreshed now, closing if the packet has a FIN; the peers hear of the flow (flow sync). For
 * lb_half_promote and the flow table's promotion in place (lb_ft_vip). */
static __always_inline void lb_half_established(struct lb_ctx *c, struct lb_ct *ct)
{
	ct->flags = 0;
	ct->seen_ns = c->now;
	if (c->pkt.tcp_flags & LB_TCP_FIN) {
		ct->state = LB_CT_CLOSING;
		ct->close_reason = LB_CT_CLOSE_FIN;
	}
	lb_flowsync_mark(c, ct, 1);
}

/**
 * lb_half_promote - move half-open entry @hct to lb_ct and forward the packet on it.
 * @c: the packet (the client's)
 * @hct: its live lb_ct_syn entry
 * @be: its backend
 *
 * Order: lb_ct insert (lease without the half-open bit), the reverse entry's lease (nat), then the
 * lb_ct_syn delete: a reply always finds the lease confirmed by one of the two tables. A NAT flow
 * whose port was taken over meanwhile cannot go on: both entries are deleted and the client reset.
 */
static __always_inline int lb_half_promote(struct lb_ctx *c, struct lb_ct *hct, struct lb_backend *be)
{
	struct lb_scratch *s = lb_scratch_get();
	struct lb_ct *nct;
	struct lb_nh *nh;
	__u32 half_lease;
	int ret;

	if (!s) {
		c->reason = LB_R_DROP_ERROR;
		return XDP_DROP;
	}
	nct = &s->ct;
	__builtin_memcpy(nct, hct, sizeof(*nct));
	half_lease = nct->snat_lease;
	nct->snat_lease &= ~LB_SNAT_LEASE_HALF;
	lb_half_established(c, nct); /* the flow enters lb_ct */
	if (bpf_map_update_elem(&lb_ct, &c->pkt.flow, nct, BPF_ANY)) {
		c->reason = LB_R_DROP_ERROR;
		return XDP_DROP;
	}
	if (nct->fwd == LB_FWD_NAT && !lb_nat_promote(c, s, nct, half_lease, be)) {
		bpf_map_delete_elem(&lb_ct, &c->pkt.flow);
		bpf_map_delete_elem(&lb_ct_syn, &c->pkt.flow);
		c->reason = LB_R_DROP_SNAT_STALE;
		return lb_reset_client(c);
	}
	bpf_map_delete_elem(&lb_ct_syn, &c->pkt.flow);
	lb_count_reason(LB_R_CT_PROMOTED);
	ret = lb_nh_get(c, nct->backend_id, be, nct->fwd == LB_FWD_DSR, &nh);
	if (ret != LB_CONTINUE)
		return ret;
	return lb_forward(c, nct, be, nh);
}

/**
 * lb_half - a TCP packet that missed lb_ct: its half-open flow's, if lb_ct_syn has a live entry
 * for it, promoted when it completes the handshake, else forwarded on the half-open entry (a
 * retransmitted SYN, a FIN or RST that closes it).
 * @c: the packet
 * @why: as lb_ct_lookup's; set when lb_ct_syn's entry cannot be used
 *
 * Returns a verdict, or LB_CONTINUE (no live half-open entry: a new flow, lb_vip_miss).
 * A subprogram called from lb_vip (not from lb_vip_miss: the deepest call chain stays under the
 * 512-byte stack), and only after a miss of lb_ct or on a reused tuple's closing entry (lb_vip):
 * the established path never runs it.
 */
static __noinline int lb_half(struct lb_ctx *c, __u32 *why)
{
	struct lb_backend *be = NULL;
	struct lb_ct *hct;
	struct lb_nh *nh;
	int ret;

	hct = lb_half_lookup(c, &be, why);
	if (!hct || !be)
		return LB_CONTINUE;
	c->svc_id = hct->svc_id;
	c->be_id = hct->backend_id;
	if (lb_half_completes(c, hct))
		return lb_half_promote(c, hct, be);
	lb_ct_hit(hct, c->pkt.tcp_flags, c->now);
	ret = lb_nh_get(c, hct->backend_id, be, hct->fwd == LB_FWD_DSR, &nh);
	if (ret != LB_CONTINUE)
		return ret;
	return lb_forward(c, hct, be, nh);
}

#endif /* __LB_HALFOPEN_H */
