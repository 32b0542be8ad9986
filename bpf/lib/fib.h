/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* fib.h - next hop of a backend (bpf_fib_lookup, cached in lb_nh) and the way out (XDP_TX, devmap).
 *
 * bpf_fib_lookup() asks the kernel's routing and neighbour tables as if the packet were forwarded
 * from the ingress interface, so it answers BPF_FIB_LKUP_RET_FWD_DISABLED unless forwarding is on
 * for that interface (net.ipv4.conf.<if>.forwarding=1: the control plane turns it on at deploy).
 * The answer is cached per backend in lb_nh and asked again every nh_refresh_ns; once a backend
 * has a cached next hop, a failed refresh keeps it (and retries after nh_refresh_ns), so a flow does
 * not break when a neighbour entry is garbage collected. With no cached next hop, NO_NEIGH drops and
 * counts LB_R_DROP_NO_NEIGH (the control plane primes the backends' neighbour entries; the client
 * retransmits), any other failure LB_R_DROP_NO_ROUTE. A next hop with checked_ns = LB_NH_STATIC
 * was written by the control plane and is never looked up.
 */
#ifndef __LB_FIB_H
#define __LB_FIB_H

#include "lib/ctx.h"
#include "lib/config.h"
#include "lib/maps.h"

#define LB_AF_INET 2
#define LB_AF_INET6 10

/* The FIB part of lb_nh_get(): ask the kernel and cache the answer in @nh (not inlined: it runs
 * once per nh_refresh_ns per backend, and keeps its state out of the fast path's stack frame). */
static __noinline int lb_nh_lookup(struct lb_ctx *c, const struct lb_backend *be, struct lb_nh *nh,
				   int onlink, __u64 checked)
{
	struct bpf_fib_lookup *fib;
	struct lb_scratch *s;
	int rc, v4;

	s = lb_scratch_get();
	if (!s) {
		c->reason = LB_R_DROP_ERROR;
		return XDP_DROP;
	}
	fib = &s->fib;
	__builtin_memset(fib, 0, sizeof(*fib));
	fib->l4_protocol = c->pkt.flow.proto;
	fib->ifindex = c->xdp->ingress_ifindex;
	v4 = lb_addr_is_v4(&be->addr);
	if (v4) {
		fib->family = LB_AF_INET;
		fib->ipv4_src = c->pkt.v6 ? 0 : c->pkt.flow.src.w[3];
		fib->ipv4_dst = be->addr.w[3];
	} else {
		fib->family = LB_AF_INET6;
		if (c->pkt.v6)
			__builtin_memcpy(fib->ipv6_src, &c->pkt.flow.src, sizeof(fib->ipv6_src));
		__builtin_memcpy(fib->ipv6_dst, &be->addr, sizeof(fib->ipv6_dst));
	}
	rc = bpf_fib_lookup(c->xdp, fib, sizeof(*fib), 0);
	if (rc == BPF_FIB_LKUP_RET_SUCCESS) {
		/* routed (the answer names a gateway): never DSR through a router */
		if (onlink && (v4 ? fib->ipv4_dst != be->addr.w[3]
				  : (fib->ipv6_dst[0] != be->addr.w[0] || fib->ipv6_dst[1] != be->addr.w[1] ||
				     fib->ipv6_dst[2] != be->addr.w[2] || fib->ipv6_dst[3] != be->addr.w[3]))) {
			c->reason = LB_R_DROP_NO_ROUTE;
			return XDP_DROP;
		}
		lb_mac_copy(nh->dmac, fib->dmac);
		lb_mac_copy(nh->smac, fib->smac);
		nh->ifindex = fib->ifindex;
		LB_WRITE_ONCE(nh->checked_ns, c->now);
		return LB_CONTINUE;
	}
	if (checked) { /* keep the last good next hop, ask again after nh_refresh_ns */
		LB_WRITE_ONCE(nh->checked_ns, c->now);
		return LB_CONTINUE;
	}
	c->reason = rc == BPF_FIB_LKUP_RET_NO_NEIGH ? LB_R_DROP_NO_NEIGH : LB_R_DROP_NO_ROUTE;
	return XDP_DROP;
}

/**
 * lb_nh_get - the next hop towards a backend.
 * @c: the packet (ingress interface, clock)
 * @be_id: the backend's id (lb_nh index)
 * @be: the backend
 * @onlink: 1 for L2 DSR: the backend must be a direct neighbour (the packet keeps the VIP as its
 *	    destination, a router would send it straight back); 0 for nat and the encapsulating modes
 * @out: set to the lb_nh entry on LB_CONTINUE
 *
 * Returns LB_CONTINUE or XDP_DROP with c->reason set.
 */
static __always_inline int lb_nh_get(struct lb_ctx *c, __u32 be_id, const struct lb_backend *be,
				     int onlink, struct lb_nh **out)
{
	struct lb_nh *nh;
	__u64 checked;

	nh = bpf_map_lookup_elem(&lb_nh, &be_id);
	if (!nh) {
		c->reason = LB_R_DROP_ERROR;
		return XDP_DROP;
	}
	*out = nh;
	checked = LB_READ_ONCE(nh->checked_ns);
	if (likely(checked == LB_NH_STATIC ||
		   (checked && (__s64)(c->now - checked) < (__s64)CONFIG(nh_refresh_ns))))
		return LB_CONTINUE;
	return lb_nh_lookup(c, be, nh, onlink, checked);
}

/**
 * lb_tx_via - decide how the packet leaves through @ifindex; call before rewriting it.
 * @c: the packet
 * @ifindex: egress interface
 *
 * Returns XDP_TX (the ingress interface, LB_R_TX), XDP_REDIRECT (bpf_redirect_map() accepted the
 * devmap entry, LB_R_REDIRECT) or XDP_DROP (@ifindex is not in lb_tx_ports, LB_R_DROP_NO_TX_PORT).
 */
static __always_inline int lb_tx_via(struct lb_ctx *c, __u32 ifindex)
{
	long ret;

	if (ifindex == c->xdp->ingress_ifindex) {
		c->reason = LB_R_TX;
		return XDP_TX;
	}
	/* the low bits of flags are the verdict when the key is missing */
	ret = bpf_redirect_map(&lb_tx_ports, ifindex, XDP_DROP);
	if (ret == XDP_REDIRECT) {
		c->reason = LB_R_REDIRECT;
		return XDP_REDIRECT;
	}
	c->reason = LB_R_DROP_NO_TX_PORT;
	return XDP_DROP;
}

#endif /* __LB_FIB_H */
