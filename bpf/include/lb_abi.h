/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* lb_abi.h - every struct, constant and map name shared by the XDP data plane and the TypeScript
 * control plane (packages/core/src/dataplane/abi.ts mirrors this file byte for byte).
 *
 * Rules of this ABI:
 *  - Addresses are always 16 bytes: IPv6 as is, IPv4 as IPv4-mapped IPv6 (::ffff:a.b.c.d). One layout
 *    serves both families, so IPv6 support never changes a key or a value.
 *  - Addresses and ports are in network byte order; every other integer is host order (little endian).
 *  - Structs have explicit padding and no holes; sizes are asserted below. Padding must be zero:
 *    keys are hashed as raw bytes.
 *  - A change to a pinned map's layout bumps LB_LAYOUT_VERSION (the control plane refuses to reuse
 *    pins of another layout).
 */
#ifndef __LB_ABI_H
#define __LB_ABI_H

#include <linux/types.h>

/* 2: lb_reasons has LB_REASON_SLOTS entries (was LB_R_MAX = 19).
 * 3: lb_addr_slots, the address slot table (and its slot hash, lb_addr_slot() in lb_hash.h).
 * 4: lb_ct_syn, the half-open table (lib/halfopen.h); lb_ct.flags (was padding); NAT leases of
 *    half-open flows carry LB_SNAT_LEASE_HALF. Only adds a map: v2 and v3 pins upgrade in place.
 * 5: lb_vip_nets and lb_svc_nets, prefix VIPs too large to expand (lib/service.h); lb_quic_ids,
 *    QUIC connection-id routing (lib/quic.h). Only adds maps.
 * 6: lb_svc.strategy (was padding, read as 0 by older programs): a service's strategy, the index of
 *    its fragment in the program (lib/dispatch.h). Older pins upgrade in place: a deploy rewrites
 *    every service before the new program runs, and an older program never read the byte.
 * 7: lb_ft4, the flow table of IPv4 flows of dsr/ipip/gue services (lib/flowtab.h). Only adds a
 *    map: older pins upgrade in place (their lb_ct flows are still found, after an lb_ft4 miss). */
#define LB_LAYOUT_VERSION 7

/* Sizes that shape maps. Override with -D at build time; the control plane reads the real sizes
 * back from the loaded maps, so userspace never hard-codes them. */
#ifndef LB_MAX_SERVICES
#define LB_MAX_SERVICES 512
#endif
#ifndef LB_MAX_BACKENDS
#define LB_MAX_BACKENDS 4096
#endif
#ifndef LB_MAX_ADDRS
#define LB_MAX_ADDRS 1024 /* VIPs + SNAT addresses */
#endif
#ifndef LB_ADDR_SLOT_BITS
#define LB_ADDR_SLOT_BITS 14 /* lb_addr_slots has 1 << LB_ADDR_SLOT_BITS entries (16 per address) */
#endif
#define LB_ADDR_SLOTS (1U << LB_ADDR_SLOT_BITS)
#ifndef LB_CT_DEFAULT_SIZE
#define LB_CT_DEFAULT_SIZE 1048576 /* conntrack entries; userspace resizes before load */
#endif
#ifndef LB_CT_SYN_DEFAULT_SIZE
#define LB_CT_SYN_DEFAULT_SIZE 131072 /* half-open TCP flows (lb_ct_syn); userspace resizes before load */
#endif
#ifndef LB_FT_DEFAULT_BUCKETS
#define LB_FT_DEFAULT_BUCKETS 1 /* lb_ft4 buckets (a power of two); userspace resizes before load and
				  * sets ft_mask (0: the flow table is off, lb_ft4 is never read) */
#endif
#ifndef LB_MAX_IFACES
#define LB_MAX_IFACES 64
#endif
#ifndef LB_MAX_VIP_NETS
#define LB_MAX_VIP_NETS 256 /* prefix VIPs (per service key) too large to expand into lb_services */
#endif
#ifndef LB_MAX_FRAGS
#define LB_MAX_FRAGS 16384 /* fragmented datagrams in flight (first fragment seen, later ones due) */
#endif

/* ---- map names (<= 15 chars: the kernel's object name limit) ---- */
#define LB_MAP_ADDRS "lb_addrs"       /* struct lb_addr -> struct lb_addr_info */
#define LB_MAP_ADDR_SLOTS "lb_addr_slots" /* __u32 lb_addr_slot() -> struct lb_addr_slot */
#define LB_MAP_SERVICES "lb_services" /* struct lb_svc_key -> struct lb_svc */
#define LB_MAP_BACKENDS "lb_backends" /* __u32 backend id -> struct lb_backend */
#define LB_MAP_TABLES "lb_tables"     /* __u32 service id -> inner u32 array (slot table) */
#define LB_MAP_CT "lb_ct"             /* struct lb_flow -> struct lb_ct (established flows, UDP) */
#define LB_MAP_CT_SYN "lb_ct_syn"     /* struct lb_flow -> struct lb_ct (half-open TCP flows) */
#define LB_MAP_SNAT "lb_snat"         /* struct lb_flow (reply tuple) -> struct lb_snat_val (client tuple) */
#define LB_MAP_NH "lb_nh"             /* __u32 backend id -> struct lb_nh (next-hop cache) */
#define LB_MAP_TX_PORTS "lb_tx_ports" /* ifindex -> ifindex (devmap for multi-NIC redirect) */
#define LB_MAP_SVC_STATS "lb_svc_stats" /* per-CPU, __u32 service id -> struct lb_counters */
#define LB_MAP_BE_STATS "lb_be_stats"   /* per-CPU, __u32 backend id -> struct lb_counters */
#define LB_MAP_REASONS "lb_reasons"     /* per-CPU, __u32 enum lb_reason -> __u64 packets */
#define LB_MAP_SNAT_POOL "lb_snat_pool" /* __u32 index -> struct lb_addr (SNAT source addresses) */
#define LB_MAP_IF_MACS "lb_if_macs"     /* __u32 ifindex -> struct lb_mac (learned by the data plane) */
#define LB_MAP_RR_CTR "lb_rr_ctr"       /* round-robin object only: __u32 service id -> __u64 counter */
#define LB_MAP_FLOOD "lb_flood"         /* per-CPU, one entry: struct lb_flood (new-flow rate window) */
#define LB_MAP_FRAGS "lb_frags"         /* struct lb_frag_key -> struct lb_frag (fragment policy) */
#define LB_MAP_VIP_NETS "lb_vip_nets"   /* LPM trie, struct lb_net_key -> struct lb_addr_info (large prefix VIPs) */
#define LB_MAP_SVC_NETS "lb_svc_nets"   /* LPM trie, struct lb_svc_net_key -> struct lb_svc (their services) */
#define LB_MAP_QUIC_IDS "lb_quic_ids"   /* struct lb_quic_key -> __u32 backend id (QUIC server ids) */
#define LB_MAP_FT4 "lb_ft4"           /* __u32 bucket -> struct lb_ft_bucket (IPv4 dsr/ipip/gue flows,
				       * lib/flowtab.h); BPF_F_MMAPABLE: buckets are cache-line aligned */
#define LB_MAP_FLOWSYNC "lb_flowsync"   /* RINGBUF of struct lb_sync_rec (cluster flow sync, lib/flowsync.h);
					 * pinned beside the others but outside the layout: a new pin */
#define LB_MAP_FLOWSYNC_RATE "lb_flowsync_rate" /* per-CPU, one entry: struct lb_flood (records per second) */

/* Chaining with other XDP programs ("shared mode", bpf/README.md): a root program (progs/xdp_root)
 * is attached and tail-calls slot 0 of its PROG_ARRAY LB_MAP_ROOT_PROGS; each program in a slot
 * tail-calls the next slot (its rodata chain_next_slot) for what it passes on, and returns
 * XDP_PASS when that slot is empty. Members reuse the root's array by fd (from its pin). */
#define LB_MAP_ROOT_PROGS "lb_root_progs" /* PROG_ARRAY, __u32 slot -> program fd */
#define LB_ROOT_SLOTS 16
#define LB_CHAIN_OFF 0xffffffffU /* chain_next_slot: not chained (XDP_PASS is returned) */

/* Name of the rodata variable that stamps each object with its strategy id (char[16], NUL padded). */
#define LB_STRATEGY_VAR "lb_strategy"
#define LB_STRATEGY_LEN 16
/* A program carries up to LB_MAX_STRATEGIES strategy fragments (lib/dispatch.h); fragment i stamps
 * its id into the rodata variable "lb_strat_<i>" (char[16], NUL padded), the index a service's
 * lb_svc.strategy names. lb_strategy is the first one's. */
#define LB_MAX_STRATEGIES 8
#define LB_STRATEGY_VAR_PREFIX "lb_strat_"

/* An address: IPv6, or IPv4-mapped IPv6 (w[0] = w[1] = 0, w[2] = htonl(0xffff), w[3] = IPv4). */
struct lb_addr {
	__u32 w[4];
};

/* lb_addrs value: which roles an address plays. Every address the LB answers for is here; the
 * data plane looks it up only for addresses whose lb_addr_slots slot is shared (below). */
#define LB_ADDR_VIP (1U << 0)  /* destination of at least one service */
#define LB_ADDR_SNAT (1U << 1) /* a source address of NAT mode: replies come back to it */
#define LB_ADDR_ANY_PORT (1U << 2) /* with LB_ADDR_VIP: at least one service of it has port 0 (every
				    * port of its protocol), looked up after the exact key misses */
#define LB_ADDR_NET (1U << 3) /* with LB_ADDR_VIP: a large prefix VIP (lb_vip_nets) covers the address:
			       * its services are looked up in lb_svc_nets after the exact key misses */
#define LB_ADDR_FT (1U << 4)  /* with LB_ADDR_VIP: a service of it forwards dsr/ipip/ip6ip6/gue, so
			       * its IPv4 flows may be in lb_ft4 (lib/flowtab.h); without it (NAT only)
			       * the established path does not look there (layout 7) */
struct lb_addr_info {
	__u32 flags;
};

/* Prefix VIPs (a prefix of addresses served as one service, "vip: 198.18.10.0/28:80"). The control
 * plane expands a prefix of up to LB_NET_EXPAND addresses into exact lb_addrs / lb_services keys
 * that share the service's id (the data plane sees ordinary VIPs: no cost at all); only larger
 * prefixes go into these two LPM tries, read when the rodata knob vip_nets is set:
 *  - lb_vip_nets: the address prefix -> the roles of every address in it (LB_ADDR_VIP | LB_ADDR_NET,
 *    and LB_ADDR_ANY_PORT), looked up for a destination that lb_addr_slots does not know;
 *  - lb_svc_nets: (protocol, port, address prefix) -> the service, looked up after the exact key.
 * prefixlen counts the bits of the key after it: lb_net_key's is the address prefix length (IPv4:
 * 96 + its length, the address being IPv4-mapped), lb_svc_net_key's 32 more (proto, pad, port). */
#define LB_NET_EXPAND 16
struct lb_net_key {
	__u32 prefixlen;
	struct lb_addr addr;
};
struct lb_svc_net_key {
	__u32 prefixlen;
	__u8 proto;
	__u8 pad;
	__be16 port;
	struct lb_addr addr;
};

/* lb_addr_slots value: the first lookup of every packet, an ARRAY indexed by lb_addr_slot() of the
 * destination (lb_hash.h; no hash-map lookup, no helper call). The control plane derives it from
 * lb_addrs, which stays the source of truth:
 *  - LB_SLOT_EMPTY: no address of lb_addrs hashes here: not for us, nothing else is looked up;
 *  - LB_SLOT_ONE: exactly one does, @addr, with its lb_addrs @flags: a packet to another address
 *    is not for us;
 *  - LB_SLOT_SHARED (or any other value): two or more do: look the address up in lb_addrs.
 * Writes are ordered so that a reader on another CPU that sees a half-written value never turns
 * away an address that stays configured (packages/core/src/dataplane/addr-slots.ts): @addr and
 * @flags change only while the state is SHARED (or flags alone, with the same @addr), the state
 * alone in its own write. The reader reads @state first. */
#define LB_SLOT_EMPTY 0
#define LB_SLOT_ONE 1
#define LB_SLOT_SHARED 2
struct lb_addr_slot {
	struct lb_addr addr;
	__u32 flags; /* LB_ADDR_* of @addr (LB_SLOT_ONE) */
	__u32 state; /* LB_SLOT_* */
};

/* lb_services key. proto is IPPROTO_TCP or IPPROTO_UDP. port 0: an any-port service, serving every
 * port of the VIP for its protocol that has no service of its own (the VIP's address carries
 * LB_ADDR_ANY_PORT); its flows keep their destination port (lb_backend.port 0). */
struct lb_svc_key {
	struct lb_addr vip;
	__be16 port;
	__u8 proto;
	__u8 pad;
};

/* Forwarding modes. */
#define LB_FWD_DSR 1    /* L2 direct server return: only MACs change */
#define LB_FWD_NAT 2    /* full NAT on one arm: dst -> backend, src -> SNAT address:port */
#define LB_FWD_IPIP 3   /* DSR across L3: the packet in an outer IPv4 header to an IPv4 backend */
#define LB_FWD_IP6IP6 4 /* DSR across L3: the packet in an outer IPv6 header to an IPv6 backend */
#define LB_FWD_GUE 5    /* DSR across L3: the packet in outer IP (the backend's family) + UDP to gue_port
			 * (GUE variant 1, Katran's): the outer source port varies per flow, for RSS */

/* Service flags. */
#define LB_SVC_F_HASH_SRC (1U << 0) /* hash strategy: hash the source address only (client affinity) */
#define LB_SVC_F_HASH_DPORT (1U << 1) /* hash strategy: hash the destination port only (Katran's
				       * dport-only hashing: with an any-port service, every flow
				       * to one port of the VIP goes to the same backend) */

#define LB_SVC_F_QUIC (1U << 2) /* UDP: a QUIC short-header packet of a new tuple whose connection id
				 * carries a server id of lb_quic_ids goes to that backend (lib/quic.h) */

/* lb_quic_ids key: a QUIC service's server id (from the connection id, lib/quic.h), never 0. The
 * value is the backend id (__u32) the control plane gave that server id in this service. */
struct lb_quic_key {
	__u32 svc_id;
	__u32 server_id;
};

struct lb_svc {
	__u32 id;    /* 0..LB_MAX_SERVICES-1: index into lb_tables and lb_svc_stats */
	__u32 flags; /* LB_SVC_F_* */
	__u8 fwd;    /* LB_FWD_* */
	__u8 strategy; /* index of the service's strategy fragment in the program (layout 6; was
			* padding): lb_strat_<strategy> names it. Read on new flows only. */
	__u8 pad[2];
	__u32 snat_first; /* nat: first index in lb_snat_pool this service may use */
	__u32 snat_count; /* nat: how many consecutive pool entries (0 = all of the pool is unused) */
};

/* Backend states. A backend id whose state is LB_BE_EMPTY (or whose gen differs from the one a
 * conntrack entry recorded) is gone: its flows are re-balanced. */
#define LB_BE_EMPTY 0
#define LB_BE_ACTIVE 1
#define LB_BE_DRAINING 2 /* no new flows (absent from slot tables), existing flows continue */

struct lb_backend {
	struct lb_addr addr;
	__be16 port; /* nat: destination port on the backend; dsr: must equal the service port.
		      * 0 (any-port services): the flow's own destination port */
	__u8 state;  /* LB_BE_* */
	__u8 pad;
	__u32 gen; /* bumped by userspace each time an id is given to a new backend */
};

/* Slot tables (lb_tables inner maps): u32 array, slot[0] = n, slot[1..n] = backend ids.
 * Built by the strategy's userspace table builder and swapped in whole with one update of the
 * outer map, so the data plane never sees a half-written table. n = 0 means "no backend".
 * Inner maps are BPF_MAP_TYPE_ARRAY, key 4, value 4, map_flags BPF_F_INNER_MAP (the flags must
 * equal the template's), max_entries >= n + 1 and free per service. */
#define LB_TABLE_MAX_SLOTS (1U << 24)

/* Conntrack key, also the hash strategy's input. Zero padding is part of the key. */
struct lb_flow {
	struct lb_addr src;
	struct lb_addr dst;
	__be16 sport;
	__be16 dport;
	__u8 proto;
	__u8 pad[3];
};

/* Conntrack states. */
#define LB_CT_OPEN 1
#define LB_CT_CLOSING 2 /* FIN or RST seen: the entry lives only tcp_closing_timeout_ns more */

/* lb_ct.close_reason: what turned the entry LB_CT_CLOSING, recorded then (a FIN seen later turns
 * RST into FIN, never the reverse). nat.h frees the SNAT port of a flow that a reset ended sooner:
 * the backend holds no TIME_WAIT for it. */
#define LB_CT_CLOSE_UNKNOWN 0 /* open; or closed by a program that did not record it (older
			       * entries: the byte was padding): treated as LB_CT_CLOSE_FIN */
#define LB_CT_CLOSE_FIN 1     /* a FIN (also with RST, or a FIN after the RST): the backend may hold
			       * the tuple in TIME_WAIT */
#define LB_CT_CLOSE_RST 2     /* an RST before any FIN, either direction: the backend's socket is
			       * CLOSED, no TIME_WAIT */

/* lb_ct.flags: set in lb_ct_syn entries (half-open flows) only; 0 in lb_ct. */
#define LB_CT_F_REPLIED 0x01 /* nat: the backend answered (a reply other than an RST passed the LB):
			      * the client's next non-SYN packet completes the handshake */
/* Cluster flow sync (lib/flowsync.h), lb_ct entries only (half-open ones use LB_CT_F_REPLIED): */
#define LB_CT_F_SYNC_ODD 0x02    /* the flow was last sent to the peers in an odd sync period */
#define LB_CT_F_SYNC_CLOSED 0x04 /* its close was sent */
#define LB_CT_F_SYNCED 0x08      /* written by the agent from a peer's record, not by this node */

/* A record of lb_flowsync: a flow the peers should track (LB_SYNC_OPEN: created or still alive) or
 * stop tracking soon (LB_SYNC_CLOSING: a FIN or RST was seen). Backend and service are this node's
 * ids: the agent turns them into addresses, which are the same on every node (ids are not). */
#define LB_SYNC_OPEN 1
#define LB_SYNC_CLOSING 2
struct lb_sync_rec {
	struct lb_flow flow;
	__u32 svc_id;
	__u32 backend_id;
	__u8 kind; /* LB_SYNC_* */
	__u8 fwd;  /* LB_FWD_* */
	__u8 pad[2];
};

struct lb_ct {
	__u32 backend_id;
	__u32 backend_gen;
	__u64 seen_ns; /* coarse clock; refreshed at most once per ct_refresh_ns */
	__u32 svc_id;
	__u8 state; /* LB_CT_* */
	__u8 fwd;   /* LB_FWD_* of the service when the flow was created: a hit needs no service lookup */
	__be16 snat_port;         /* nat */
	struct lb_addr snat_addr; /* nat */
	__u8 peer_mac[6];         /* nat: source MAC of the client side, destination of replies */
	__u8 close_reason;        /* LB_CT_CLOSE_* (TCP); was padding: older entries read 0 */
	__u8 flags;               /* LB_CT_F_*; was padding (layout 4) */
	union {
		__u32 in_ifindex; /* nat: interface the client side came in on (replies leave through it) */
		__u32 encap_hash; /* ipip, ip6ip6, gue: the flow's hash for the outer source (lib/encap.h),
				   * computed once at creation; 0 in an entry of an older program */
	};
	__u32 snat_lease; /* nat: equals the lease of the lb_snat entry this flow owns; 0 in dsr */
};

/* lb_ft4 (lib/flowtab.h): the flow table of our own design for IPv4 flows of dsr, ipip and gue
 * services. An ARRAY of buckets of LB_FT_WAYS slots (two cache lines); a flow lives in the bucket
 * its hash names (lb_ft_hash), in any of its ways. A slot is an lb_ct entry with a 13-byte key and
 * 16-bit ids; the outer source hash of ipip/gue is the table hash itself, computed per packet
 * anyway. Everything that does not fit (NAT, IPv6, a full bucket) stays in lb_ct / lb_ct_syn. */
#define LB_FT_WAYS 4
#define LB_FT_TICK_SHIFT 20 /* lb_ft_slot.seen: the coarse clock >> 20 (1.05 ms) in a u32: wraps after
			     * 52 days, ages are compared as signed differences (timeouts < 26 days) */
#define LB_FT_HALF 3        /* lb_ft_slot.state: a half-open TCP flow (what lb_ct_syn holds elsewhere) */
#define LB_FT_STATE_MASK 0x0f
#define LB_FT_CLOSE_SHIFT 4 /* lb_ft_slot.state bits 4-5: LB_CT_CLOSE_* */
#define LB_FT_SEQ 0         /* the way whose aux is the bucket's sequence (odd: being written) */
#define LB_FT_OVER 1        /* the way whose aux is the tick (| 1; 0: never) of the bucket's last SYN
			     * that went to lb_ct_syn: for syn_timeout_ns after it the bucket's pure
			     * SYNs take the lb_ct_syn path too (lib/flowtab.h lb_ft_over_live) */
struct lb_ft_slot {
	__be32 saddr;
	__be32 daddr;
	__be16 sport;
	__be16 dport;
	__u8 proto; /* IPPROTO_TCP or IPPROTO_UDP; 0: the slot is free */
	__u8 state; /* LB_FT_HALF, LB_CT_OPEN or LB_CT_CLOSING | close_reason << LB_FT_CLOSE_SHIFT */
	__u8 fwd;   /* LB_FWD_DSR, LB_FWD_IPIP or LB_FWD_GUE */
	__u8 flags; /* LB_CT_F_SYNC_* */
	__u16 svc_id;
	__u16 backend_id;
	__u32 backend_gen;
	__u32 seen; /* coarse clock >> LB_FT_TICK_SHIFT of the last refresh */
};
struct lb_ft_way {
	__u32 aux; /* way LB_FT_SEQ: the bucket's sequence; way LB_FT_OVER: LB_FT_OVER_*; else 0 */
	struct lb_ft_slot s;
};
struct lb_ft_bucket {
	struct lb_ft_way w[LB_FT_WAYS];
};

/* lb_snat value: the client's forward lb_flow key (its proto is the reverse key's proto) and the
 * lease that ties it to exactly one lb_ct entry. Written only by the data plane:
 *  - a lease is a random u32, never 0 (free/abandoned) and never LB_SNAT_LEASE_BUSY;
 *  - the allocating CPU owns an entry while its lease is LB_SNAT_LEASE_BUSY (inserted so with
 *    BPF_NOEXIST, or taken over from a stale owner by compare-and-swap), writes its lb_ct entry,
 *    then publishes its lease with an atomic exchange;
 *  - a reply is delivered only if lb_ct[client] carries the same lease and SNAT address:port,
 *    so an entry that outlived its forward flow (LRU eviction, expiry, a reused port) never
 *    delivers to a previous client. */
struct lb_snat_val {
	struct lb_addr src; /* client address */
	struct lb_addr dst; /* VIP */
	__be16 sport;       /* client port */
	__be16 dport;       /* service port */
	__u32 lease;
};
#define LB_SNAT_LEASE_FREE 0U
#define LB_SNAT_LEASE_BUSY 0xffffffffU
/* Layout 4: a lease with this bit (and not the top bit, a TCP tombstone: nat.h) belongs to a
 * half-open flow (lb_ct_syn). Its port is free once that flow is gone or past syn_timeout_ns: the
 * backend holds no TIME_WAIT for a connection that never opened. Promotion to lb_ct clears the bit
 * in both entries; lease comparisons ignore it (lb_snat_lease_eq) for the moment in between. */
#define LB_SNAT_LEASE_HALF 0x40000000U

/* lb_if_macs value: the LB's own MAC on an interface, learned from the destination MAC of client
 * packets of NAT flows whose backend sits behind another interface (replies leave with it). */
struct lb_mac {
	__u8 addr[6];
	__u8 pad[2];
};

/* Next-hop cache for a backend, filled by the data plane from bpf_fib_lookup(). */
struct lb_nh {
	__u8 dmac[6];
	__u8 smac[6];
	__u32 ifindex;
	__u64 checked_ns; /* coarse clock of the last successful lookup; 0 = never */
};
/* lb_nh.checked_ns value written by the control plane for a static next hop: never looked up,
 * never refreshed (tests, or hosts that resolve neighbours themselves). */
#define LB_NH_STATIC 0xffffffffffffffffULL

/* lb_flood value (per CPU, key 0): conntrack misses of service traffic in the current one-second
 * window of the coarse clock. Past flood_threshold the CPU is in flood mode until the window ends. */
struct lb_flood {
	__u64 window_ns; /* coarse clock at the start of the window */
	__u64 count;     /* misses counted in it */
};

/* lb_frags key: one fragmented datagram (RFC 791 / RFC 8200: source, destination, protocol and
 * identification; the IPv4 identification is 16 bits in network order in the low bytes). The
 * protocol is the one every fragment names: IPv4's protocol field, the IPv6 fragment header's next
 * header (which may be an extension header that precedes TCP/UDP in the first fragment). */
struct lb_frag_key {
	struct lb_addr src;
	struct lb_addr dst;
	__u32 id;
	__u8 proto;
	__u8 pad[3];
};

/* lb_frags value: what the first fragment of the datagram decided, for the later ones (which
 * carry no ports). Written by the data plane only. */
#define LB_FRAG_FORWARD 1 /* forwarded: later fragments take the flow of these ports */
#define LB_FRAG_PASS 2    /* passed to the host: so are the later fragments */
struct lb_frag {
	__be16 sport;
	__be16 dport;
	__u8 action; /* LB_FRAG_FORWARD or LB_FRAG_PASS */
	__u8 proto;  /* the upper-layer protocol found in the first fragment (TCP or UDP) */
	__u8 pad[2];
	__u64 seen_ns; /* coarse clock of the first fragment */
};

/* Per-CPU counters (services and backends). */
struct lb_counters {
	__u64 packets;
	__u64 bytes;
	__u64 new_flows;
	__u64 drops;
};

/* What happened to a packet: the index of lb_reasons. Order is ABI: append only. */
enum lb_reason {
	LB_R_PASS_NOT_OURS = 0,   /* not for a service, not a reply: passed untouched */
	LB_R_PASS_MALFORMED,      /* truncated or bad header: passed untouched, the kernel decides */
	LB_R_PASS_UNSUPPORTED,    /* for a VIP but a protocol or port we do not serve: untouched */
	LB_R_TX,                  /* forwarded back out of the ingress interface */
	LB_R_REDIRECT,            /* forwarded out of another interface */
	LB_R_DROP_NO_BACKEND,     /* service has no active backend */
	LB_R_DROP_NO_NEIGH,       /* next hop unresolved (userspace primes the neighbour table) */
	LB_R_DROP_NO_ROUTE,       /* FIB lookup failed (no route, forwarding disabled, ...) */
	LB_R_DROP_FRAGMENT,       /* a fragment the fragment policy cannot place (bpf/README.md) */
	LB_R_DROP_SNAT_EXHAUSTED, /* nat: no free source port for a new flow */
	LB_R_PASS_SNAT_UNKNOWN,   /* nat: to a SNAT address, port in the NAT range, no mapping: untouched */
	LB_R_DROP_SNAT_STALE,     /* nat: reverse entry not matched by its forward entry */
	LB_R_CT_NEW,              /* counted in addition: a new flow was tracked */
	LB_R_CT_EXPIRED,          /* counted in addition: an expired entry was replaced */
	LB_R_CT_RESELECT,         /* counted in addition: entry's backend gone, flow re-balanced */
	LB_R_DROP_ERROR,          /* internal error (map update failed, adjust failed) */
	LB_R_DROP_NO_TX_PORT,     /* egress interface is not in lb_tx_ports (or its MAC is unknown) */
	LB_R_SNAT_RECLAIMED,      /* counted in addition: a stale lb_snat entry was taken over */
	LB_R_SNAT_REPAIRED,       /* counted in addition: a live flow's evicted lb_snat entry re-created */
	LB_R_FLOOD_STATELESS,     /* counted in addition: flood mode, forwarded by hash without an entry */
	LB_R_DROP_FLOOD,          /* flood mode: a new flow that needs an entry was refused */
	LB_R_ICMP_ECHO,           /* an echo request to a VIP answered by the LB (icmp_echo) */
	LB_R_ICMP_RELAYED,        /* counted in addition: an ICMP error about a tracked flow was relayed */
	LB_R_FRAGMENT,            /* counted in addition: a fragment was forwarded by the fragment policy */
	LB_R_DROP_TOO_BIG,        /* the forwarded packet would exceed the egress MTU, and no ICMP error
				   * was sent (IPv4 without DF, a fragment, the rate limit): lib/toobig.h */
	LB_R_CT_HALF_OPEN,        /* counted in addition: a TCP flow was tracked in lb_ct_syn (half-open) */
	LB_R_CT_PROMOTED,         /* counted in addition: a half-open flow completed its handshake (-> lb_ct) */
	LB_R_CT_MIDSTREAM,        /* counted in addition: a non-SYN TCP packet without an entry (its flow was
				   * evicted, expired or never seen) */
	LB_R_SNAT_HALF_FREED,     /* counted in addition: the SNAT port of a gone or timed-out half-open flow
				   * was taken over */
	LB_R_RESET,               /* a TCP packet of a flow the LB cannot carry on: answered with an RST */
	LB_R_ICMP_TOO_BIG,        /* a packet past the egress MTU answered with ICMP frag needed / packet
				   * too big (XDP_TX): lib/toobig.h */
	LB_R_QUIC_ROUTED,         /* counted in addition: a new tuple of a QUIC service went to the backend
				   * its connection id's server id names (a migrated client): lib/quic.h */
	LB_R_QUIC_UNKNOWN,        /* counted in addition: a QUIC short header whose server id no backend of
				   * the service has: the strategy chose */
	LB_R_SYNC_SENT,           /* counted in addition: a flow record was put in lb_flowsync (cluster sync) */
	LB_R_SYNC_DROPPED,        /* counted in addition: a flow record was not (ring full, or past
				   * flow_sync_rate on this CPU) */
	LB_R_FT_OVERFLOW,         /* counted in addition: a new flow's lb_ft4 bucket had no slot it may
				   * take: the flow went to lb_ct / lb_ct_syn (lib/flowtab.h) */
	LB_R_FT_EVICTED,          /* counted in addition: a live half-open lb_ft4 slot went to a newer SYN
				   * (as lb_ct_syn's LRU evicts under churn) */
	LB_R_FT_BUSY,             /* counted in addition: an lb_ft4 bucket stayed locked by another CPU
				   * past the bounded wait: a new flow's packet dropped (DROP_ERROR), a
				   * refresh skipped */
	LB_R_MAX
};
/* lb_reasons' size: room for reasons appended later, so that its pin stays reusable. */
#define LB_REASON_SLOTS 64

#if defined(__STDC_VERSION__) && __STDC_VERSION__ >= 201112L
_Static_assert(sizeof(struct lb_addr) == 16, "lb_addr");
_Static_assert(sizeof(struct lb_addr_info) == 4, "lb_addr_info");
_Static_assert(sizeof(struct lb_addr_slot) == 24, "lb_addr_slot");
_Static_assert(sizeof(struct lb_svc_key) == 20, "lb_svc_key");
_Static_assert(sizeof(struct lb_net_key) == 20, "lb_net_key");
_Static_assert(sizeof(struct lb_svc_net_key) == 24, "lb_svc_net_key");
_Static_assert(sizeof(struct lb_quic_key) == 8, "lb_quic_key");
_Static_assert(sizeof(struct lb_svc) == 20, "lb_svc");
_Static_assert(sizeof(struct lb_backend) == 24, "lb_backend");
_Static_assert(sizeof(struct lb_flow) == 40, "lb_flow");
_Static_assert(sizeof(struct lb_ct) == 56, "lb_ct");
_Static_assert(sizeof(struct lb_nh) == 24, "lb_nh");
_Static_assert(sizeof(struct lb_snat_val) == 40, "lb_snat_val");
_Static_assert(sizeof(struct lb_mac) == 8, "lb_mac");
_Static_assert(sizeof(struct lb_counters) == 32, "lb_counters");
_Static_assert(sizeof(struct lb_flood) == 16, "lb_flood");
_Static_assert(sizeof(struct lb_frag_key) == 40, "lb_frag_key");
_Static_assert(sizeof(struct lb_frag) == 16, "lb_frag");
_Static_assert(sizeof(struct lb_sync_rec) == 52, "lb_sync_rec");
_Static_assert(sizeof(struct lb_ft_slot) == 28, "lb_ft_slot");
_Static_assert(sizeof(struct lb_ft_bucket) == 128, "lb_ft_bucket");
_Static_assert(LB_MAX_SERVICES <= 65536 && LB_MAX_BACKENDS <= 65536, "lb_ft_slot ids are 16 bits");
_Static_assert(LB_R_MAX <= LB_REASON_SLOTS, "lb_reasons is full: bump LB_REASON_SLOTS and LB_LAYOUT_VERSION");
#endif

#endif /* __LB_ABI_H */
