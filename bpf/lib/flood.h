/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* flood.h - flood detection: the rate of conntrack misses of service traffic, per CPU.
 *
 * Each CPU counts the packets that reach a service without a live conntrack entry in windows of one
 * second of the coarse clock (lb_flood, per-CPU: no shared cache line). Past ct_new_rate in
 * the current window the CPU is in flood mode until the window ends: new flows are then forwarded
 * without an entry where the strategy can do so (DSR with a stateless strategy: the hash), and
 * refused otherwise. Packets that hit conntrack never come here.
 *
 * Since layout 4 new TCP flows start in the half-open table (lib/halfopen.h): a flood cannot evict
 * established flows at any rate, and the rate guard bounds what a flood costs. The guard is also
 * keyed to that table's pressure: past ct_syn_churn misses in the window (the control plane sets
 * it so that the half-open table would be replaced within about 100 ms: a handshake slower than
 * that would be evicted before it completes) the CPU is "under pressure", and DSR services of a
 * stateless strategy then forward new flows by the strategy alone (which costs nothing and
 * churns nothing); other services keep tracking them (refusing would fail the clients whose
 * handshakes are fast enough to survive the churn).
 */
#ifndef __LB_FLOOD_H
#define __LB_FLOOD_H

#include "lib/ctx.h"
#include "lib/config.h"
#include "lib/maps.h"

#define LB_FLOOD_RATE 1     /* past ct_new_rate: flood mode */
#define LB_FLOOD_PRESSURE 2 /* past ct_syn_churn: the half-open table churns */

/* Count one event in @f's one-second window of the coarse clock (a new window when it is over, or
 * when the clock reads before its start); the count so far, this one included. Also used by
 * lib/flowsync.h's rate bound. */
static __always_inline __u64 lb_window_count(struct lb_flood *f, __u64 now)
{
	if ((__s64)(now - f->window_ns) >= (__s64)LB_NSEC_PER_SEC || now < f->window_ns) {
		f->window_ns = now;
		f->count = 1;
	} else {
		f->count += 1;
	}
	return f->count;
}

/**
 * lb_flood_hit - count one conntrack miss of service traffic on this CPU.
 * @c: the packet (c->now: coarse clock)
 *
 * Returns LB_FLOOD_RATE if this CPU is in flood mode (more than ct_new_rate misses in the current
 * one-second window, this one included), LB_FLOOD_PRESSURE if it is past ct_syn_churn only, 0
 * otherwise (both 0: the guard is off and lb_flood untouched).
 */
static __always_inline int lb_flood_hit(struct lb_ctx *c)
{
	struct lb_flood *f;
	__u32 zero = 0;

	if (!CONFIG(ct_new_rate) && !CONFIG(ct_syn_churn))
		return 0;
	f = bpf_map_lookup_elem(&lb_flood, &zero);
	if (!f)
		return 0;
	lb_window_count(f, c->now);
	if (CONFIG(ct_new_rate) && f->count > CONFIG(ct_new_rate))
		return LB_FLOOD_RATE;
	return CONFIG(ct_syn_churn) && f->count > CONFIG(ct_syn_churn) ? LB_FLOOD_PRESSURE : 0;
}

#endif /* __LB_FLOOD_H */
