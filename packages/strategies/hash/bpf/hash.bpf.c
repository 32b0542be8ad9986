// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* hash - Maglev consistent hashing: the table (built in TypeScript, prime size, weights) maps a
 * flow hash to a backend. The TypeScript model (src/) computes exactly this, flow for flow:
 *   h = lb_hash_words(flow as 10 LE words, 10, hash_seed)       (whole 5-tuple)
 *   h = lb_hash_words(flow->src.w, 4, hash_seed)                (LB_SVC_F_HASH_SRC: client affinity)
 *   h = lb_hash_words(&(u32)flow->dport, 1, hash_seed)          (LB_SVC_F_HASH_DPORT: per port)
 *   backend = slot[1 + h % n]
 */
#define LB_STRATEGY "hash"
/* A pure function of the flow and the table: in flood mode DSR flows are forwarded without entries. */
#define LB_STRATEGY_STATELESS 1

#include "lib/maps.h"
#include "lib/config.h"
#include "lib/table.h"
#include "lb_hash.h"

static __always_inline int select_backend(const struct lb_flow *flow, const struct lb_svc *svc,
					  __u32 *backend_id)
{
	__u32 n = 0, h;
	void *table = lb_table_get(svc, &n);

	if (!table)
		return -LB_ENOENT;
	if (svc->flags & LB_SVC_F_HASH_SRC) {
		h = lb_hash_words(flow->src.w, LB_SRC_WORDS, CONFIG(hash_seed));
	} else if (svc->flags & LB_SVC_F_HASH_DPORT) {
		__u32 w = flow->dport; /* as a LE word: the port's two bytes as sent, then two zeros */

		h = lb_hash_words(&w, 1, CONFIG(hash_seed));
	} else {
		h = lb_hash_words((const __u32 *)flow, LB_FLOW_WORDS, CONFIG(hash_seed));
	}
	return lb_table_slot(table, h % n, backend_id);
}

#include "lb.bpf.h"
