/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* ctx.h - the per-packet state that the pipeline's helpers share. */
#ifndef __LB_CTX_H
#define __LB_CTX_H

#include "lib/parse.h"

struct lb_ctx {
	struct xdp_md *xdp;
	struct lb_pkt pkt;
	__u64 now;     /* coarse clock, read once, only for packets to our addresses */
	__u32 reason;  /* enum lb_reason of the verdict (set by whoever returns a verdict) */
	__u32 svc_id;  /* service to charge, LB_NONE if none */
	__u32 be_id;   /* backend to charge, LB_NONE if none */
	__u16 new_flow; /* 1 if this packet created a conntrack entry */
	__u16 sync;     /* LB_SYNC_* | LB_FWD_* << 8 when the peers should hear of the flow
			 * (lib/flowsync.h), else 0 */
};

#endif /* __LB_CTX_H */
