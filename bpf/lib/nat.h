/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* nat.h - full NAT on one arm: SNAT port allocation, the forward and the reverse rewrite.
 *
 * Forward: dst -> backend address:port, src -> SNAT address:port. Reverse (a backend's reply to a
 * SNAT address:port): src -> VIP:service port, dst -> client, back out where the client came in.
 *
 * State: the forward entry lb_ct[client tuple] holds the SNAT address, port and a lease; the
 * reverse entry lb_snat[reply tuple] holds the client tuple and the same lease. The reply tuple
 * (backend addr:port -> SNAT addr:port) is the allocation unit, so each (SNAT address, backend)
 * pair has its own port range: about 64k flows each at most (the configured range, by default
 * 10000 ports). Allocation is race-free across CPUs without locks:
 *  1. candidate ports: LB_SNAT_TRIES from a hash of the client tuple (the same client tuple tends to
 *     get the same port back, and a retransmitted SYN finds its half-open connection), then, when
 *     none of those can be had, LB_SNAT_TRIES random ones, so that a retransmitted SYN meets other
 *     ports than the attempt before (with occupancy f an attempt fails with probability f^16, and
 *     the next one independently, instead of failing on the same 8 hashed ports until one frees);
 *  2. a candidate is owned by inserting its reverse entry with BPF_NOEXIST and lease BUSY (first
 *     pass: a free candidate is always preferred), or by taking over a stale one (second pass, and
 *     the random candidates: its owner's lb_ct entry is gone, carries another lease or has been
 *     idle past its timeout + snat_grace_ns) with a compare-and-swap of the lease to BUSY. A stale
 *     TCP port goes to another client only snat_reuse_ns after its last packet (the backend may
 *     still hold the old connection on that tuple in TIME_WAIT), unless its flow ended with a reset
 *     (lb_ct.close_reason: no TIME_WAIT), which frees it snat_grace_ns after its last packet; the
 *     flow's own stale port (same client tuple, the same 4-tuple at the backend) is taken back at
 *     once, in the first pass;
 *  3. the owner writes its lb_ct entry, then publishes the lease (atomic exchange).
 * A reply is delivered only when lb_ct[client] carries the lease and SNAT address:port of the
 * reverse entry: eviction of either side, expiry or a reused port can drop a reply (counted as
 * LB_R_DROP_SNAT_STALE), never deliver it to another client.
 *
 * Half-open TCP flows (layout 4, lib/halfopen.h): their forward entry is in lb_ct_syn and their
 * lease carries LB_SNAT_LEASE_HALF. The owner of a reverse entry is looked up in lb_ct, then (HALF
 * lease) in lb_ct_syn. A half-open owner's port is free as soon as that owner is gone (evicted from
 * lb_ct_syn by newer half-open flows) or idle past syn_timeout_ns (LB_SNAT_RESET): the backend holds
 * no TIME_WAIT for a connection that never opened, at most a SYN_RECV request that the new flow's
 * SYN meets (the backend answers it with an ACK, the new client resets it and its retransmitted SYN
 * connects). So a SYN flood holds SNAT ports for seconds, not for tcp_timeout_ns + snat_reuse_ns.
 * Promotion (lb_nat_promote) writes the lb_ct entry with the lease without the bit, then clears the
 * bit in the reverse entry (compare-and-swap), then deletes the lb_ct_syn entry: at every moment one
 * of the two tables confirms the lease, and lease comparisons ignore the bit (lb_snat_lease_eq).
 */
#ifndef __LB_NAT_H
#define __LB_NAT_H

#include "lib/ctx.h"
#include "lib/config.h"
#include "lib/maps.h"
#include "lib/csum.h"
#include "lib/stats.h"
#include "lib/conntrack.h"
#include "lib/fib.h"
#include "lib/rewrite.h"
#include "lib/reset.h"
#include "lib/service.h"

#define LB_SNAT_TRIES 8 /* hashed candidates, then as many random ones; a power of two */
#define LB_SNAT_SALT 0x5a17c0deU /* separates the port hash from the strategies' flow hash */

/* Do leases @a and @b name the same flow? (The half-open bit aside: promotion clears it in lb_ct
 * before it does in lb_snat.) Tombstones, BUSY and FREE never equal a flow's lease. */
static __always_inline int lb_snat_lease_eq(__u32 a, __u32 b)
{
	return ((a ^ b) & ~LB_SNAT_LEASE_HALF) == 0;
}

/* Is @lease a half-open flow's (not a tombstone)? */
static __always_inline int lb_snat_lease_half(__u32 lease)
{
	return (lease & (0x80000000U | LB_SNAT_LEASE_HALF)) == LB_SNAT_LEASE_HALF;
}

/* Does entry @ct (of lb_ct or lb_ct_syn) own the reply tuple @rk under @lease? */
static __always_inline int lb_snat_ct_owns(const struct lb_ct *ct, const struct lb_flow *rk, __u32 lease)
{
	return lb_snat_lease_eq(ct->snat_lease, lease) && ct->snat_port == rk->dport &&
	       lb_addr_eq(&ct->snat_addr, &rk->dst);
}

static __always_inline int lb_snat_port_in_range(__be16 port)
{
	__u32 p = bpf_ntohs(port);

	return p >= CONFIG(snat_port_min) && p <= CONFIG(snat_port_max);
}

/* Reverse key: what the backend's reply to a flow to @dport looks like. */
static __always_inline void lb_snat_rkey(struct lb_flow *rk, const struct lb_backend *be, __be16 dport,
					 const struct lb_addr *snat, __be16 snat_port, __u8 proto)
{
	__builtin_memset(rk, 0, sizeof(*rk));
	rk->src = be->addr;
	rk->dst = *snat;
	rk->sport = lb_be_port(be, dport);
	rk->dport = snat_port;
	rk->proto = proto;
}

/* Copy a client tuple into a reverse value (not its lease). */
static __always_inline void lb_snat_val_set(struct lb_snat_val *v, const struct lb_flow *f)
{
	v->src = f->src;
	v->dst = f->dst;
	v->sport = f->sport;
	v->dport = f->dport;
}

/* The client tuple (lb_ct key) a reverse value points to. */
static __always_inline void lb_snat_owner(struct lb_flow *f, const struct lb_snat_val *v,
					  __u8 proto)
{
	__builtin_memset(f, 0, sizeof(*f));
	f->src = v->src;
	f->dst = v->dst;
	f->sport = v->sport;
	f->dport = v->dport;
	f->proto = proto;
}

/* Leases: a flow's lease is random with the top bit clear; values with the top bit set (but BUSY)
 * are TCP tombstones: "found orphaned at coarse time T" (T in units of 2^20 ns, ~1.05 ms, 31 bits:
 * wraps after ~24.8 days, which at worst holds a forgotten port one snat_reuse_ns more), which
 * start the TIME_WAIT clock of a port whose owner's last packet time is unknown. */
#define LB_SNAT_TOMB 0x80000000U
#define LB_SNAT_TOMB_SHIFT 20

static __always_inline __u32 lb_snat_tomb(__u64 now)
{
	__u32 t = LB_SNAT_TOMB | (__u32)(now >> LB_SNAT_TOMB_SHIFT);

	return t == LB_SNAT_LEASE_BUSY ? t - 1 : t;
}

/* A stamp up to this many units (~1.07 s) ahead of this CPU's clock is young, not 2^31 old. */
#define LB_SNAT_TOMB_SKEW 1024U

/* Has TCP tombstone @tomb been held for snat_reuse_ns? (31-bit wrapping difference)
 * Another CPU may have stamped it with a clock a tick ahead of ours (lb_now() reads the coarse
 * clock at most one tick late: lib/clock.h), so the difference can be slightly negative: that is
 * an age of 0, never a wrapped-around "very old" that would hand out a port in TIME_WAIT. */
static __always_inline int lb_snat_tomb_aged(__u32 tomb, __u64 now)
{
	__u32 age = ((__u32)(now >> LB_SNAT_TOMB_SHIFT) - tomb) & ~LB_SNAT_TOMB;

	if (age > ~LB_SNAT_TOMB - LB_SNAT_TOMB_SKEW)
		return 0;
	/* +1: the stamp was rounded down */
	return age > (__u32)(CONFIG(snat_reuse_ns) >> LB_SNAT_TOMB_SHIFT) + 1;
}

/* Is the reverse entry @v (key @rk), read with lease @lease, still owned by a live flow?
 * An entry that changes under us counts as owned. @owner: scratch space for the owner's key.
 * Returns LB_SNAT_OWNED; LB_SNAT_RESET when its owner is a TCP flow that an RST ended before any
 * FIN (lb_ct.close_reason) and whose last packet is over snat_grace_ns old (the port is free: the
 * backend holds no TIME_WAIT); else the owner's lb_ct timestamp when its entry exists (expired, or
 * replaced by a newer flow of the same client tuple: the old flow ended before that timestamp, so
 * now - it is a lower bound of the time since the port's last packet), else 0 (unknown).
 *
 * Why snat_grace_ns is enough after a reset: what can still arrive of the old flow is (1) packets
 * in flight when it ended, whose network delay is far below the grace, and (2) later packets of its
 * client (its entry lives tcp_closing_timeout_ns): snat_grace_ns >= ct_refresh_ns (2 s, 1 s), so
 * the first one after the takeover is a refresh moment, and lb_snat_verify finds the port taken,
 * deletes the entry and drops it before it reaches the backend on the new flow's tuple. Replies
 * always go to the lease's owner (lb_nat_owner). Any packet of the old flow pushes the release back
 * (seen_ns is at most ct_refresh_ns behind its last packet). The entry's state and close_reason are
 * read before seen_ns, which lb_ct_hit writes first: CLOSING is never judged by the time of the
 * packet before the RST. */
#define LB_SNAT_OWNED (~0ULL)
#define LB_SNAT_RESET (~1ULL)
static __always_inline __u64 lb_snat_owned(__u64 now, const struct lb_flow *rk,
					   struct lb_snat_val *v, __u32 lease, struct lb_flow *owner)
{
	struct lb_ct *oct;
	__u8 state, why;
	__s64 age;
	__u64 seen;

	lb_barrier();
	lb_snat_owner(owner, v, rk->proto);
	lb_barrier();
	if (LB_READ_ONCE(v->lease) != lease)
		return LB_SNAT_OWNED;
	oct = bpf_map_lookup_elem(&lb_ct, owner);
	if (lb_snat_lease_half(lease) && !(oct && lb_snat_ct_owns(oct, rk, lease))) {
		/* a half-open flow's port: owned while that flow is in lb_ct_syn and not timed out */
		struct lb_ct *hct = bpf_map_lookup_elem(&lb_ct_syn, owner);

		if (hct && lb_snat_ct_owns(hct, rk, lease) && !lb_half_expired(hct, now))
			return LB_SNAT_OWNED;
		return LB_SNAT_RESET;
	}
	if (!oct)
		return 0;
	state = LB_READ_ONCE(oct->state);
	why = LB_READ_ONCE(oct->close_reason);
	lb_barrier();
	seen = LB_READ_ONCE(oct->seen_ns);
	if (!lb_snat_ct_owns(oct, rk, lease))
		return seen;
	age = (__s64)(now - seen);
	if (state == LB_CT_CLOSING && why == LB_CT_CLOSE_RST)
		return age > (__s64)CONFIG(snat_grace_ns) ? LB_SNAT_RESET : LB_SNAT_OWNED;
	return age > (__s64)(lb_ct_timeout(rk->proto, state) + CONFIG(snat_grace_ns)) ? seen : LB_SNAT_OWNED;
}

/* Is the reverse entry @v the new flow's own (@w: its value; a stale port of this very tuple)? */
static __always_inline int lb_snat_is_own(const struct lb_snat_val *v, const struct lb_snat_val *w)
{
	return lb_addr_eq(&v->src, &w->src) && lb_addr_eq(&v->dst, &w->dst) &&
	       v->sport == w->sport && v->dport == w->dport;
}

/* The candidate's port is in use (its reverse entry @v, key @rk, exists): may the new flow (its
 * reverse value s->val) take it over now? Returns 1 with v's lease set to BUSY (ours), else 0.
 *  - owned by a live flow (or changing under us): no;
 *  - the new flow's own client tuple (its previous flow, whose forward entry was evicted or
 *    expired): yes at once: to the backend it is the same 4-tuple as before, as if the client
 *    reused its port without the LB, and a retransmitted SYN finds its half-open connection;
 *  - UDP: yes (its owner is gone or idle past its timeout + snat_grace_ns);
 *  - TCP whose flow an RST ended (LB_SNAT_RESET: snat_grace_ns after its last packet): yes;
 *  - TCP (@own_only 0): only once the port's last packet is snat_reuse_ns old, so that the backend
 *    no longer holds the previous connection on this tuple in TIME_WAIT. When that time is
 *    unknown (the owner's entry was evicted, or replaced by a newer flow that is still active),
 *    the entry is stamped with a tombstone that starts the clock now. snat_reuse_ns 0: TCP is
 *    treated like UDP. */
static __always_inline int lb_snat_take(const struct lb_flow *rk, struct lb_snat_val *v,
					struct lb_scratch *s, int own_only, __u64 now)
{
	const struct lb_snat_val *w = &s->val;
	__u32 old = LB_READ_ONCE(v->lease);
	__u64 seen;
	int own;

	if (old == LB_SNAT_LEASE_BUSY)
		return 0;
	own = lb_snat_is_own(v, w);
	if (own_only && !own)
		return 0;
	seen = lb_snat_owned(now, rk, v, old, &s->client);
	if (seen == LB_SNAT_OWNED)
		return 0;
	if (!own && seen != LB_SNAT_RESET && rk->proto == IPPROTO_TCP && CONFIG(snat_reuse_ns) &&
	    !(seen && (__s64)(now - seen) > (__s64)CONFIG(snat_reuse_ns))) {
		if (!(old & LB_SNAT_TOMB)) { /* start the clock (the CAS fails if it changed) */
			__sync_val_compare_and_swap(&v->lease, old, lb_snat_tomb(now));
			return 0;
		}
		if (!lb_snat_tomb_aged(old, now))
			return 0;
	}
	if (__sync_val_compare_and_swap(&v->lease, old, LB_SNAT_LEASE_BUSY) != old)
		return 0;
	v->src = w->src;
	v->dst = w->dst;
	v->sport = w->sport;
	v->dport = w->dport;
	lb_count_reason(LB_R_SNAT_RECLAIMED);
	if (lb_snat_lease_half(old))
		lb_count_reason(LB_R_SNAT_HALF_FREED);
	return 1;
}

/**
 * lb_snat_try - try to own one candidate: the reply tuple s->rk, for the new flow whose reverse
 * value (lease BUSY) is s->val. A global function: the verifier checks it once, not once for each
 * of lb_snat_alloc's candidates.
 * @s: this CPU's lb_scratch (s->client: scratch space)
 * @own_only: an entry in use is taken only if it is the flow's own (first pass)
 * @now: coarse clock
 *
 * Returns 1 when the candidate is ours with lease BUSY (inserted, or taken over: lb_snat_take), 0
 * when it is not, -1 on a map failure.
 */
__noinline int lb_snat_try(struct lb_scratch *s, int own_only, __u64 now)
{
	struct lb_snat_val *v;
	long err;

	if (!s)
		return -1;
	err = bpf_map_update_elem(&lb_snat, &s->rk, &s->val, BPF_NOEXIST);
	if (!err)
		return 1;
	if (err != -LB_EEXIST)
		return -1;
	v = bpf_map_lookup_elem(&lb_snat, &s->rk);
	return v ? lb_snat_take(&s->rk, v, s, own_only, now) : 0;
}

/**
 * lb_snat_alloc - allocate a SNAT address:port for a new flow and store its lb_ct entry.
 * @c: the packet (its flow is the client tuple)
 * @svc: the service (its SNAT pool slice)
 * @be: the chosen backend
 * @ct: the new entry, filled but for the SNAT fields; stored by this function
 * @half: a half-open TCP flow: stored in lb_ct_syn, its lease with LB_SNAT_LEASE_HALF
 * @ins: how the forward entry is stored (lb_ct_insert: BPF_NOEXIST, or BPF_ANY to replace)
 *
 * Two passes over the LB_SNAT_TRIES hashed candidates: the first takes a free one (BPF_NOEXIST
 * insert) or the flow's own stale one, the second a reclaimable one (lb_snat_take); then
 * LB_SNAT_TRIES random candidates (bpf_get_prandom_u32), each taken if free or reclaimable.
 * Returns LB_CONTINUE, or XDP_DROP with LB_R_DROP_SNAT_EXHAUSTED (every candidate in use or held
 * for TIME_WAIT: the new flow is refused, the client retries and meets other random candidates)
 * or LB_R_DROP_ERROR (no pool configured, map failure); or LB_EXISTS: the flow's forward entry
 * was there first (a retransmitted SYN, another CPU's packet of the flow), the port just taken is
 * given back (its reverse entry deleted: it was ours, BUSY, and no flow names it).
 */
static __always_inline int lb_snat_alloc(struct lb_ctx *c, const struct lb_svc *svc,
					 const struct lb_backend *be, struct lb_ct *ct, int half,
					 __u64 ins)
{
	const struct lb_flow *flow = &c->pkt.flow;
	__u32 lo = CONFIG(snat_port_min), hi = CONFIG(snat_port_max);
	__u32 range = hi >= lo ? hi - lo + 1 : 1;
	__u32 count = svc->snat_count, first = svc->snat_first;
	struct lb_scratch *s = lb_scratch_get();
	struct lb_snat_val *val, *v;
	struct lb_flow *rk;
	__u32 h, lease, i;
	int got;

	if (!count || !s)
		goto error;
	val = &s->val;
	rk = &s->rk;
	h = lb_hash_words((const __u32 *)flow, LB_FLOW_WORDS, CONFIG(hash_seed) ^ LB_SNAT_SALT);
	__builtin_memset(val, 0, sizeof(*val));
	lb_snat_val_set(val, flow);
	val->lease = LB_SNAT_LEASE_BUSY;

	for (i = 0; i < 3 * LB_SNAT_TRIES; i++) {
		__u32 pass = i / LB_SNAT_TRIES; /* 0, 1: hashed; 2: random */
		__u32 hc = pass < 2 ? lb_fmix32(h + (i & (LB_SNAT_TRIES - 1)) * 0x9e3779b9U)
				    : bpf_get_prandom_u32();
		__u32 idx = first + (hc & 0xffff) % count;
		struct lb_addr *sa;
		__be16 port;

		sa = bpf_map_lookup_elem(&lb_snat_pool, &idx);
		if (!sa)
			goto error;
		port = bpf_htons(lo + (__u32)(((__u64)hc * range) >> 32));
		lb_snat_rkey(rk, be, flow->dport, sa, port, flow->proto);
		/* a free port, or one in use that the first pass takes only if it is the flow's
		 * own stale port, the others if reclaimable */
		got = lb_snat_try(s, pass == 0, c->now);
		if (got < 0)
			goto error;
		v = got ? bpf_map_lookup_elem(&lb_snat, rk) : NULL;
		if (!v)
			continue;
		/* v is ours (BUSY): forward entry first, then publish the lease */
		lease = bpf_get_prandom_u32() & ~(LB_SNAT_TOMB | LB_SNAT_LEASE_HALF);
		if (lease == LB_SNAT_LEASE_FREE)
			lease = 1;
		if (half)
			lease |= LB_SNAT_LEASE_HALF;
		ct->snat_addr = *sa;
		ct->snat_port = port;
		ct->snat_lease = lease;
		goto owned; /* out of the loop: the verifier walks the store once, not per candidate */
	}
	c->reason = LB_R_DROP_SNAT_EXHAUSTED;
	return XDP_DROP;
owned:
	got = lb_ct_insert(c, s, half, ins);
	if (got == LB_EXISTS) {
		bpf_map_delete_elem(&lb_snat, rk);
		return LB_EXISTS;
	}
	if (got != LB_CONTINUE) {
		__sync_lock_test_and_set(&v->lease, LB_SNAT_LEASE_FREE);
		return got;
	}
	__sync_lock_test_and_set(&v->lease, lease);
	return LB_CONTINUE;
error:
	c->reason = LB_R_DROP_ERROR;
	return XDP_DROP;
}

/**
 * lb_snat_verify - at a refresh moment of a NAT flow, check that its reverse entry is still its own.
 * @c: the packet
 * @ct: the flow's live entry
 * @be: its backend
 *
 * An evicted reverse entry is re-created (LB_R_SNAT_REPAIRED). One that now belongs to another
 * flow means this flow lost its port: its entry is deleted and the packet dropped
 * (LB_R_DROP_SNAT_STALE); the next packet starts a new flow.
 */
static __noinline int lb_snat_verify(struct lb_ctx *c, struct lb_ct *ct,
					  const struct lb_backend *be)
{
	struct lb_scratch *s = lb_scratch_get();
	struct lb_snat_val *v;
	struct lb_flow *rk;

	if (!s) {
		c->reason = LB_R_DROP_ERROR;
		return XDP_DROP;
	}
	rk = &s->rk;
	lb_snat_rkey(rk, be, c->pkt.flow.dport, &ct->snat_addr, ct->snat_port, c->pkt.flow.proto);
	v = bpf_map_lookup_elem(&lb_snat, rk);
	if (v) {
		if (lb_snat_lease_eq(LB_READ_ONCE(v->lease), ct->snat_lease))
			return LB_CONTINUE;
	} else {
		struct lb_snat_val *val = &s->val;

		__builtin_memset(val, 0, sizeof(*val));
		lb_snat_val_set(val, &c->pkt.flow);
		val->lease = ct->snat_lease;
		if (!bpf_map_update_elem(&lb_snat, rk, val, BPF_NOEXIST)) {
			lb_count_reason(LB_R_SNAT_REPAIRED);
			return LB_CONTINUE;
		}
	}
	bpf_map_delete_elem(&lb_ct, &c->pkt.flow);
	c->reason = LB_R_DROP_SNAT_STALE;
	return XDP_DROP;
}

/* Rewrite the addresses and (but in a later fragment, which has no L4 header) the ports of the
 * packet, with incremental checksums. */
static __always_inline void lb_nat_rewrite_l34(struct lb_ctx *c, const struct lb_addr *saddr,
					       const struct lb_addr *daddr, __be16 sport, __be16 dport)
{
	struct lb_pkt *p = &c->pkt;
	__u32 pseudo = 0;

	if (lb_l3_rewrite(p->l3, p->data_end, p->v6, saddr, daddr, &pseudo) < 0)
		return;
	if (p->frag != LB_FRAG_LATER)
		lb_l4_rewrite(p->l4, p->data_end, p->flow.proto, sport, dport, pseudo, 0);
}

/* Forward rewrite: client -> VIP becomes SNAT address:port -> backend. */
static __always_inline void lb_nat_rewrite_fwd(struct lb_ctx *c, const struct lb_ct *ct,
					       const struct lb_backend *be, const struct lb_nh *nh)
{
	lb_nat_rewrite_l34(c, &ct->snat_addr, &be->addr, ct->snat_port, lb_be_port(be, c->pkt.flow.dport));
	lb_macs_set(c->pkt.eth, nh);
}

/* Remember the LB's own MAC on the client's interface when replies will arrive on another one. */
static __always_inline void lb_nat_learn_if_mac(struct lb_ctx *c, const struct lb_nh *nh)
{
	__u32 ifindex = c->xdp->ingress_ifindex;
	struct lb_mac *m;
	struct lb_mac mac __attribute__((aligned(4))); /* lb_mac_copy: aligned stack accesses */

	if (nh->ifindex == ifindex)
		return;
	m = bpf_map_lookup_elem(&lb_if_macs, &ifindex);
	if (m && lb_mac_eq(m->addr, c->pkt.eth->h_dest))
		return;
	__builtin_memset(&mac, 0, sizeof(mac));
	lb_mac_copy(mac.addr, c->pkt.eth->h_dest);
	bpf_map_update_elem(&lb_if_macs, &ifindex, &mac, BPF_ANY);
}

/* lb_nat_owner_half's *half when the reverse entry's flow lost its forward entry (evicted). */
#define LB_NAT_ORPHAN (-1)

/**
 * lb_nat_owner - the live flow that owns the reply tuple @rk (backend -> SNAT address:port).
 * @c: the packet
 * @rk: the reply tuple (a reply's own flow, or the one an ICMP error quotes, reversed)
 * @client: set to the owner's client tuple (its lb_ct key)
 *
 * @half: set to 1 when the owner is a half-open flow (its lb_ct_syn entry is returned), to
 *	  LB_NAT_ORPHAN when the reverse entry carries an established flow's lease whose client has no
 *	  lb_ct entry at all (evicted: the port is still that client's), else 0
 *
 * Returns the owner's lb_ct (or lb_ct_syn) entry, NULL with c->reason = LB_R_PASS_SNAT_UNKNOWN (no
 * reverse entry) or LB_R_DROP_SNAT_STALE (an entry that the forward entry it names does not
 * confirm: lease, SNAT address and port, family).
 */
static __always_inline struct lb_ct *lb_nat_owner_half(struct lb_ctx *c, const struct lb_flow *rk,
						       struct lb_flow *client, int *half)
{
	struct lb_snat_val *v;
	struct lb_ct *ct;
	__u32 lease;

	*half = 0;
	v = bpf_map_lookup_elem(&lb_snat, rk);
	if (!v) {
		c->reason = LB_R_PASS_SNAT_UNKNOWN;
		return NULL;
	}
	lease = LB_READ_ONCE(v->lease);
	lb_barrier();
	lb_snat_owner(client, v, rk->proto);
	lb_barrier();
	c->reason = LB_R_DROP_SNAT_STALE;
	if (lease == LB_SNAT_LEASE_FREE || lease == LB_SNAT_LEASE_BUSY ||
	    LB_READ_ONCE(v->lease) != lease)
		return NULL;
	if (lb_addr_is_v4(&client->src) != lb_addr_is_v4(&rk->src))
		return NULL;
	ct = bpf_map_lookup_elem(&lb_ct, client);
	if (ct && lb_snat_ct_owns(ct, rk, lease))
		return ct;
	if (lb_snat_lease_half(lease)) {
		struct lb_ct *hct = bpf_map_lookup_elem(&lb_ct_syn, client);

		if (hct && lb_snat_ct_owns(hct, rk, lease)) {
			*half = 1;
			return hct;
		}
		return NULL;
	}
	/* an established flow's lease, its forward entry gone (evicted): the port is still the
	 * client's, nobody else's (lb_nat_reset_orphan) */
	if (!ct && !(lease & LB_SNAT_TOMB))
		*half = LB_NAT_ORPHAN;
	return NULL;
}

/**
 * lb_nat_reset_orphan - a backend's TCP packet to a NAT flow whose forward entry was evicted (its
 * reverse entry, @client, is intact): turned into an RST to the client, out towards it by the FIB,
 * so that a client waiting for this reply is reset rather than left hanging (bpf/lib/halfopen.h).
 * @c: the packet (c->reason LB_R_DROP_SNAT_STALE, kept when no RST can be sent)
 * @client: the client tuple the reverse entry names (lb_ct key)
 *
 * Returns XDP_TX / XDP_REDIRECT (LB_R_RESET) or XDP_DROP (an RST, a fragment, IPv6 extension
 * headers, no route or neighbour to the client: the packet as before).
 */
static __noinline int lb_nat_reset_orphan(struct lb_ctx *c, const struct lb_flow *client)
{
	struct lb_scratch *s = lb_scratch_get();
	struct bpf_fib_lookup *fib;
	struct ethhdr *eth;
	void *data, *end;
	__u8 dmac[6], smac[6];
	int verdict;

	if (!s || !client || (c->pkt.tcp_flags & LB_TCP_RST) || c->pkt.frag != LB_FRAG_NONE || c->pkt.ext)
		return XDP_DROP;
	fib = &s->fib;
	__builtin_memset(fib, 0, sizeof(*fib));
	fib->l4_protocol = IPPROTO_TCP;
	fib->ifindex = c->xdp->ingress_ifindex;
	if (lb_addr_is_v4(&client->src)) {
		fib->family = LB_AF_INET;
		fib->ipv4_src = client->dst.w[3];
		fib->ipv4_dst = client->src.w[3];
	} else {
		fib->family = LB_AF_INET6;
		__builtin_memcpy(fib->ipv6_src, &client->dst, sizeof(fib->ipv6_src));
		__builtin_memcpy(fib->ipv6_dst, &client->src, sizeof(fib->ipv6_dst));
	}
	if (bpf_fib_lookup(c->xdp, fib, sizeof(*fib), 0) != BPF_FIB_LKUP_RET_SUCCESS)
		return XDP_DROP;
	__builtin_memcpy(dmac, fib->dmac, 6);
	__builtin_memcpy(smac, fib->smac, 6);
	verdict = lb_tx_via(c, fib->ifindex);
	if (verdict == XDP_DROP) {
		c->reason = LB_R_DROP_SNAT_STALE;
		return XDP_DROP;
	}
	lb_nat_rewrite_l34(c, &client->dst, &client->src, client->dport, client->sport);
	if (lb_tcp_reset(c->xdp, c->pkt.l2len, (__u32)c->pkt.l4_off - c->pkt.l2len, c->pkt.v6, 0)) {
		c->reason = LB_R_DROP_SNAT_STALE;
		return XDP_DROP;
	}
	data = (void *)(long)c->xdp->data;
	end = (void *)(long)c->xdp->data_end;
	eth = data;
	if ((void *)(eth + 1) > end) {
		c->reason = LB_R_DROP_SNAT_STALE;
		return XDP_DROP;
	}
	__builtin_memcpy(eth->h_dest, dmac, 6);
	__builtin_memcpy(eth->h_source, smac, 6);
	c->reason = LB_R_RESET;
	return verdict;
}

/* lb_nat_owner_half for callers that do not care which table the owner is in (ICMP errors). */
static __always_inline struct lb_ct *lb_nat_owner(struct lb_ctx *c, const struct lb_flow *rk,
						  struct lb_flow *client)
{
	int half;

	return lb_nat_owner_half(c, rk, client, &half);
}

/**
 * lb_nat_promote - a half-open NAT flow completed its handshake: make its reverse entry name the
 * established lease (lb_ct already holds the entry @nct, whose lease has the bit cleared).
 * @c: the packet (the client's)
 * @s: this CPU's lb_scratch (@nct may be s->ct; s->rk and s->val are used here)
 * @nct: the promoted entry
 * @half_lease: the lease the flow had while half-open
 * @be: its backend
 *
 * Returns 1 when the reverse entry carries the established lease (cleared by compare-and-swap, or
 * re-created when it had been evicted: LB_R_SNAT_REPAIRED), 0 when the port went to another flow
 * meanwhile (the flow cannot go on: the caller resets it).
 */
static __always_inline int lb_nat_promote(struct lb_ctx *c, struct lb_scratch *s,
					  const struct lb_ct *nct, __u32 half_lease,
					  const struct lb_backend *be)
{
	struct lb_snat_val *v;
	__u32 cur;

	lb_snat_rkey(&s->rk, be, c->pkt.flow.dport, &nct->snat_addr, nct->snat_port, c->pkt.flow.proto);
	v = bpf_map_lookup_elem(&lb_snat, &s->rk);
	if (v) {
		cur = __sync_val_compare_and_swap(&v->lease, half_lease, nct->snat_lease);
		return cur == half_lease || cur == nct->snat_lease;
	}
	__builtin_memset(&s->val, 0, sizeof(s->val));
	lb_snat_val_set(&s->val, &c->pkt.flow);
	s->val.lease = nct->snat_lease;
	if (bpf_map_update_elem(&lb_snat, &s->rk, &s->val, BPF_NOEXIST))
		return 0;
	lb_count_reason(LB_R_SNAT_REPAIRED);
	return 1;
}

/**
 * lb_nat_to_client - send the packet back towards the client side of NAT flow @ct: out of the
 * interface the client came in on, to the MAC the flow came from, from the LB's own MAC there.
 * @c: the packet
 * @ct: the flow's entry
 *
 * Writes the MACs and returns XDP_TX or XDP_REDIRECT, or XDP_DROP (LB_R_DROP_NO_TX_PORT: the
 * interface is not in lb_tx_ports or its MAC was never learned) with the packet untouched.
 */
static __always_inline int lb_nat_to_client(struct lb_ctx *c, const struct lb_ct *ct)
{
	struct ethhdr *eth = c->pkt.eth;
	__u32 in_ifindex = ct->in_ifindex;
	int verdict;

	if (in_ifindex == c->xdp->ingress_ifindex) {
		c->reason = LB_R_TX;
		verdict = XDP_TX;
		lb_mac_copy(eth->h_source, eth->h_dest);
	} else {
		struct lb_mac *m = bpf_map_lookup_elem(&lb_if_macs, &in_ifindex);

		if (!m) {
			c->reason = LB_R_DROP_NO_TX_PORT;
			return XDP_DROP;
		}
		verdict = lb_tx_via(c, in_ifindex);
		if (verdict == XDP_DROP)
			return verdict;
		lb_mac_copy(eth->h_source, m->addr);
	}
	lb_mac_copy(eth->h_dest, ct->peer_mac);
	return verdict;
}

/**
 * lb_nat_reverse - a packet to a SNAT address (that is not for a service): a backend's reply.
 * @c: the packet
 *
 * Ports outside [snat_port_min, snat_port_max] are the host's own traffic: passed untouched
 * (LB_R_PASS_NOT_OURS). In the range but without a reverse entry: passed untouched too
 * (LB_R_PASS_SNAT_UNKNOWN): deploy refuses a range that overlaps the host's ephemeral ports
 * (net.ipv4.ip_local_port_range), so the host's own connections never use it and answers such a
 * packet as it would any closed port (a process that binds a port in the range explicitly would
 * get it); no guess is ever rewritten. An entry that its forward entry does not
 * confirm: dropped (LB_R_DROP_SNAT_STALE). Otherwise src -> VIP:port, dst -> client, MACs ->
 * (LB's own on the client's interface, the client side's), out where the client came in.
 */
static __always_inline int lb_nat_reverse(struct lb_ctx *c)
{
	struct lb_pkt *p = &c->pkt;
	struct lb_scratch *s;
	struct lb_flow *client;
	struct lb_ct *ct;
	int verdict, half;

	if (!lb_snat_port_in_range(p->flow.dport)) {
		c->reason = LB_R_PASS_NOT_OURS;
		return XDP_PASS;
	}
	s = lb_scratch_get();
	if (!s) {
		c->reason = LB_R_DROP_ERROR;
		return XDP_DROP;
	}
	client = &s->client;
	ct = lb_nat_owner_half(c, &p->flow, client, &half);
	if (!ct) {
		if (half == LB_NAT_ORPHAN && p->flow.proto == IPPROTO_TCP)
			return lb_nat_reset_orphan(c, client);
		return c->reason == LB_R_PASS_SNAT_UNKNOWN ? XDP_PASS : XDP_DROP;
	}
	c->svc_id = ct->svc_id;
	c->be_id = ct->backend_id;
	if (half) {
		/* the backend answered a half-open flow: the client's next ACK completes it */
		if (!lb_half_expired(ct, c->now)) {
			lb_ct_hit(ct, p->tcp_flags, c->now);
			if (!(p->tcp_flags & LB_TCP_RST) && !(ct->flags & LB_CT_F_REPLIED))
				ct->flags |= LB_CT_F_REPLIED;
		}
	} else if (!lb_ct_expired(ct, p->flow.proto, c->now, 0)) {
		lb_ct_hit(ct, p->tcp_flags, c->now);
	}
	verdict = lb_nat_to_client(c, ct);
	if (verdict == XDP_DROP)
		return verdict;
	lb_nat_rewrite_l34(c, &client->dst, &client->src, client->dport, client->sport);
	return verdict;
}

#endif /* __LB_NAT_H */
