/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* lb.bpf.h - the XDP pipeline: parse -> address -> conntrack / service -> the service's strategy
 * (lib/dispatch.h) -> rewrite (dsr or nat) -> forward -> count. Included once, at the end of a
 * strategy fragment that has defined LB_STRATEGY and
 *
 *   static __always_inline int select_backend(const struct lb_flow *flow,
 *                                             const struct lb_svc *svc, __u32 *backend_id);
 *
 * (0 and *backend_id set, or a negative errno: no backend), or once at the end of a unit that core
 * assembled from several fragments (lib/dispatch.h). See bpf/README.md.
 *
 * A fragment whose select_backend() is a pure function of the flow and the service's slot table
 * (the same flow always gets the same backend while the table does not change) may also define
 * LB_STRATEGY_STATELESS 1: in flood mode (lib/flood.h) its DSR services then keep taking new flows
 * without conntrack entries instead of refusing them.
 */
#if defined(LB_ASSEMBLING)
/* A fragment's own include while core assembles several: the unit includes the skeleton once, last. */
#else
#ifdef __LB_BPF_H
#error "Multiple includes of lb.bpf.h: include it once, at the end of a strategy fragment"
#endif
#define __LB_BPF_H

#if !defined(LB_STRATEGY) && !defined(LB_STRATEGY_LIST)
#error "Define LB_STRATEGY (the strategy id) and select_backend() before including lb.bpf.h"
#endif
#ifndef LB_STRATEGY_STATELESS
#define LB_STRATEGY_STATELESS 0
#endif

#include "lib/common.h"
#include "lib/parse.h"
#include "lib/ctx.h"
#include "lib/config.h"
#include "lib/maps.h"
#include "lib/addrs.h"
#include "lib/service.h"
#include "lib/csum.h"
#include "lib/stats.h"
#include "lib/clock.h"
#include "lib/conntrack.h"
#include "lib/flowsync.h"
#include "lib/flood.h"
#include "lib/fib.h"
#include "lib/dsr.h"
#include "lib/nat.h"
#include "lib/encap.h"
#include "lib/forward.h"
#include "lib/reset.h"
#include "lib/halfopen.h"
#include "lib/flowtab.h"
#include "lib/dispatch.h"
#include "lib/icmp.h"
#include "lib/frag.h"
#include "lib/quic.h"

/* Count the packet (its reason, its service and backend) and return its verdict.
 * Chained (chain_next_slot set, bpf/README.md "Chaining with other XDP programs"): what the LB
 * passes to the host (not ours, unsupported, malformed, ...: always untouched) goes to the next
 * program of the chain instead; XDP_PASS if that slot is empty. Off: the verifier removes it. */
static __always_inline int lb_finish(struct lb_ctx *c, int verdict)
{
	lb_count_reason(c->reason);
	if (CONFIG(flow_sync) && unlikely(c->sync))
		lb_flowsync_emit(c); /* lib/flowsync.h: the peers hear of the flow */
	if (c->svc_id != LB_NONE)
		lb_count_flow(c->svc_id, c->be_id, c->pkt.len, c->new_flow, verdict == XDP_DROP);
	if (CONFIG(chain_next_slot) != LB_CHAIN_OFF && verdict == XDP_PASS)
		bpf_tail_call(c->xdp, &lb_root_progs, CONFIG(chain_next_slot));
	return verdict;
}

/* A tracked flow: no service lookup, no selection, writes only at refresh moments. */
static __always_inline int lb_established(struct lb_ctx *c, struct lb_ct *ct, struct lb_backend *be)
{
	struct lb_nh *nh;
	int ret;

	c->svc_id = ct->svc_id;
	c->be_id = ct->backend_id;
	if (lb_ct_hit(ct, c->pkt.tcp_flags, c->now)) {
		lb_flowsync_mark(c, ct, 0);
		if (ct->fwd == LB_FWD_NAT) {
			ret = lb_snat_verify(c, ct, be);
			if (ret != LB_CONTINUE)
				return ret;
		}
	}
	ret = lb_nh_get(c, ct->backend_id, be, ct->fwd == LB_FWD_DSR, &nh);
	if (ret != LB_CONTINUE)
		return ret;
	return lb_forward(c, ct, be, nh);
}

/* A packet of a flow lb_ft4 holds (lib/flowtab.h): lb_established on the slot's copy, and a
 * half-open slot whose handshake this packet completes is promoted in place (lb_half_promote's
 * rules: no table move, no delete). What changed goes back to the slot (lb_ft_put): a refresh, a
 * close, a promotion. Returns a verdict, or LB_CONTINUE: no usable slot, the lb_ct path goes on
 * (a slot that can no longer be used is counted here, LB_R_CT_EXPIRED or _RESELECT, and the new
 * flow's insert replaces it). Not inlined: the established lb_ct path keeps its code; verified
 * once. */
static __noinline int lb_ft_vip(struct lb_ctx *c)
{
	struct lb_scratch *s = lb_scratch_get();
	struct lb_backend *be = NULL;
	struct lb_ct *ct;
	struct lb_nh *nh;
	int way, half, ret;

	if (!s)
		return LB_CONTINUE;
	ct = &s->ct;
	way = lb_ft_get(s, &c->pkt.flow, c->now);
	if (way < 0)
		return LB_CONTINUE;
	half = way & LB_FT_HALF_BIT;
	ret = lb_ct_why_not(ct, c->pkt.flow.proto, c->pkt.tcp_flags, c->now, half, &be);
	if (ret) {
		lb_count_reason(ret);
		return LB_CONTINUE;
	}
	if (!be)
		return LB_CONTINUE;
	c->svc_id = ct->svc_id;
	c->be_id = ct->backend_id;
	if (half && lb_half_completes(c, ct)) {
		ct->flags = 0;
		ct->seen_ns = c->now;
		if (c->pkt.tcp_flags & LB_TCP_FIN) {
			ct->state = LB_CT_CLOSING;
			ct->close_reason = LB_CT_CLOSE_FIN;
		}
		lb_flowsync_mark(c, ct, 1); /* the flow is established: the peers hear of it */
		lb_ft_put(s, &c->pkt.flow, way & ~LB_FT_HALF_BIT);
		lb_count_reason(LB_R_CT_PROMOTED);
	} else if (lb_ct_hit(ct, c->pkt.tcp_flags, c->now)) {
		if (!half)
			lb_flowsync_mark(c, ct, 0);
		lb_ft_put(s, &c->pkt.flow, way);
	}
	ret = lb_nh_get(c, ct->backend_id, be, ct->fwd == LB_FWD_DSR, &nh);
	if (ret != LB_CONTINUE)
		return ret;
	return lb_forward(c, ct, be, nh);
}

/* A new flow (or one whose entry expired or whose backend is gone) of service @svc. In flood mode
 * (@flood), and for a later fragment (whose first fragment's entry is gone), no entry is stored:
 * DSR services of a stateless strategy forward by the strategy alone, everything else is refused
 * (NAT needs its entries; a random or round-robin choice would not be repeated for the flow's next
 * packet): a TCP packet without SYN (a connection the client believes open) is answered with an RST.
 * TCP flows start half-open, in lb_ct_syn (lib/halfopen.h); @stale: lb_ct holds an entry of this
 * tuple that can no longer be used (expired, closing, backend gone), deleted so that the new
 * flow's later packets do not find it. The entry is inserted with BPF_NOEXIST (lb_ct_insert), but
 * over a stale lb_ct entry (UDP): a packet finds its flow's entry created first by another one (a
 * retransmitted SYN, another CPU's packet) by that insert, and goes by it. */
static __always_inline int lb_new_flow(struct lb_ctx *c, const struct lb_svc *svc, int flood, int stale)
{
	int half = c->pkt.flow.proto == IPPROTO_TCP;
	int later = c->pkt.frag == LB_FRAG_LATER;
	struct lb_backend *be;
	struct lb_nh *nh;
	struct lb_scratch *s = lb_scratch_get();
	struct lb_ct *ct;
	__u64 ins = !half && stale ? BPF_ANY : BPF_NOEXIST;
	__u32 be_id = 0;
	int quic, ret;

	c->svc_id = svc->id;
	if (!s) {
		c->reason = LB_R_DROP_ERROR;
		return XDP_DROP;
	}
	ct = &s->ct;
	if (svc->fwd < LB_FWD_DSR || svc->fwd > LB_FWD_GUE) {
		c->reason = LB_R_DROP_ERROR;
		return XDP_DROP;
	}
	if (half && !(c->pkt.tcp_flags & LB_TCP_SYN))
		lb_count_reason(LB_R_CT_MIDSTREAM);
	/* the half-open table's pressure alone: only what can go stateless does */
	if (flood == LB_FLOOD_PRESSURE && (!lb_svc_stateless(svc) || svc->fwd == LB_FWD_NAT))
		flood = 0;
	if (unlikely(flood || later) && (!lb_svc_stateless(svc) || svc->fwd == LB_FWD_NAT)) {
		if (later) {
			c->reason = LB_R_DROP_FRAGMENT;
			return XDP_DROP;
		}
		/* a SYN's half-open entry was not looked up (lb_vip): a retransmission goes on */
		if (half && lb_ct_pure_syn(c)) {
			if (lb_ft_on(c) && lb_ft_usable(c))
				goto existing; /* s->ct is its copy */
			__builtin_memcpy(&s->key, &c->pkt.flow, sizeof(s->key));
			if (lb_ct_adopt(s, 1, c->pkt.tcp_flags, c->now, 1))
				goto existing;
		}
		c->reason = LB_R_DROP_FLOOD;
		return lb_reset_client(c);
	}
	/* QUIC: a migrated client's connection id names its backend (lib/quic.h), draining or not */
	quic = (svc->flags & LB_SVC_F_QUIC) && lb_quic_route(c, svc->id, &be_id);
	if (!quic && lb_select(&c->pkt.flow, svc, &be_id) < 0) {
		c->reason = LB_R_DROP_NO_BACKEND;
		return XDP_DROP;
	}
	be = bpf_map_lookup_elem(&lb_backends, &be_id);
	if (!be || (be->state != LB_BE_ACTIVE && !(quic && be->state == LB_BE_DRAINING))) {
		c->reason = LB_R_DROP_NO_BACKEND;
		return XDP_DROP;
	}
	c->be_id = be_id;
	/* NAT44/NAT66 keep the family; ipip needs an IPv4 backend, ip6ip6 an IPv6 one (gue: either) */
	if ((svc->fwd == LB_FWD_NAT && lb_addr_is_v4(&be->addr) == c->pkt.v6) ||
	    (svc->fwd == LB_FWD_IPIP && !lb_addr_is_v4(&be->addr)) ||
	    (svc->fwd == LB_FWD_IP6IP6 && lb_addr_is_v4(&be->addr))) {
		c->reason = LB_R_DROP_ERROR;
		return XDP_DROP;
	}
	ret = lb_nh_get(c, be_id, be, svc->fwd == LB_FWD_DSR, &nh);
	if (ret != LB_CONTINUE)
		return ret;

	lb_ct_init(ct, c, svc, be_id, be);
	if (unlikely(flood || later)) {
		if (flood)
			lb_count_reason(LB_R_FLOOD_STATELESS);
		return lb_forward(c, ct, be, nh);
	}
	if (svc->fwd == LB_FWD_NAT) {
		lb_mac_copy(ct->peer_mac, c->pkt.eth->h_source);
		ct->in_ifindex = c->xdp->ingress_ifindex;
		ret = lb_snat_alloc(c, svc, be, ct, half, ins);
		if (ret == LB_EXISTS)
			goto existing;
		if (ret != LB_CONTINUE)
			return ret == XDP_DROP ? lb_reset_client(c) : ret;
		lb_nat_learn_if_mac(c, nh);
	} else {
		if (!half) /* a TCP flow enters lb_ct when its handshake completes (lib/halfopen.h) */
			lb_flowsync_mark(c, ct, 1);
		ret = LB_FT_FALLBACK;
		if (lb_ft_on(c)) { /* IPv4: the flow table first (lib/flowtab.h) */
			s->ft_now = c->now;
			s->ft_tcp_flags = c->pkt.tcp_flags;
			ret = lb_ft_insert(s, &c->pkt.flow);
			if (unlikely(ret == LB_FT_BUSY)) { /* another CPU holds the bucket: wait, once */
				lb_ft_wait();
				ret = lb_ft_insert(s, &c->pkt.flow);
			}
		}
		if (ret == LB_FT_FALLBACK)
			ret = lb_ct_insert(c, s, half, ins);
		else if (ret == LB_FT_BUSY) { /* still, after the wait: the client retransmits */
			lb_count_reason(LB_R_FT_BUSY);
			c->reason = LB_R_DROP_ERROR;
			return XDP_DROP;
		}
		if (ret == LB_EXISTS)
			goto existing;
		if (ret != LB_CONTINUE)
			return ret;
	}
	/* after the allocation, which still saw the old flow own its port (held for TIME_WAIT) */
	if (half && stale)
		bpf_map_delete_elem(&lb_ct, &c->pkt.flow);
	c->new_flow = 1;
	lb_count_reason(LB_R_CT_NEW);
	if (half)
		lb_count_reason(LB_R_CT_HALF_OPEN);
	goto forward;

existing: /* the flow's entry was there first (lb_ct_insert): *ct is a copy of it */
	c->svc_id = ct->svc_id;
	c->be_id = ct->backend_id;
	be = bpf_map_lookup_elem(&lb_backends, &ct->backend_id);
	if (!be) {
		c->reason = LB_R_DROP_ERROR;
		return XDP_DROP;
	}
	ret = lb_nh_get(c, ct->backend_id, be, ct->fwd == LB_FWD_DSR, &nh);
	if (ret != LB_CONTINUE)
		return ret;
forward:
	return lb_forward(c, ct, be, nh);
}

/* lb_vip_miss's answer to a pure SYN of a NAT service whose tuple has a live lb_ct entry: lb_vip
 * forwards it by that entry, as before. */
#define LB_CT_LIVE (-4)

/* A miss of lb_ct (@why: why an entry could not be used, or 0; @stale: lb_ct holds an unusable
 * entry of the flow) to a VIP of roles @flags: the service, if any (lib/service.h: the port's own,
 * else an any-port one), takes a new flow. LB_CONTINUE: no service on this VIP, port and protocol.
 * Not inlined, and called from one place: the established path keeps its stack frame small, and
 * lb_new_flow is verified in as few states as possible.
 *
 * A pure SYN comes here without an lb_ct lookup (lb_vip; @why and @stale 0): for dsr/ipip/ip6ip6/
 * gue its new half-open entry is inserted with BPF_NOEXIST straight away (lb_ct_insert: a
 * retransmission finds its own entry by that insert), saving the lookup that every new flow
 * misses (a cold bucket walk, ~200 ns in a 2^21-bucket table). NAT keeps the lookup first: a
 * stale entry of the tuple (the previous connection, closing) still owns its SNAT port, which the
 * new flow's allocation must see held (TIME_WAIT at the backend) before the entry is deleted
 * (lb_new_flow); a live one still carries the SYN (LB_CT_LIVE), as before. */
static __noinline int lb_vip_miss(struct lb_ctx *c, __u32 why, int stale, __u32 flags)
{
	struct lb_svc *svc;

	svc = lb_svc_lookup(&c->pkt.flow, flags);
	if (!svc)
		return LB_CONTINUE;
	if (svc->fwd == LB_FWD_NAT && lb_ct_pure_syn(c)) {
		struct lb_backend *be = NULL;

		if (lb_ct_established(c, &be, &why) && be)
			return LB_CT_LIVE;
		stale = why != 0;
	}
	if (why)
		lb_count_reason(why);
	return lb_new_flow(c, svc, lb_flood_hit(c), stale);
}

/* Does lb_ct_syn hold a live entry of the packet's tuple, made or refreshed (by a SYN) since @ct,
 * its CLOSING lb_ct entry, last saw a packet (the close set seen_ns)? Then the client reused the
 * tuple for a new connection (lb_vip). An older one is a stray: a late duplicate SYN of the closed
 * connection (lb_vip), whose last packets stay on @ct; an expired one is no connection either. The
 * coarse clock's tick (ms) makes a duplicate SYN and the FIN within one tick read as a reuse: the
 * old connection's last ACK then promotes the stray (harmless: the backend in LAST_ACK times out).
 * Not inlined: off the established path's code. */
static __noinline int lb_ct_reused(struct lb_ctx *c, struct lb_ct *ct)
{
	struct lb_ct *hct = bpf_map_lookup_elem(&lb_ct_syn, &c->pkt.flow);

	return hct && !lb_half_expired(hct, c->now) &&
	       (__s64)(LB_READ_ONCE(hct->seen_ns) - LB_READ_ONCE(ct->seen_ns)) >= 0;
}

/* A packet to a VIP: its tracked flow, else a service. LB_CONTINUE: no service matches.
 *
 * A pure SYN skips lb_ct (lb_vip_miss): a tuple's new connection starts half-open whatever lb_ct
 * holds of it. What lb_ct may hold:
 *  - a CLOSING entry: the previous connection on the tuple closed (a FIN or RST of the client
 *    passed the LB, or, nat, any of the backend's) and its entry waits out tcp_closing_timeout_ns.
 *    The new connection's next packets (no SYN) would find it first and go to the old backend,
 *    so a TCP packet on a live CLOSING entry asks lb_ct_syn first (lb_ct_reused): an entry there
 *    is the new connection, and the packet goes the way of an lb_ct miss (lb_half: promoted over
 *    the closing entry, lb_half_promote's BPF_ANY, or forwarded by the half-open entry). The only
 *    extra cost on the established path is the state test on the entry's line already read; a
 *    closing flow's last packets pay one lb_ct_syn lookup (usually a miss).
 *  - an OPEN entry: a late duplicate SYN of the live connection, or a client that reused its
 *    tuple while the LB still believes the old connection open (dsr/ipip/gue do not see the
 *    backend's RST or FIN; nat does: its replies pass lb_ct_hit). The SYN gets a half-open entry
 *    and a fresh choice of backend; the tuple's later packets still find the OPEN entry first and
 *    go to the old backend. A consistent-hash strategy chooses the old backend again: nothing
 *    changes. Round-robin/random may choose another: a late duplicate then reaches a backend that
 *    answers a SYN-ACK the client ignores (its ACK goes on to the old backend; the stray half-open
 *    entry expires after syn_timeout_ns, and predates the close if the connection closes before:
 *    lb_ct_reused leaves the last packets on the closing entry), and a client reusing a tuple without a close the LB saw
 *    is refused by the old backend (RST) and retries. Accepted: rare, and a SYN cannot move an
 *    established flow (Katran overwrites its entry on every SYN: there a late duplicate moves the
 *    live connection). NAT keeps its lookup first, so NAT behaves as before. */
static __always_inline int lb_vip(struct lb_ctx *c, __u32 flags)
{
	struct lb_backend *be = NULL;
	struct lb_ct *ct;
	__u32 why = 0;
	int stale = 0, ret;

	if (!lb_ct_pure_syn(c)) {
		if (lb_ft_on(c)) { /* IPv4: the flow table first (lib/flowtab.h), then lb_ct */
			ret = lb_ft_vip(c);
			if (ret != LB_CONTINUE)
				return ret;
		}
		ct = lb_ct_established(c, &be, &why);
		if (ct && be && (likely(ct->state != LB_CT_CLOSING) || !lb_ct_reused(c, ct)))
			goto established;
		stale = why != 0;
		/* lb_ct_syn: only after a miss of lb_ct (or a reused tuple's closing entry), and never
		 * for a pure SYN: its insert (BPF_NOEXIST) finds a half-open entry of its tuple (a
		 * retransmission) without the lookup that every new flow would miss */
		if (c->pkt.flow.proto == IPPROTO_TCP) {
			ret = lb_half(c, &why);
			if (ret != LB_CONTINUE)
				return ret;
		}
	}
	ret = lb_vip_miss(c, why, stale, flags);
	if (ret != LB_CT_LIVE)
		return ret;
	/* a NAT service's SYN on a live entry (rare): looked up again, by this CPU, a moment later */
	ct = lb_ct_established(c, &be, &why);
	if (!ct || !be) {
		c->reason = LB_R_DROP_ERROR; /* it expired or was evicted meanwhile: the client retries */
		return XDP_DROP;
	}
established:
	return lb_established(c, ct, be);
}

/* A TCP or UDP packet to one of our addresses (@flags: its roles): a VIP's flow or service, a NAT
 * reply, or passed untouched. */
static __always_inline int lb_ours(struct lb_ctx *c, __u32 flags)
{
	int ret;

	if (flags & LB_ADDR_VIP) {
		ret = lb_vip(c, flags);
		if (ret != LB_CONTINUE)
			return ret;
	}
	if (flags & LB_ADDR_SNAT)
		return lb_nat_reverse(c);
	c->reason = LB_R_PASS_UNSUPPORTED; /* a VIP, but no service on this port and protocol */
	return XDP_PASS;
}

/* Everything but the counting: a verdict. One exit, so that lb_finish() is emitted once (the
 * established path's code stays compact for the instruction cache). */
static __always_inline int lb_pipeline(struct lb_ctx *c)
{
	struct xdp_md *ctx = c->xdp;
	__u32 flags;
	int ret;

	ret = lb_parse_l3(ctx, &c->pkt, &c->reason);
	if (ret != LB_CONTINUE)
		return ret;

	/* Not for us: passed untouched after one array slot (and lb_addrs, for a shared slot; and the
	 * large prefix VIPs' trie, in an instance that has some: lib/service.h). */
	flags = lb_addr_flags(&c->pkt.flow.dst);
	if (!flags && CONFIG(vip_nets))
		flags = lb_addr_net(&c->pkt.flow.dst);
	if (!flags)
		return XDP_PASS;
	c->now = lb_now();

	if (unlikely(c->pkt.frag == LB_FRAG_LATER)) {
		ret = lb_frag_later(c, flags); /* the ports of its first fragment, or a verdict */
		if (ret != LB_CONTINUE)
			return ret;
	} else {
		ret = lb_parse_l4(&c->pkt, &c->reason);
		if (unlikely(ret != LB_CONTINUE)) {
			if (ret == LB_NOT_L4)
				ret = lb_icmp(c, flags);
			return ret;
		}
	}
	ret = lb_ours(c, flags);
	if (unlikely(c->pkt.frag != LB_FRAG_NONE))
		lb_frag_done(c, ret);
	return ret;
}

SEC("xdp")
int xdp_lb(struct xdp_md *ctx)
{
	struct lb_ctx c;

	c.xdp = ctx;
	c.reason = LB_R_PASS_NOT_OURS;
	c.svc_id = LB_NONE;
	c.be_id = LB_NONE;
	c.new_flow = 0;
	c.sync = 0;
	c.now = 0;
	c.pkt.len = 0;
	return lb_finish(&c, lb_pipeline(&c));
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
#endif /* LB_ASSEMBLING */
