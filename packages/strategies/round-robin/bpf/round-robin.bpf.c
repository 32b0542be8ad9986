// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* round-robin - each new flow takes the next slot of the service's table, which holds a smooth
 * weighted sequence (built in TypeScript). The position is one u64 counter per service, advanced
 * with an atomic fetch-and-add, so the sequence holds across CPUs:
 *   c = fetch_add(lb_rr_ctr[svc->id], 1); backend = slot[1 + c % n]
 */
#define LB_STRATEGY "round-robin"

#include "lib/maps.h"
#include "lib/config.h"
#include "lib/table.h"

/* Round-robin position per service id (advanced once per new flow). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, LB_MAX_SERVICES);
	__type(key, __u32);
	__type(value, __u64);
} lb_rr_ctr SEC(".maps");

static __always_inline int select_backend(const struct lb_flow *flow, const struct lb_svc *svc,
					  __u32 *backend_id)
{
	__u32 n = 0, id = svc->id;
	void *table = lb_table_get(svc, &n);
	__u64 *ctr, c;

	if (!table)
		return -LB_ENOENT;
	ctr = bpf_map_lookup_elem(&lb_rr_ctr, &id);
	if (!ctr)
		return -LB_ENOENT;
	c = __sync_fetch_and_add(ctr, 1);
	return lb_table_slot(table, (__u32)(c % n), backend_id);
}

#include "lb.bpf.h"
