/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* dsr.h - L2 direct server return: only the MACs change; backends hold the VIP on loopback. */
#ifndef __LB_DSR_H
#define __LB_DSR_H

#include "lib/ctx.h"

/* Destination: the backend (its neighbour entry); source: the LB's egress interface. IP, ports and
 * checksums are untouched, so the backend answers the client directly from the VIP. */
static __always_inline void lb_dsr_rewrite(struct lb_ctx *c, const struct lb_nh *nh)
{
	lb_macs_set(c->pkt.eth, nh);
}

#endif /* __LB_DSR_H */
