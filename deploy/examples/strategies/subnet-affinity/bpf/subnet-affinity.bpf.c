// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* subnet-affinity - an example third-party strategy: every client of one IPv4 /24 (IPv6 /64) goes
 * to the same backend, e.g. for services that keep per-office state. A service uses it with
 *   strategy: deploy/examples/strategies/subnet-affinity              (the package: ../index.js)
 *   strategy: deploy/examples/strategies/subnet-affinity/bpf/subnet-affinity.bpf.c   (the fragment alone)
 * next to services of the built-in strategies, in one program (bpf/README.md "Writing a strategy").
 * xdp-lb compiles that program with clang once (cached by content hash); its table is the generic
 * weighted slot table. A fragment defines LB_STRATEGY and select_backend(), then includes the skeleton.
 */
#define LB_STRATEGY "subnet-affinity"

#include "lib/maps.h"
#include "lib/config.h"
#include "lib/table.h"
#include "lb_hash.h"

static __always_inline int select_backend(const struct lb_flow *flow, const struct lb_svc *svc,
					  __u32 *backend_id)
{
	__u32 n = 0, w[4];
	void *table = lb_table_get(svc, &n);

	if (!table)
		return -LB_ENOENT;
	w[0] = flow->src.w[0];
	w[1] = flow->src.w[1];
	/* IPv4-mapped: keep the /24 of w[3]; IPv6: the /64 is w[0..1], so drop w[2..3]. */
	w[2] = flow->src.w[2] == bpf_htonl(0xffff) ? flow->src.w[2] : 0;
	w[3] = flow->src.w[2] == bpf_htonl(0xffff) ? flow->src.w[3] & bpf_htonl(0xffffff00) : 0;
	return lb_table_slot(table, lb_hash_words(w, 4, CONFIG(hash_seed)) % n, backend_id);
}

#include "lb.bpf.h"
