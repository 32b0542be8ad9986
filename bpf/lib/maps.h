/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* maps.h - every map of the data plane (names, keys and values from lb_abi.h).
 *
 * No LIBBPF_PIN_BY_NAME: the control plane pins the maps itself under
 * /sys/fs/bpf/xdp-lb/<instance>/ and reuses them across re-deploys. Sizes come from lb_abi.h;
 * the control plane may resize maps (bpf_map__set_max_entries) and change lb_ct's and lb_snat's
 * flags (BPF_F_NO_COMMON_LRU) before load, and reads the real sizes back after load.
 */
#ifndef __LB_MAPS_H
#define __LB_MAPS_H

#include "lib/common.h"

/* Every address the LB answers for (VIPs, SNAT addresses): the source of truth of lb_addr_slots,
 * looked up only for addresses of a shared slot. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, LB_MAX_ADDRS);
	__type(key, struct lb_addr);
	__type(value, struct lb_addr_info);
} lb_addrs SEC(".maps");

/* The first lookup of every packet: lb_addrs as a direct-mapped table kept by the control plane
 * (lib/addrs.h). An ARRAY: the verifier inlines its lookup (no helper call, no hash). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, LB_ADDR_SLOTS);
	__type(key, __u32);
	__type(value, struct lb_addr_slot);
} lb_addr_slots SEC(".maps");

/* Services by (VIP, port, protocol). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, LB_MAX_SERVICES);
	__type(key, struct lb_svc_key);
	__type(value, struct lb_svc);
} lb_services SEC(".maps");

/* Prefix VIPs too large to expand (lb_abi.h LB_NET_EXPAND): address prefix -> roles, for a
 * destination lb_addr_slots does not know; read only when the knob vip_nets is set. */
struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, LB_MAX_VIP_NETS);
	__type(key, struct lb_net_key);
	__type(value, struct lb_addr_info);
} lb_vip_nets SEC(".maps");

/* Their services by (protocol, port, address prefix): the longest prefix wins. */
struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, LB_MAX_VIP_NETS);
	__type(key, struct lb_svc_net_key);
	__type(value, struct lb_svc);
} lb_svc_nets SEC(".maps");

/* QUIC services' server ids (lib/quic.h): (service id, server id) -> backend id. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, LB_MAX_BACKENDS);
	__type(key, struct lb_quic_key);
	__type(value, __u32);
} lb_quic_ids SEC(".maps");

/* Backends by id: address, port, state, generation. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, LB_MAX_BACKENDS);
	__type(key, __u32);
	__type(value, struct lb_backend);
} lb_backends SEC(".maps");

/* Inner template of lb_tables: a u32 slot table; BPF_F_INNER_MAP lets each service's table have
 * its own max_entries. */
struct lb_table_inner {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(map_flags, BPF_F_INNER_MAP);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
};

/* Each service's slot table (slot[0] = n, slot[1..n] = backend ids), swapped in whole. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, LB_MAX_SERVICES);
	__type(key, __u32);
	__array(values, struct lb_table_inner);
} lb_tables SEC(".maps");

/* Conntrack: one LRU hash shared by all CPUs, keyed by the client's 5-tuple. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, LB_CT_DEFAULT_SIZE);
	__type(key, struct lb_flow);
	__type(value, struct lb_ct);
} lb_ct SEC(".maps");

/* Half-open TCP flows (lib/halfopen.h): a SYN's entry lives here until the handshake completes,
 * so that new flows (a SYN flood) churn only this table, never lb_ct's established flows. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, LB_CT_SYN_DEFAULT_SIZE);
	__type(key, struct lb_flow);
	__type(value, struct lb_ct);
} lb_ct_syn SEC(".maps");

/* The flow table of IPv4 dsr/ipip/gue flows (lib/flowtab.h): buckets of LB_FT_WAYS slots.
 * BPF_F_MMAPABLE: the kernel then page-aligns the values, so a 128-byte bucket is exactly two
 * cache lines (a plain ARRAY's values start 16 bytes into a line). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(map_flags, BPF_F_MMAPABLE);
	__uint(max_entries, LB_FT_DEFAULT_BUCKETS);
	__type(key, __u32);
	__type(value, struct lb_ft_bucket);
} lb_ft4 SEC(".maps");

/* NAT reverse entries: reply tuple (backend -> SNAT address:port) to the client's forward key. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, LB_CT_DEFAULT_SIZE);
	__type(key, struct lb_flow);
	__type(value, struct lb_snat_val);
} lb_snat SEC(".maps");

/* Next-hop cache per backend id, filled by the data plane from bpf_fib_lookup(). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, LB_MAX_BACKENDS);
	__type(key, __u32);
	__type(value, struct lb_nh);
} lb_nh SEC(".maps");

/* Interfaces packets may be redirected to (multi-NIC): ifindex -> ifindex. */
struct {
	__uint(type, BPF_MAP_TYPE_DEVMAP_HASH);
	__uint(max_entries, LB_MAX_IFACES);
	__type(key, __u32);
	__type(value, __u32);
} lb_tx_ports SEC(".maps");

/* The LB's own MAC per interface, learned from client packets of cross-interface NAT flows. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, LB_MAX_IFACES);
	__type(key, __u32);
	__type(value, struct lb_mac);
} lb_if_macs SEC(".maps");

/* SNAT source addresses; a NAT service uses [snat_first, snat_first + snat_count). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, LB_MAX_ADDRS);
	__type(key, __u32);
	__type(value, struct lb_addr);
} lb_snat_pool SEC(".maps");

/* Per-CPU counters per service id. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, LB_MAX_SERVICES);
	__type(key, __u32);
	__type(value, struct lb_counters);
} lb_svc_stats SEC(".maps");

/* Per-CPU counters per backend id. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, LB_MAX_BACKENDS);
	__type(key, __u32);
	__type(value, struct lb_counters);
} lb_be_stats SEC(".maps");

/* Per-CPU packet counts per enum lb_reason. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, LB_REASON_SLOTS);
	__type(key, __u32);
	__type(value, __u64);
} lb_reasons SEC(".maps");

/* New-flow rate per CPU (flood detection); transient, not pinned. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct lb_flood);
} lb_flood SEC(".maps");

/* Fragmented datagrams in flight: the first fragment's decision, for the later ones. Transient,
 * not pinned. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, LB_MAX_FRAGS);
	__type(key, struct lb_frag_key);
	__type(value, struct lb_frag);
} lb_frags SEC(".maps");

/* Per-CPU scratch space for the large temporaries of the slow paths (new flows, next-hop lookups,
 * NAT allocation, ICMP, fragments): the BPF stack has 512 bytes for the whole call chain. Only
 * scalars live here (the verifier does not track packet pointers in maps); an XDP program runs to
 * completion on its CPU, and each user has its own field, so nothing is shared. Not pinned. */
struct lb_scratch {
	__u64 clock_jiffies;       /* lb_now: the jiffy of clock_ns */
	__u64 clock_ns;            /* lb_now: the coarse clock read in that jiffy */
	struct bpf_fib_lookup fib; /* lb_nh_get */
	struct lb_ct ct;           /* a new entry (lb_new_flow), or one built without an entry, or a
				    * promoted one (lb_half_promote) */
	struct lb_flow key;        /* the flow, for lb_ct_adopt (a global function) */
	struct lb_flow rk;         /* NAT reverse keys */
	struct lb_flow client;     /* the client tuple of a reverse entry */
	struct lb_snat_val val;    /* NAT reverse values */
	struct lb_frag_key fk;     /* fragments */
	struct lb_frag fv;
	struct lb_flow qflow;      /* the flow quoted by an ICMP error */
	__u64 toobig_tat;          /* lib/toobig.h: this CPU's ICMP too-big rate limit */
	__u64 mtu_ns;              /* lib/toobig.h lb_fits: when this CPU last asked for an egress MTU */
	__u32 mtu_ifindex;         /* ... of which interface (0: never) */
	__u32 mtu;                 /* ... and the answer (L3 bytes) */
	__u64 ft_now;              /* lib/flowtab.h lb_ft_insert: the packet's clock and TCP flags, */
	__u32 ft_tcp_flags;        /* read from here, not kept in registers (its frame is small) */
	__u32 ft_bucket;           /* lb_ft_wait: the bucket lb_ft_insert found locked */
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct lb_scratch);
} lb_scratch SEC(".maps");

/* This CPU's scratch space (never NULL in practice: a one-entry per-CPU array). */
static __always_inline struct lb_scratch *lb_scratch_get(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&lb_scratch, &zero);
}

/* The chain's slots (lb_root_progs, include/lb_chain.h): when chain_next_slot is set, the control
 * plane makes this the root's array (reuse by fd of its pin) before load; otherwise it stays empty
 * and unused. */
#include "lb_chain.h"

#endif /* __LB_MAPS_H */
