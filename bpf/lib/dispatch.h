/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* dispatch.h - a service's strategy: one program carries one or more strategy fragments and each
 * service names its own (lb_svc.strategy, the fragment's index), as IPVS, Cilium and LoxiLB choose
 * per service.
 *
 * Two forms build a program:
 *  - single: a fragment defines LB_STRATEGY and select_backend(), then includes lb.bpf.h (the
 *    built-in objects lb_<id>.bpf.o, and fragments written before per-service strategies). It
 *    serves services of index 0 only.
 *  - assembled (core's strategy/assemble.ts writes the unit): LB_ASSEMBLING is defined, each fragment
 *    i is included with select_backend renamed lb_select_<i> (its own "#include lb.bpf.h" is then a
 *    no-op), its id stamped into lb_strat_<i> and its LB_STRATEGY_STATELESS kept as LB_S<i>_STATELESS;
 *    then LB_STRATEGY_LIST(X) lists X(0) X(1) ... and the unit includes lb.bpf.h once.
 *
 * lb_select() is a global function: the verifier walks it (every fragment) once, whatever the
 * caller's state, instead of once per call site and path; its frame is separate from the caller's
 * (the 512-byte stack is per call chain: xdp_lb -> lb_vip_miss -> lb_select stays under it).
 * The established path never reaches it: a new flow pays one call and one switch.
 */
#ifndef __LB_DISPATCH_H
#define __LB_DISPATCH_H

#include "lib/common.h"
#include "lib/table.h"

#ifndef LB_STRATEGY_LIST
/* The single form: the one fragment is index 0. */
#define LB_STRATEGY_LIST(X) X(0)
#define lb_select_0 select_backend
#define LB_S0_STATELESS LB_STRATEGY_STATELESS
const volatile char lb_strat_0[LB_STRATEGY_LEN] = LB_STRATEGY;
/* The object's (first) strategy id, for userspace to check what it loaded (rodata, NUL padded). */
const volatile char lb_strategy[LB_STRATEGY_LEN] = LB_STRATEGY;
/* A constant: the verifier prunes what a single stateful strategy never does. */
#define lb_svc_stateless(svc) (LB_STRATEGY_STATELESS)
#define LB_STATELESS_ANY (LB_STRATEGY_STATELESS)
#else
#define LB_STATELESS_BIT(i) | ((LB_S##i##_STATELESS ? 1U : 0U) << (i))
/* Bit i: fragment i is stateless (a pure function of the flow and the service's slot table: in
 * flood mode its DSR services keep taking new flows without conntrack entries; lib/flood.h). */
#define LB_STATELESS_MASK (0U LB_STRATEGY_LIST(LB_STATELESS_BIT))
#define LB_STATELESS_ANY (LB_STATELESS_MASK != 0)

static __always_inline int lb_svc_stateless(const struct lb_svc *svc)
{
	return (LB_STATELESS_MASK >> (svc->strategy & 31)) & 1;
}
#endif

#define LB_SELECT_CASE(i) \
	case i: \
		return lb_select_##i(flow, svc, backend_id);

/**
 * lb_select - the service's strategy picks a backend for a new flow.
 * @flow: the flow (conntrack key)
 * @svc: its service; svc->strategy selects the fragment
 * @backend_id: set on success
 *
 * Returns 0, or a negative errno: no backend (also for an index the program does not carry).
 */
__noinline int lb_select(const struct lb_flow *flow, const struct lb_svc *svc, __u32 *backend_id)
{
	if (!flow || !svc || !backend_id)
		return -LB_ENOENT;
	switch (svc->strategy) {
		LB_STRATEGY_LIST(LB_SELECT_CASE)
	}
	return -LB_ENOENT;
}

#endif /* __LB_DISPATCH_H */
