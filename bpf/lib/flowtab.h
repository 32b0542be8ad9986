/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* flowtab.h - the flow table of our own design (layout 7): IPv4 flows of dsr, ipip, ip6ip6 and gue
 * services in lb_ft4 (lb_abi.h struct lb_ft_bucket), ahead of the kernel's LRU tables.
 *
 * Why. At a million flows an LRU hash lookup is memory-bound: the bucket head, then an element of
 * 144 bytes (htab node + 40-byte key + 56-byte lb_ct), each a cold line or two; and every insert
 * pays the LRU allocator (bpf_lru_pop_free: list surgery on cold nodes, eviction of a cold victim
 * through its own bucket). Here a flow lives in one of LB_FT_WAYS slots of the bucket its hash
 * names: a lookup reads that bucket's two cache lines (BPF_F_MMAPABLE page-aligns the array, so a
 * 128-byte bucket never straddles a third), an insert writes a slot of the same lines. No
 * allocator, no lists, no helper call: the verifier inlines the ARRAY lookup.
 *
 * Slots. A slot is a compact lb_ct entry: the 13-byte IPv4 tuple, 16-bit service and backend ids,
 * the backend generation, a 32-bit tick (lb_now() >> LB_FT_TICK_SHIFT). The ipip/gue outer source
 * hash is the table hash itself (computed per packet for the lookup anyway), so nothing per flow
 * is recomputed on the established path. The pipeline works on a copy of the slot as a struct
 * lb_ct in lb_scratch.ct (lb_ft_to_ct): lb_forward, lb_ct_why_not, lb_ct_hit and flow sync are the
 * ones lb_ct entries use; what they change goes back to the slot (lb_ft_put).
 *
 * Concurrency: a sequence lock per bucket, taken by compare-and-swap of way 0's aux (odd: a CPU
 * writes the bucket). Writers (insert, refresh, close, promotion: once per flow or per
 * ct_refresh_ns) take it for a few dozen instructions; XDP runs to completion with bottom halves
 * off, so a holder never sleeps and the wait is bounded (LB_FT_LOCK_TRIES, else LB_R_FT_BUSY: a
 * new flow's packet is dropped, a refresh skipped). Readers (every established packet) take no lock: they read the
 * sequence, the slot, the sequence again, and retry if it moved. That relies on x86-64's load
 * order (loads are not reordered with older loads; BPF has no read barrier a clang 14 object can
 * use): the control plane turns the table on only on x86-64 (limits.flowTable). The established
 * path writes nothing unless lb_ct_hit asks (refresh, FIN/RST), as with lb_ct.
 *
 * Insert (lb_ft_insert), under the bucket lock, so it is the lookup (the NOEXIST insert of
 * lb_ct_insert): the flow's own slot wins (a retransmitted SYN, another CPU's packet of the same
 * new flow: adopted, LB_EXISTS) unless it can no longer be used (expired, backend gone, a SYN on a
 * closing entry: a reused tuple), then it is replaced in place. Else a free or expired slot.
 * Else, for a SYN only, the oldest live half-open slot (LB_R_FT_EVICTED: a flood churns half-open
 * flows, as lb_ct_syn's LRU does, and never an established one). Else the bucket is full of live
 * flows: the flow goes to lb_ct / lb_ct_syn as without the table (LB_R_FT_OVERFLOW); for a SYN the
 * bucket is flagged (lb_ft_over_live: for syn_timeout_ns after its last SYN sent there). While the
 * flag is live the bucket's new SYNs take the lb_ct_syn path too (the handshake then ends in lb_ct,
 * lib/halfopen.h), so a retransmitted SYN finds its half-open entry and a flow's handshake is never
 * in both tables: a non-SYN packet reaches an insert only after missing lb_ft4, lb_ct and
 * lb_ct_syn, and a SYN whose tuple has a slot goes by that slot. An established flow that went to
 * lb_ct (a full bucket) is there as a peer's flow is: see below.
 *
 * What stays in lb_ct: NAT flows (their leases and reverse entries, lib/nat.h), IPv6 flows, flows
 * of full buckets, flows written by the agent (cluster sync) and by older programs. So an lb_ft4
 * miss is followed by the lb_ct lookup as before: only new flows pay both. A late SYN of a flow
 * that lives in lb_ct (a peer's flow, an older program's) gets a half-open slot here and the flow's
 * next packets find it first: a consistent-hash strategy picks the same backend; otherwise the
 * client's reused tuple meets the behaviour of lb_vip's "OPEN entry" case, one table earlier.
 *
 * Sizing (control plane): 2 slots per conntrack entry by default; at that load 5% of buckets
 * overflow when the table holds limits.conntrackSize flows, and those flows are served by lb_ct.
 */
#ifndef __LB_FLOWTAB_H
#define __LB_FLOWTAB_H

#include "lib/ctx.h"
#include "lib/config.h"
#include "lib/maps.h"
#include "lib/stats.h"
#include "lib/conntrack.h"
#include "lb_hash.h"

#define LB_FT_READ_TRIES 4
/* Lock attempts inline: a holder keeps the bucket for a few hundred instructions, but each failed
 * attempt of a waiter takes the line from it (the noexist-race test saw 16 attempts run out on 3%
 * of SYNs with two CPUs inserting the same flows). Past them an insert waits in lb_ft_wait. */
#define LB_FT_LOCK_TRIES 64
/* lb_ft_wait: reads of the sequence, about a millisecond: a holder is never preempted in XDP
 * (bottom halves off) but may be interrupted; under BPF_PROG_TEST_RUN it may be preempted. */
#define LB_FT_WAIT_READS (1U << 20)
/* Return codes (with the ways 0..3 and LB_CONTINUE / LB_EXISTS): */
#define LB_FT_MISS (-8)     /* no slot of the flow */
#define LB_FT_FALLBACK (-9) /* lb_ft_insert: the flow goes to lb_ct / lb_ct_syn */
#define LB_FT_BUSY (-10)    /* lb_ft_insert: the bucket stayed locked: the packet is dropped (an
			     * lb_ct entry made instead could disagree with the slot another CPU
			     * is writing: the client's retransmission finds the table free) */
#define LB_FT_HALF_BIT 4    /* lb_ft_get: or-ed into the way of a half-open slot */
#define LB_FT_MINE 8        /* lb_ft_insert: or-ed into the way of the flow's own slot */

/* Does the packet's flow belong in lb_ft4? (IPv4; the service's mode is the caller's test.) */
static __always_inline int lb_ft_on(const struct lb_ctx *c)
{
	return CONFIG(ft_mask) != 0 && !c->pkt.v6;
}

static __always_inline struct lb_ft_bucket *lb_ft_bucket_of(__u32 h)
{
	__u32 i = h & CONFIG(ft_mask);

	return bpf_map_lookup_elem(&lb_ft4, &i);
}

/* Does slot @sl hold flow @f? (A free slot has proto 0: never a flow's.) */
static __always_inline int lb_ft_match(const struct lb_ft_slot *sl, const struct lb_flow *f)
{
	return sl->saddr == f->src.w[3] && sl->daddr == f->dst.w[3] &&
	       *(const __u32 *)&sl->sport == lb_ft_ports(f) && sl->proto == f->proto;
}

/* The slot clock: the coarse clock in ticks of 2^LB_FT_TICK_SHIFT ns. */
static __always_inline __u32 lb_ft_tick(__u64 now)
{
	return (__u32)(now >> LB_FT_TICK_SHIFT);
}

/* How long ago (ns) slot @sl was last refreshed; negative if another CPU stored a newer tick. */
static __always_inline __s64 lb_ft_age(const struct lb_ft_slot *sl, __u64 now)
{
	return (__s64)(__s32)(lb_ft_tick(now) - LB_READ_ONCE(sl->seen)) << LB_FT_TICK_SHIFT;
}

/* Has live slot @sl been idle past its timeout (lb_ct_timeout; syn_timeout_ns when half-open)? */
static __always_inline int lb_ft_expired(const struct lb_ft_slot *sl, __u64 now)
{
	__u8 state = sl->state & LB_FT_STATE_MASK;
	__u64 to = state == LB_FT_HALF ? CONFIG(syn_timeout_ns) : lb_ct_timeout(sl->proto, state);

	return lb_ft_age(sl, now) > (__s64)to;
}

/* Slot @sl as the lb_ct entry the pipeline works on (a half-open slot reads as an lb_ct_syn entry:
 * state OPEN); @h is the flow's lb_ft_hash, its outer source hash. */
static __always_inline void lb_ft_to_ct(struct lb_ct *ct, const struct lb_ft_slot *sl, __u64 now, __u32 h)
{
	__u8 state = sl->state & LB_FT_STATE_MASK;

	__builtin_memset(ct, 0, sizeof(*ct));
	ct->backend_id = sl->backend_id;
	ct->backend_gen = sl->backend_gen;
	ct->seen_ns = now - lb_ft_age(sl, now);
	ct->svc_id = sl->svc_id;
	ct->state = state == LB_FT_HALF ? LB_CT_OPEN : state;
	ct->close_reason = sl->state >> LB_FT_CLOSE_SHIFT;
	ct->fwd = sl->fwd;
	ct->flags = sl->flags;
	ct->encap_hash = h;
}

/* Slot @sl's changeable part from entry @ct: refresh time, state (LB_FT_HALF when @half and still
 * open), close reason, flags. */
static __always_inline void lb_ft_from_ct(struct lb_ft_slot *sl, const struct lb_ct *ct, int half)
{
	__u8 state = half && ct->state == LB_CT_OPEN ? LB_FT_HALF : ct->state;

	sl->seen = lb_ft_tick(ct->seen_ns);
	sl->state = state | (ct->close_reason << LB_FT_CLOSE_SHIFT);
	sl->flags = ct->flags;
}

/* Did a SYN of bucket @b go to lb_ct_syn within syn_timeout_ns? (Way LB_FT_OVER's aux: the tick,
 * or-ed with 1, of the last one; 0: never.) A half-open entry there lives syn_timeout_ns after its
 * last SYN, and every SYN of the bucket that goes there refreshes the tick: while the flag is live
 * the bucket's new SYNs go there too, so a retransmitted SYN finds its entry; past it no entry of
 * the bucket is left in lb_ct_syn and the bucket takes SYNs again (a flood's overflow decays). */
static __always_inline int lb_ft_over_live(const struct lb_ft_bucket *b, __u64 now)
{
	__u32 t = b->w[LB_FT_OVER].aux;

	return t && ((__s64)(__s32)(lb_ft_tick(now) - t) << LB_FT_TICK_SHIFT) <= (__s64)CONFIG(syn_timeout_ns);
}

/* Take bucket @b's lock (its sequence odd). 0: another CPU held it through every try. */
static __always_inline int lb_ft_lock(struct lb_ft_bucket *b)
{
	int i;

	for (i = 0; i < LB_FT_LOCK_TRIES; i++) {
		__u32 seq = LB_READ_ONCE(b->w[LB_FT_SEQ].aux);

		if (!(seq & 1) && __sync_val_compare_and_swap(&b->w[LB_FT_SEQ].aux, seq, seq + 1) == seq)
			return 1;
	}
	return 0;
}

/* Release it: the sequence even again, one more than before the lock (a fetch-add: its store is
 * ordered after the slot's). */
static __always_inline void lb_ft_unlock(struct lb_ft_bucket *b)
{
	__sync_fetch_and_add(&b->w[LB_FT_SEQ].aux, 1);
}

/**
 * lb_ft_get - flow @f's slot in lb_ft4, read without the lock.
 * @s: this CPU's lb_scratch: s->ct is set to a copy of the slot (lb_ft_to_ct) when a way is returned
 * @f: the flow (IPv4: lb_ft_on)
 * @now: coarse clock
 *
 * Returns the way (0..LB_FT_WAYS-1), or-ed with LB_FT_HALF_BIT for a half-open slot; LB_FT_MISS
 * (also when the bucket stayed locked through LB_FT_READ_TRIES reads: the caller goes on as for a
 * miss, and the insert, under the lock, finds the flow). Whether the entry may still be used is
 * the caller's question (lb_ct_why_not). A global function, like lb_ft_put and lb_ft_insert:
 * verified once, whatever calls it (the four ways' branches would multiply every caller's states).
 */
__noinline int lb_ft_get(struct lb_scratch *s, const struct lb_flow *f, __u64 now)
{
	struct lb_ft_bucket *b;
	int tries, i, way;
	__u32 h;

	if (!s || !f)
		return LB_FT_MISS;
	h = lb_ft_hash_of(f);
	b = lb_ft_bucket_of(h);
	if (!b)
		return LB_FT_MISS;
	for (tries = 0; tries < LB_FT_READ_TRIES; tries++) {
		__u32 seq = LB_READ_ONCE(b->w[LB_FT_SEQ].aux);

		if (seq & 1)
			continue;
		lb_barrier();
		way = LB_FT_MISS;
#pragma unroll
		for (i = 0; i < LB_FT_WAYS; i++) {
			const struct lb_ft_slot *sl = &b->w[i].s;

			if (lb_ft_match(sl, f)) {
				lb_ft_to_ct(&s->ct, sl, now, h);
				way = i;
				if ((sl->state & LB_FT_STATE_MASK) == LB_FT_HALF)
					way |= LB_FT_HALF_BIT;
				break;
			}
		}
		lb_barrier();
		if (LB_READ_ONCE(b->w[LB_FT_SEQ].aux) == seq)
			return way;
	}
	return LB_FT_MISS;
}

/**
 * lb_ft_put - write s->ct's changes (lb_ft_from_ct) back to flow @f's slot.
 * @way: the way lb_ft_get returned, with LB_FT_HALF_BIT if the slot stays half-open
 *
 * Skipped if the way no longer holds the flow (replaced meanwhile) or the bucket stayed locked:
 * a refresh or a close is then lost, as a concurrent replacement would have dropped it anyway.
 */
__noinline int lb_ft_put(struct lb_scratch *s, const struct lb_flow *f, int way)
{
	struct lb_ft_bucket *b;
	struct lb_ft_slot *sl;

	if (!s || !f)
		return 0;
	b = lb_ft_bucket_of(lb_ft_hash_of(f));
	if (!b)
		return 0;
	if (!lb_ft_lock(b)) {
		lb_count_reason(LB_R_FT_BUSY);
		return 0;
	}
	sl = &b->w[way & (LB_FT_WAYS - 1)].s;
	if (lb_ft_match(sl, f))
		lb_ft_from_ct(sl, &s->ct, way & LB_FT_HALF_BIT);
	lb_ft_unlock(b);
	return 0;
}

/* Why live slot @sl cannot carry a new packet of its flow (a pure SYN when @syn): as lb_ct_why_not,
 * or 0. */
static __always_inline __u32 lb_ft_why_not(const struct lb_ft_slot *sl, __u64 now, int syn)
{
	__u32 id = sl->backend_id; /* 16 bits in the slot: the key is a u32 */

	if (syn && (sl->state & LB_FT_STATE_MASK) == LB_CT_CLOSING)
		return LB_R_CT_EXPIRED;
	if (lb_ft_expired(sl, now))
		return LB_R_CT_EXPIRED;
	return lb_ct_backend(&id, sl->backend_gen) ? 0 : LB_R_CT_RESELECT;
}

/* Fill way @sl with the new entry @ct of flow @f (half-open when @half). */
static __always_inline void lb_ft_fill(struct lb_ft_slot *sl, const struct lb_flow *f, const struct lb_ct *ct,
				       int half)
{
	sl->saddr = f->src.w[3];
	sl->daddr = f->dst.w[3];
	*(__u32 *)&sl->sport = lb_ft_ports(f);
	sl->proto = f->proto;
	sl->fwd = ct->fwd;
	sl->svc_id = ct->svc_id;
	sl->backend_id = ct->backend_id;
	sl->backend_gen = ct->backend_gen;
	lb_ft_from_ct(sl, ct, half);
}

/**
 * lb_ft_insert - store the new entry of flow @f in lb_ft4 (see the top of this file).
 * @s: this CPU's lb_scratch: s->ct is the entry (lb_ct_init); on LB_EXISTS replaced by a copy of
 *     the flow's live entry, which took the packet (refreshed, or closed by a FIN/RST)
 * @f: the flow (IPv4: lb_ft_on; of a dsr/ipip/ip6ip6/gue service); a TCP flow's slot is half-open
 *     until its handshake completes
 * s->ft_now and s->ft_tcp_flags are the packet's clock and TCP flags (0 for UDP).
 *
 * Returns LB_CONTINUE (stored), LB_EXISTS (forward by s->ct), LB_FT_FALLBACK: the caller
 * stores the entry in lb_ct / lb_ct_syn (lb_ct_insert), as without the table; or LB_FT_BUSY.
 */
__noinline int lb_ft_insert(struct lb_scratch *s, const struct lb_flow *f)
{
	struct lb_ft_bucket *b;
	struct lb_ft_slot *sl;
	__u32 i, pick = LB_FT_WAYS, best = 0, why;
	int syn;

	if (!s || !f)
		return LB_FT_FALLBACK;
#define now (s->ft_now)
#define tcp_flags (s->ft_tcp_flags)
	syn = f->proto == IPPROTO_TCP && (tcp_flags & (LB_TCP_SYN | LB_TCP_ACK)) == LB_TCP_SYN;
	b = lb_ft_bucket_of(lb_ft_hash_of(f));
	if (!b)
		return LB_FT_FALLBACK;
	if (!lb_ft_lock(b)) {
		s->ft_bucket = lb_ft_hash_of(f) & CONFIG(ft_mask); /* for lb_ft_wait */
		return LB_FT_BUSY;
	}
	/* One pass: the flow's own slot (pick | LB_FT_MINE), else the best other: a free or expired
	 * slot (best ~0, the first), else the longest idle half-open one (best = its age in ticks + 1;
	 * a SYN may take it). Not unrolled, and few live values: this frame is on the deepest call
	 * chain (xdp_lb, lb_vip_miss, here: 512 bytes of stack in all). */
#pragma clang loop unroll(disable)
	for (i = 0; i < LB_FT_WAYS; i++) {
		__u32 score = 0;

		sl = &b->w[i & (LB_FT_WAYS - 1)].s;
		if (lb_ft_match(sl, f)) {
			pick = i | LB_FT_MINE;
			break;
		}
		if (!sl->proto || lb_ft_expired(sl, now))
			score = ~0U;
		else if ((sl->state & LB_FT_STATE_MASK) == LB_FT_HALF)
			score = (__u32)(lb_ft_age(sl, now) >> LB_FT_TICK_SHIFT) + 1;
		if (score > best) {
			best = score;
			pick = i;
		}
	}
	if (pick & LB_FT_MINE) {
		sl = &b->w[pick & (LB_FT_WAYS - 1)].s;
		why = lb_ft_why_not(sl, now, syn);
		if (!why) { /* its entry was there first: the packet goes by it */
			int was_half = (sl->state & LB_FT_STATE_MASK) == LB_FT_HALF;

			lb_ft_to_ct(&s->ct, sl, now, lb_ft_hash_of(f));
			lb_ct_hit(&s->ct, tcp_flags, now);
			lb_ft_from_ct(sl, &s->ct, was_half);
			lb_ft_unlock(b);
			return LB_EXISTS;
		}
		if (syn) /* a pure SYN did not look up first: counted here, as lb_ct_adopt does */
			lb_count_reason(why);
	} else if (syn && lb_ft_over_live(b, now)) {
		/* the tuple may have a half-open entry in lb_ct_syn from an earlier SYN: go there (a
		 * retransmission keeps the flag live while its entry lives) */
		b->w[LB_FT_OVER].aux = lb_ft_tick(now) | 1;
		lb_ft_unlock(b);
		return LB_FT_FALLBACK;
	} else if (best != ~0U) {
		if (!syn || !best) { /* only live flows, or live established ones for a SYN */
			if (syn)
				b->w[LB_FT_OVER].aux = lb_ft_tick(now) | 1;
			lb_ft_unlock(b);
			lb_count_reason(LB_R_FT_OVERFLOW);
			return LB_FT_FALLBACK;
		}
		/* a SYN takes the oldest half-open slot: churn stays among new flows */
		lb_count_reason(LB_R_FT_EVICTED);
	}
	sl = &b->w[pick & (LB_FT_WAYS - 1)].s;
	lb_ft_fill(sl, f, &s->ct, f->proto == IPPROTO_TCP);
	lb_ft_unlock(b);
	return LB_CONTINUE;
#undef now
#undef tcp_flags
}

/* lb_ft_wait's loop body: stop once the bucket's sequence is even (unlocked). */
static long lb_ft_wait_step(__u64 i, void *unused)
{
	struct lb_scratch *s = lb_scratch_get();
	struct lb_ft_bucket *b;

	if (!s)
		return 1;
	b = bpf_map_lookup_elem(&lb_ft4, &s->ft_bucket);
	return !b || !(LB_READ_ONCE(b->w[LB_FT_SEQ].aux) & 1);
}

/* Wait for the bucket lb_ft_insert found locked (s->ft_bucket), for at most LB_FT_WAIT_READS
 * reads. bpf_loop: one verified body, however long the wait; and its frame is not stacked on
 * lb_ft_insert's (the caller waits, then inserts again), so the deepest call chain stays within
 * 512 bytes. */
static __always_inline void lb_ft_wait(void)
{
	bpf_loop(LB_FT_WAIT_READS, lb_ft_wait_step, NULL, 0);
}

/**
 * lb_ft_usable - the packet's flow's lb_ft4 entry if it may carry the packet (lb_ct_why_not).
 * @c: the packet (IPv4: lb_ft_on)
 *
 * Returns the copy in this CPU's lb_scratch.ct (read-only for the caller: nothing goes back to the
 * slot), or NULL. For the ICMP relay and flood mode's retransmitted SYNs; the established path
 * keeps the way to write back (lb_ft_vip).
 */
static __always_inline struct lb_ct *lb_ft_usable(struct lb_ctx *c)
{
	struct lb_scratch *s = lb_scratch_get();
	struct lb_backend *be = NULL;
	int way;

	if (!s)
		return NULL;
	way = lb_ft_get(s, &c->pkt.flow, c->now);
	if (way < 0 || lb_ct_why_not(&s->ct, c->pkt.flow.proto, c->pkt.tcp_flags, c->now,
				     way & LB_FT_HALF_BIT, &be) || !be)
		return NULL;
	return &s->ct;
}

#endif /* __LB_FLOWTAB_H */
