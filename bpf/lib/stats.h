/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* stats.h - per-CPU counters: per service, per backend, per enum lb_reason. Userspace sums CPUs.
 *
 * Per-CPU array lookups are inlined by the verifier and the adds are plain stores to this CPU's
 * copy: counting never writes a cache line another CPU uses.
 */
#ifndef __LB_STATS_H
#define __LB_STATS_H

#include "lib/maps.h"

static __always_inline void lb_count_reason(__u32 reason)
{
	__u64 *v = bpf_map_lookup_elem(&lb_reasons, &reason);

	if (v)
		*v += 1;
}

static __always_inline void lb_count(void *map, __u32 id, __u32 bytes, int new_flow, int drop)
{
	struct lb_counters *c;

	if (id == LB_NONE)
		return;
	c = bpf_map_lookup_elem(map, &id);
	if (!c)
		return;
	c->packets += 1;
	c->bytes += bytes;
	/* rare: no load and store of a counter that does not change */
	if (new_flow)
		c->new_flows += 1;
	if (drop)
		c->drops += 1;
}

/* Charge a packet to its service and backend (either may be LB_NONE). */
static __always_inline void lb_count_flow(__u32 svc_id, __u32 be_id, __u32 bytes, int new_flow,
					  int drop)
{
	lb_count(&lb_svc_stats, svc_id, bytes, new_flow, drop);
	lb_count(&lb_be_stats, be_id, bytes, new_flow, drop);
}

#endif /* __LB_STATS_H */
