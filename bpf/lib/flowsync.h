/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* flowsync.h - cluster flow sync: records of the flows the other LB nodes should know.
 *
 * Why. Every node of a cluster builds the same Maglev table, so a flow that moves to another node
 * (a node withdrawn, an ECMP rehash) reaches the same backend only while the backends have not
 * changed since the flow began; after an add, a drain, a weight change, the taking-over node picks
 * by today's table and breaks the flow. With flow_sync on, each node tells its peers (through its
 * agent, packages/core/src/agent/cluster) which backend each flow has, and a peer that takes the
 * flow over finds it in its own lb_ct.
 *
 * What is emitted, into the ring buffer lb_flowsync (struct lb_sync_rec), for lb_ct flows of every
 * forwarding mode but nat (a nat flow cannot move: its backend answers this node's SNAT address):
 *  - LB_SYNC_OPEN when the flow enters lb_ct (a TCP handshake completes, a UDP flow starts), and
 *    again at the entry's first refresh (lb_ct_hit's write, at most every ct_refresh_ns) in each
 *    new sync period of 2^flow_sync_shift ns (LB_CT_F_SYNC_ODD remembers the period's parity): a
 *    live flow is re-sent about once a period, so a peer's copy never idles out while it lives (the
 *    control plane keeps two periods below the shortest idle timeout); an idle flow is not re-sent
 *    and its copies expire on their own, as the entry does here;
 *  - LB_SYNC_CLOSING once, at the first FIN or RST (LB_CT_F_SYNC_CLOSED): the peers' copies then
 *    idle out after tcp_closing_timeout_ns instead of tcp_timeout_ns.
 * Writes: only the entry's flags, and only at moments lb_ct_hit already writes the entry.
 *
 * Cost. Off (flow_sync 0, the default), the verifier removes all of it. On, a packet that is not a
 * refresh moment pays one byte test; a record costs one per-CPU rate check and one
 * bpf_ringbuf_output() (without a wakeup: the agent polls). Bounded: at most flow_sync_rate
 * records per second per CPU, and the ring's size; what does not fit is counted
 * (LB_R_SYNC_DROPPED) and the flow is sent at its next period (or never, if it ends first).
 */
#ifndef __LB_FLOWSYNC_H
#define __LB_FLOWSYNC_H

#include "lib/ctx.h"
#include "lib/config.h"
#include "lib/stats.h"
#include "lib/flood.h"

/* The records, read by the agent (packages/native RingBuffer). Its size is set by the control
 * plane; pinned as LB_MAP_FLOWSYNC, outside the layout (a missing pin is created). */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 256 * 1024);
} lb_flowsync SEC(".maps");

/* Records per second on this CPU (the window of lib/flood.h); transient, not pinned. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct lb_flood);
} lb_flowsync_rate SEC(".maps");

/* This period's parity as an LB_CT_F_SYNC_ODD bit. */
static __always_inline __u8 lb_flowsync_parity(__u64 now)
{
	return ((now >> (CONFIG(flow_sync_shift) & 63)) & 1) ? LB_CT_F_SYNC_ODD : 0;
}

/**
 * lb_flowsync_mark - at a write moment of lb_ct entry @ct, decide whether the peers must hear of
 * it (c->sync: the LB_SYNC_* kind, the entry's LB_FWD_* mode in the high byte) and remember so in
 * the entry.
 * @c: the packet (c->now)
 * @ct: its lb_ct entry, just written (refresh, close) or about to be stored (@fresh)
 * @fresh: 1 when the entry enters lb_ct now (always sent, unless it is born closing)
 */
static __always_inline void lb_flowsync_mark(struct lb_ctx *c, struct lb_ct *ct, int fresh)
{
	__u8 parity, flags;

	if (!CONFIG(flow_sync) || ct->fwd == LB_FWD_NAT)
		return;
	parity = lb_flowsync_parity(c->now);
	flags = ct->flags;
	if (ct->state == LB_CT_CLOSING) {
		if (flags & LB_CT_F_SYNC_CLOSED)
			return;
		ct->flags = flags | LB_CT_F_SYNC_CLOSED;
		c->sync = LB_SYNC_CLOSING | (ct->fwd << 8);
		return;
	}
	if (!fresh && (flags & LB_CT_F_SYNC_ODD) == parity)
		return;
	ct->flags = (flags & ~LB_CT_F_SYNC_ODD) | parity;
	c->sync = LB_SYNC_OPEN | (ct->fwd << 8);
}

/* Past flow_sync_rate records in this CPU's current second? Counts this one. */
static __always_inline int lb_flowsync_over(__u64 now)
{
	struct lb_flood *f;
	__u32 zero = 0;

	f = bpf_map_lookup_elem(&lb_flowsync_rate, &zero);
	if (!f)
		return 1;
	return lb_window_count(f, now) > CONFIG(flow_sync_rate);
}

/**
 * lb_flowsync_emit - put the record c->sync asked for into lb_flowsync.
 * @c: the packet: its flow, c->svc_id, c->be_id, c->sync
 *
 * A subprogram of its own (called from lb_finish, once per object): its frame and instructions
 * are verified apart from the pipeline's, and only packets that carry a record call it.
 */
static __noinline int lb_flowsync_emit(struct lb_ctx *c)
{
	struct lb_sync_rec rec;

	if (lb_flowsync_over(c->now)) {
		lb_count_reason(LB_R_SYNC_DROPPED);
		return 0;
	}
	__builtin_memcpy(&rec.flow, &c->pkt.flow, sizeof(rec.flow));
	rec.svc_id = c->svc_id;
	rec.backend_id = c->be_id;
	rec.kind = c->sync & 0xff;
	rec.fwd = c->sync >> 8;
	rec.pad[0] = 0;
	rec.pad[1] = 0;
	if (bpf_ringbuf_output(&lb_flowsync, &rec, sizeof(rec), BPF_RB_NO_WAKEUP)) {
		lb_count_reason(LB_R_SYNC_DROPPED);
		return 0;
	}
	lb_count_reason(LB_R_SYNC_SENT);
	return 0;
}

#endif /* __LB_FLOWSYNC_H */
