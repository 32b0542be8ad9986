// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* random - a uniform draw per new flow (conntrack keeps it): the precise clock, drawn once per
 * flow and never per packet, mixed with the flow hash so that flows arriving in the same
 * nanosecond still differ, then scaled without modulo bias:
 *   t = bpf_ktime_get_ns(); r = lb_fmix32((u32)t ^ (u32)(t >> 32) ^ lb_hash_words(flow, 10, seed))
 *   backend = slot[1 + ((u64)r * n >> 32)]
 * Weights are in the table: a backend fills slots in proportion to its weight.
 */
#define LB_STRATEGY "random"

#include "lib/maps.h"
#include "lib/config.h"
#include "lib/table.h"
#include "lb_hash.h"

static __always_inline int select_backend(const struct lb_flow *flow, const struct lb_svc *svc,
					  __u32 *backend_id)
{
	__u32 n = 0, r;
	void *table = lb_table_get(svc, &n);
	__u64 t;

	if (!table)
		return -LB_ENOENT;
	t = bpf_ktime_get_ns();
	r = lb_fmix32((__u32)t ^ (__u32)(t >> 32) ^
		      lb_hash_words((const __u32 *)flow, LB_FLOW_WORDS, CONFIG(hash_seed)));
	return lb_table_slot(table, (__u32)(((__u64)r * n) >> 32), backend_id);
}

#include "lb.bpf.h"
