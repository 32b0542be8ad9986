/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* conntrack.h - flow tracking in lb_ct: lookup, expiry, refresh, TCP FIN/RST, creation.
 *
 * Clock: the coarse clock (bpf_ktime_get_coarse_ns(), tick resolution, read through lb_now() in
 * lib/clock.h), never the precise clock. Ages are compared as signed differences: another CPU may
 * have stored a slightly newer timestamp.
 * Writes on the established path: seen_ns only when older than ct_refresh_ns, state and
 * close_reason on the first FIN/RST (close_reason once more on a FIN after an RST), so a busy flow
 * does not bounce its entry's cache line between CPUs.
 * close_reason (lb_abi.h LB_CT_CLOSE_*) says how a TCP entry closed: RST for an RST before any
 * FIN, either direction (nat replies pass through lb_ct_hit too), else FIN. Only an RST-closed
 * flow's SNAT port is released early (nat.h), so a doubt reads FIN: FIN and RST in one packet, a
 * FIN after the RST (that RST did not end the connection: a backend ignores one outside its
 * window), an entry of an older program (0). A FIN and an RST closing the entry at once on two
 * CPUs may leave either: the backend cannot be in TIME_WAIT yet (that takes both FINs, and the
 * first of them would have closed the entry).
 */
#ifndef __LB_CONNTRACK_H
#define __LB_CONNTRACK_H

#include "lib/ctx.h"
#include "lib/config.h"
#include "lib/maps.h"
#include "lib/stats.h"
#include "lib/encap.h" /* lb_encap_hash */

#define LB_EEXIST 17
/* Return code (with LB_CONTINUE): the flow's entry was created first by another of its packets
 * (lb_ct_insert); the packet goes by that entry. */
#define LB_EXISTS (-3)

/* Idle timeout of an entry by protocol and state. */
static __always_inline __u64 lb_ct_timeout(__u8 proto, __u8 state)
{
	if (proto == IPPROTO_UDP)
		return CONFIG(udp_timeout_ns);
	return state == LB_CT_CLOSING ? CONFIG(tcp_closing_timeout_ns) : CONFIG(tcp_timeout_ns);
}

/* Has @ct been idle longer than its timeout plus @grace? */
static __always_inline int lb_ct_expired(const struct lb_ct *ct, __u8 proto, __u64 now, __u64 grace)
{
	__s64 age = (__s64)(now - LB_READ_ONCE(ct->seen_ns));

	return age > (__s64)(lb_ct_timeout(proto, LB_READ_ONCE(ct->state)) + grace);
}

/* Has half-open entry @ct (lb_ct_syn) been idle longer than syn_timeout_ns? */
static __always_inline int lb_half_expired(const struct lb_ct *ct, __u64 now)
{
	return (__s64)(now - LB_READ_ONCE(ct->seen_ns)) > (__s64)CONFIG(syn_timeout_ns);
}

/* Backend @*id if it is still the one of generation @gen an entry names, else NULL (removed: state
 * LB_BE_EMPTY, or the id given to another backend). A draining backend keeps its flows. @id points
 * into the entry where it can (no stack slot on the established path). */
static __always_inline struct lb_backend *lb_ct_backend(const __u32 *id, __u32 gen)
{
	struct lb_backend *be = bpf_map_lookup_elem(&lb_backends, id);

	return be && be->state != LB_BE_EMPTY && be->gen == gen ? be : NULL;
}

/* Why entry @ct (of lb_ct, or of lb_ct_syn when @half) cannot carry a packet of protocol @proto
 * with @tcp_flags at @now: LB_R_CT_EXPIRED, LB_R_CT_RESELECT, or 0 (it can: *bep is its backend). */
static __always_inline __u32 lb_ct_why_not(struct lb_ct *ct, __u8 proto, __u8 tcp_flags, __u64 now,
					   int half, struct lb_backend **bep)
{
	struct lb_backend *be;

	if (ct->state == LB_CT_CLOSING && (tcp_flags & (LB_TCP_SYN | LB_TCP_ACK)) == LB_TCP_SYN)
		return LB_R_CT_EXPIRED;
	if (half ? lb_half_expired(ct, now) : lb_ct_expired(ct, proto, now, 0))
		return LB_R_CT_EXPIRED;
	be = lb_ct_backend(&ct->backend_id, ct->backend_gen);
	if (!be)
		return LB_R_CT_RESELECT;
	*bep = be;
	return 0;
}

/* May entry @ct (of lb_ct, or of lb_ct_syn when @half) still carry the packet's flow? See
 * lb_ct_lookup. */
static __always_inline struct lb_ct *lb_ct_usable(struct lb_ctx *c, struct lb_ct *ct,
						  struct lb_backend **bep, __u32 *why, int half)
{
	__u32 w;

	if (!ct)
		return NULL;
	w = lb_ct_why_not(ct, c->pkt.flow.proto, c->pkt.tcp_flags, c->now, half, bep);
	if (w) {
		*why = w;
		return NULL;
	}
	return ct;
}

/**
 * lb_ct_established - the established (lb_ct) entry of the packet's flow, if it may still be used.
 * @c: the packet (c->pkt.flow is the key, c->now the clock)
 * @bep: set to the entry's backend when an entry is returned
 * @why: set when NULL is returned: 0 (no entry), LB_R_CT_EXPIRED (idle too long, or a SYN on a
 *	 closing entry: a new connection on the same tuple) or LB_R_CT_RESELECT (the backend was
 *	 removed: state LB_BE_EMPTY or another generation)
 *
 * A draining backend keeps its flows. The pipeline's first lookup, but for a pure SYN of a
 * non-NAT service (lb_vip): half-open TCP flows are in lb_ct_syn (lb_half_lookup), looked up only
 * after a miss here or on a CLOSING entry (a reused tuple).
 */
static __always_inline struct lb_ct *lb_ct_established(struct lb_ctx *c, struct lb_backend **bep,
						       __u32 *why)
{
	*why = 0;
	return lb_ct_usable(c, bpf_map_lookup_elem(&lb_ct, &c->pkt.flow), bep, why, 0);
}

/* lb_ct_established in the half-open table (lb_ct_syn, idle timeout syn_timeout_ns). @why is left
 * as it was when there is no entry. */
static __always_inline struct lb_ct *lb_half_lookup(struct lb_ctx *c, struct lb_backend **bep,
						    __u32 *why)
{
	return lb_ct_usable(c, bpf_map_lookup_elem(&lb_ct_syn, &c->pkt.flow), bep, why, 1);
}

/* The flow's entry, established or else half-open (what an ICMP error quoting the flow needs; the
 * pipeline itself looks the two tables up apart: lb_ct_established, lb_half_lookup). */
static __always_inline struct lb_ct *lb_ct_lookup(struct lb_ctx *c, struct lb_backend **bep,
						  __u32 *why)
{
	struct lb_ct *ct = lb_ct_established(c, bep, why);

	if (!ct && c->pkt.flow.proto == IPPROTO_TCP)
		ct = lb_half_lookup(c, bep, why);
	return ct;
}

/* How a FIN/RST packet closes an entry (@tcp_flags has FIN or RST). */
static __always_inline __u8 lb_ct_close_reason(__u8 tcp_flags)
{
	return (tcp_flags & LB_TCP_FIN) ? LB_CT_CLOSE_FIN : LB_CT_CLOSE_RST;
}

/**
 * lb_ct_hit - account a packet of a live entry: FIN/RST close it (recording which), the
 * timestamp is refreshed when older than ct_refresh_ns.
 * @ct: the entry (live: not expired)
 * @tcp_flags: the packet's TCP flags (0 for UDP)
 * @now: coarse clock
 *
 * Returns 1 if the entry was written (a refresh moment: nat.h re-checks its reverse entry then).
 */
static __always_inline int lb_ct_hit(struct lb_ct *ct, __u8 tcp_flags, __u64 now)
{
	if (tcp_flags & (LB_TCP_FIN | LB_TCP_RST)) {
		if (ct->state != LB_CT_CLOSING) {
			/* seen_ns first: whoever reads state CLOSING then reads this time (nat.h) */
			ct->seen_ns = now;
			lb_barrier();
			ct->close_reason = lb_ct_close_reason(tcp_flags);
			ct->state = LB_CT_CLOSING;
			return 1;
		}
		if ((tcp_flags & LB_TCP_FIN) && ct->close_reason == LB_CT_CLOSE_RST)
			ct->close_reason = LB_CT_CLOSE_FIN;
	}
	if ((__s64)(now - LB_READ_ONCE(ct->seen_ns)) >= (__s64)CONFIG(ct_refresh_ns)) {
		ct->seen_ns = now;
		return 1;
	}
	return 0;
}

/* A new entry for the packet's flow (not yet stored). */
static __always_inline void lb_ct_init(struct lb_ct *ct, const struct lb_ctx *c,
				       const struct lb_svc *svc, __u32 be_id,
				       const struct lb_backend *be)
{
	__builtin_memset(ct, 0, sizeof(*ct));
	ct->backend_id = be_id;
	ct->backend_gen = be->gen;
	ct->seen_ns = c->now;
	ct->svc_id = svc->id;
	ct->fwd = svc->fwd;
	ct->state = LB_CT_OPEN;
	if (svc->fwd >= LB_FWD_IPIP) /* once per flow, not per packet (lb_encap) */
		ct->encap_hash = lb_encap_hash(&c->pkt.flow);
	if (c->pkt.tcp_flags & (LB_TCP_FIN | LB_TCP_RST)) {
		ct->state = LB_CT_CLOSING;
		ct->close_reason = lb_ct_close_reason(c->pkt.tcp_flags);
	}
}

/* Is the packet a pure SYN (SYN without ACK: a TCP flow's first packet, or its retransmission)? */
static __always_inline int lb_ct_pure_syn(const struct lb_ctx *c)
{
	return c->pkt.flow.proto == IPPROTO_TCP &&
	       (c->pkt.tcp_flags & (LB_TCP_SYN | LB_TCP_ACK)) == LB_TCP_SYN;
}

/**
 * lb_ct_adopt - go by the flow's entry that another of its packets created first.
 * @s: this CPU's lb_scratch: s->key is the flow; s->ct is set to a copy of its entry (what the
 *     packet is forwarded by) when 1 is returned, untouched otherwise
 * @half: the table: lb_ct_syn (1) or lb_ct (0)
 * @tcp_flags: the packet's
 * @now: coarse clock
 * @count: count why an entry cannot be used (the table was not looked up before: a pure SYN's
 *	   lb_ct_syn), as when a lookup finds it
 *
 * The entry, if usable (lb_ct_why_not), takes the packet as a lookup hit would (lb_ct_hit: a
 * retransmitted SYN refreshes it). Returns 1, or 0: no usable entry. A global function: verified once, not in every context
 * that stores a new entry (rare: a retransmitted SYN, two CPUs creating one flow).
 */
__noinline int lb_ct_adopt(struct lb_scratch *s, int half, __u8 tcp_flags, __u64 now, int count)
{
	struct lb_backend *be = NULL;
	struct lb_ct *old;
	__u32 why;

	if (!s)
		return 0;
	old = half ? bpf_map_lookup_elem(&lb_ct_syn, &s->key) : bpf_map_lookup_elem(&lb_ct, &s->key);
	if (!old)
		return 0;
	why = lb_ct_why_not(old, s->key.proto, tcp_flags, now, half, &be);
	if (why) {
		if (count)
			lb_count_reason(why);
		return 0;
	}
	__builtin_memcpy(&s->ct, old, sizeof(s->ct));
	lb_ct_hit(old, tcp_flags, now);
	return 1;
}

/**
 * lb_ct_insert - store the new entry of the packet's flow.
 * @c: the packet (c->pkt.flow is the key)
 * @s: this CPU's lb_scratch: s->ct is the entry; on LB_EXISTS, replaced by a copy of the flow's
 *     entry (lb_ct_adopt)
 * @half: the table: lb_ct_syn (1) or lb_ct (0)
 * @ins: BPF_NOEXIST (the table had no usable entry of the flow, or was not looked up: a SYN's
 *	 lb_ct_syn), or BPF_ANY (replacing an entry the lookup found unusable: expired, backend gone)
 *
 * BPF_NOEXIST makes the insert the lookup: two CPUs creating one flow (two packets of it at once,
 * with a strategy that would choose differently) leave one entry, and the loser goes by the
 * winner's (LB_EXISTS); so does a retransmitted SYN, whose half-open entry is found this way
 * instead of by a lookup that every new flow would miss (a cold bucket walk). An entry found so
 * that can no longer be used (expired, closing under a SYN, backend gone) is replaced (its reason
 * counted once: by the lookup that found it, or by lb_ct_adopt for a pure SYN). Replacing stays BPF_ANY: two CPUs doing it at once each
 * forward by their own choice and the last write stays (as before; rare: a stale entry and
 * simultaneous packets of its tuple).
 * Returns LB_CONTINUE (stored), LB_EXISTS (s->ct is now the flow's entry: forward by it), or
 * XDP_DROP with LB_R_DROP_ERROR.
 */
static __always_inline int lb_ct_insert(struct lb_ctx *c, struct lb_scratch *s, int half, __u64 ins)
{
	void *map = half ? (void *)&lb_ct_syn : (void *)&lb_ct;
	long err;

	err = bpf_map_update_elem(map, &c->pkt.flow, &s->ct, ins);
	if (likely(!err))
		return LB_CONTINUE;
	if (err == -LB_EEXIST) { /* only with BPF_NOEXIST (@ins is no branch: the verifier prunes) */
		__builtin_memcpy(&s->key, &c->pkt.flow, sizeof(s->key));
		if (lb_ct_adopt(s, half, c->pkt.tcp_flags, c->now, lb_ct_pure_syn(c)))
			return LB_EXISTS;
		if (!bpf_map_update_elem(map, &c->pkt.flow, &s->ct, BPF_ANY))
			return LB_CONTINUE;
	}
	c->reason = LB_R_DROP_ERROR;
	return XDP_DROP;
}

#endif /* __LB_CONNTRACK_H */
