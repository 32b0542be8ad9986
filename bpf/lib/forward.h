/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* forward.h - rewrite a packet of a flow by its forwarding mode and hand back the way out:
 * dsr (MACs), nat (addresses and ports), ipip / ip6ip6 / gue (an outer header). */
#ifndef __LB_FORWARD_H
#define __LB_FORWARD_H

#include "lib/ctx.h"
#include "lib/fib.h"
#include "lib/dsr.h"
#include "lib/nat.h"
#include "lib/encap.h"
#include "lib/toobig.h"

/**
 * lb_forward - rewrite the packet for flow @ct (its mode, its NAT mapping) towards backend @be via
 * next hop @nh, after deciding how it leaves.
 * @c: the packet
 * @ct: the flow (a conntrack entry, or one built for a packet forwarded without an entry)
 * @be: its backend
 * @nh: the next hop towards it
 *
 * Returns the verdict of lb_tx_via() (XDP_TX / XDP_REDIRECT with the packet rewritten); XDP_TX with
 * an ICMP too-big for the client instead (LB_R_ICMP_TOO_BIG: the packet, encapsulated or out of
 * another interface, would exceed the egress MTU; lib/toobig.h); or XDP_DROP (c->reason set, the
 * packet untouched unless the head already grew): LB_R_DROP_NO_TX_PORT, LB_R_DROP_TOO_BIG (too big,
 * no error sent), LB_R_DROP_ERROR (a NAT backend or SNAT address of the other family, an
 * encapsulation to a backend of the other family, an unknown mode).
 */
static __always_inline int lb_forward(struct lb_ctx *c, const struct lb_ct *ct, const struct lb_backend *be,
				      const struct lb_nh *nh)
{
	__u8 fwd = ct->fwd;
	int verdict, ret, olen = lb_encap_len(fwd, be);

	/* Out of another interface, the packet may not fit its MTU (XDP_TX: it came in through it). */
	if (unlikely(olen == 0 && nh->ifindex != c->xdp->ingress_ifindex)) {
		ret = lb_fits(c, nh->ifindex, 0);
		if (ret != LB_CONTINUE)
			return ret;
	}
	if (likely(fwd == LB_FWD_DSR)) {
		verdict = lb_tx_via(c, nh->ifindex);
		if (verdict != XDP_DROP)
			lb_dsr_rewrite(c, nh);
		return verdict;
	}
	if (fwd == LB_FWD_NAT) {
		if (lb_addr_is_v4(&be->addr) == c->pkt.v6 || lb_addr_is_v4(&ct->snat_addr) == c->pkt.v6)
			goto error; /* NAT44 and NAT66 only */
		verdict = lb_tx_via(c, nh->ifindex);
		if (verdict != XDP_DROP)
			lb_nat_rewrite_fwd(c, ct, be, nh);
		return verdict;
	}
	if (!olen)
		goto error;
	ret = lb_fits(c, nh->ifindex, olen);
	if (ret != LB_CONTINUE)
		return ret;
	verdict = lb_tx_via(c, nh->ifindex);
	if (verdict == XDP_DROP)
		return verdict;
	ret = lb_encap(c, be, nh, fwd, ct->encap_hash);
	return ret == LB_CONTINUE ? verdict : ret;

error:
	c->reason = LB_R_DROP_ERROR;
	return XDP_DROP;
}

#endif /* __LB_FORWARD_H */
