/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* addrs.h - is a packet for us: the destination's roles from lb_addr_slots (lb_addrs for a shared
 * slot). */
#ifndef __LB_ADDRS_H
#define __LB_ADDRS_H

#include "lib/common.h"
#include "lib/maps.h"

/* The roles of an address whose slot is shared: the exact lookup. Not inlined: rare (a collision
 * of the slot hash), and the established path stays compact. */
static __noinline __u32 lb_addr_shared(const struct lb_addr *dst)
{
	struct lb_addr_info *info = bpf_map_lookup_elem(&lb_addrs, dst);

	return info ? info->flags : 0;
}

/**
 * lb_addr_flags - the roles (LB_ADDR_*) of @dst, 0 if it is not one of our addresses.
 * @dst: the packet's destination
 *
 * One array slot, read state first: a slot the control plane is rewriting changes its address (and
 * flags) only while its state is SHARED, and its state alone in a separate write
 * (packages/core/src/dataplane/addr-slots.ts), so that a reader that sees ONE reads the address
 * that went with it (x86-64 keeps loads in order; the barrier keeps the compiler from hoisting the
 * address loads above the state's).
 */
static __always_inline __u32 lb_addr_flags(const struct lb_addr *dst)
{
	__u32 idx = lb_addr_slot(dst->w, LB_ADDR_SLOT_BITS);
	struct lb_addr_slot *s = bpf_map_lookup_elem(&lb_addr_slots, &idx);
	__u32 state;

	if (!s)
		return 0;
	state = LB_READ_ONCE(s->state);
	lb_barrier();
	if (likely(state == LB_SLOT_ONE))
		return lb_addr_eq(&s->addr, dst) ? s->flags : 0;
	if (state == LB_SLOT_EMPTY)
		return 0;
	return lb_addr_shared(dst);
}

/* The roles of @dst from the large prefix VIPs (lb_vip_nets, lb_abi.h), 0 if none covers it.
 * Called only when the knob vip_nets is set, for a destination lb_addr_slots does not know: an
 * instance without such prefixes keeps its not-for-us path as it was. Not inlined: its key stays
 * out of the pipeline's frame. */
static __noinline __u32 lb_addr_net(const struct lb_addr *dst)
{
	struct lb_net_key key;
	struct lb_addr_info *info;

	key.prefixlen = 128;
	__builtin_memcpy(&key.addr, dst, sizeof(key.addr));
	info = bpf_map_lookup_elem(&lb_vip_nets, &key);
	return info ? info->flags : 0;
}

#endif /* __LB_ADDRS_H */
