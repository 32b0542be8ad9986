/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* flood.h - flood detection: the rate of conntrack misses of service traffic, per CPU.
 *
 * Each CPU counts the packets that reach a service without a live conntrack entry in windows of one
 * second of the coarse clock (lb_flood, per-CPU: no shared cache line). Past ct_new_rate in
 * the current window the CPU is in flood mode until the window ends: new flows are then forwarded
 * without an entry where the strategy can do so (DSR with a stateless strategy: the hash), and
 * refused otherwise, so that a SYN flood cannot evict the entries of established flows from the
 * LRU. Packets that hit conntrack never come here.
 */
#ifndef __LB_FLOOD_H
#define __LB_FLOOD_H

#include "lib/ctx.h"
#include "lib/config.h"
#include "lib/maps.h"

/**
 * lb_flood_hit - count one conntrack miss of service traffic on this CPU.
 * @c: the packet (c->now: coarse clock)
 *
 * Returns 1 if this CPU is in flood mode (more than ct_new_rate misses in the current
 * one-second window, this one included), 0 otherwise (or when ct_new_rate is 0).
 */
static __always_inline int lb_flood_hit(struct lb_ctx *c)
{
	struct lb_flood *f;
	__u32 zero = 0;

	if (!CONFIG(ct_new_rate))
		return 0;
	f = bpf_map_lookup_elem(&lb_flood, &zero);
	if (!f)
		return 0;
	if ((__s64)(c->now - f->window_ns) >= (__s64)LB_NSEC_PER_SEC || c->now < f->window_ns) {
		f->window_ns = c->now;
		f->count = 1;
	} else {
		f->count += 1;
	}
	return f->count > CONFIG(ct_new_rate);
}

#endif /* __LB_FLOOD_H */
