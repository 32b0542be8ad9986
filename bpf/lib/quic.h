/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* quic.h - QUIC connection-id routing (Katran's QUIC VIPs): a service flagged LB_SVC_F_QUIC sends
 * a new tuple's short-header packet whose destination connection id carries a known server id to
 * the backend of that id, so that a client that migrates (a new address or port, RFC 9000 9) keeps
 * its server. Everything else takes the strategy's choice: long-header packets (Initial, 0-RTT,
 * Handshake, Retry: the client's first packets, whose connection id the client chose), a server id
 * of 0 or one no backend of the service has (counted), a tuple conntrack already knows (its entry
 * decides: this runs only where select_backend() would).
 *
 * The connection id layout, the one Katran and mvfst use: the first byte's two high bits are the
 * layout version, and the server id follows them:
 *   version 1: 16 bits, the first byte's low 6 bits, the second byte and the third's high 2 bits;
 *   version 2: 24 bits, bytes 1-3;
 *   version 3: 32 bits, bytes 1-4;
 *   version 0: no server id.
 * A short header (RFC 8999 5.2: first bit 0) has the destination connection id right after its
 * first byte; its length is the server's choice and not in the packet, so at least 8 bytes of it
 * (QUIC-LB's minimum, and Katran's) must be there.
 */
#ifndef __LB_QUIC_H
#define __LB_QUIC_H

#include "lib/common.h"
#include "lib/ctx.h"
#include "lib/maps.h"
#include "lib/stats.h"

#define LB_QUIC_MIN_CID 8

/**
 * lb_quic_server_id - the server id of a QUIC short-header packet, 0 if it has none
 * @ctx: the XDP context
 * @l4_off: the UDP header's offset from the frame's start
 *
 * A global function (verified once): reads only within the UDP length (never Ethernet padding).
 */
__noinline __u32 lb_quic_server_id(struct xdp_md *ctx, __u32 l4_off)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct udphdr *uh;
	__u8 *q;

	if (l4_off > 2048)
		return 0;
	uh = data + l4_off;
	q = (__u8 *)(uh + 1);
	if ((void *)(q + 1 + LB_QUIC_MIN_CID) > data_end)
		return 0;
	if (bpf_ntohs(uh->len) < sizeof(*uh) + 1 + LB_QUIC_MIN_CID || (q[0] & 0x80))
		return 0; /* too short, or a long header */
	switch (q[1] >> 6) {
	case 1:
		return ((__u32)(q[1] & 0x3f) << 10) | ((__u32)q[2] << 2) | (q[3] >> 6);
	case 2:
		return ((__u32)q[2] << 16) | ((__u32)q[3] << 8) | q[4];
	case 3:
		return ((__u32)q[2] << 24) | ((__u32)q[3] << 16) | ((__u32)q[4] << 8) | q[5];
	}
	return 0;
}

/* For a new tuple of QUIC service @svc_id: 1 and *@be_id when the packet's server id names a backend
 * of the service that is still there (active or draining: a draining backend keeps its
 * connections, and a migrated one is one of them), else 0 (the strategy chooses). Not inlined:
 * lb_new_flow's frame stays as it was. */
static __noinline int lb_quic_route(struct lb_ctx *c, __u32 svc_id, __u32 *be_id)
{
	struct lb_quic_key key = { .svc_id = svc_id };
	struct lb_backend *be = NULL;
	__u32 *id;

	if (c->pkt.flow.proto != IPPROTO_UDP || c->pkt.frag != LB_FRAG_NONE)
		return 0;
	key.server_id = lb_quic_server_id(c->xdp, c->pkt.l4_off);
	if (!key.server_id)
		return 0;
	id = bpf_map_lookup_elem(&lb_quic_ids, &key);
	if (id)
		be = bpf_map_lookup_elem(&lb_backends, id);
	if (!id || !be || be->state == LB_BE_EMPTY) {
		lb_count_reason(LB_R_QUIC_UNKNOWN);
		return 0;
	}
	*be_id = *id;
	lb_count_reason(LB_R_QUIC_ROUTED);
	return 1;
}

#endif /* __LB_QUIC_H */
