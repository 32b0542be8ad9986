/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* config.h - runtime knobs: const volatile rodata, set by the control plane before load.
 *
 * DECLARE_CONFIG(type, name, default, "description") defines a `const volatile` global in .rodata
 * whose BTF carries the description as a decl tag "lb_config:<description>", so userspace can list
 * every knob from the object itself (bpftool btf dump file X.o | grep lb_config). The variable
 * name is ABI: the control plane sets it with setVariable(name, Buffer) before load; bpf/README.md
 * lists every knob with its type and default. Read a knob with CONFIG(name): after load the
 * verifier sees a constant and prunes dead branches.
 * -D is only for what changes map sizes or layouts (lb_abi.h), never for behaviour.
 */
#ifndef __LB_CONFIG_H
#define __LB_CONFIG_H

#include "lib/common.h"

#define LB_CONFIG_TAG(desc) __attribute__((btf_decl_tag("lb_config:" desc)))
#define DECLARE_CONFIG(type, name, dflt, desc) const volatile type name LB_CONFIG_TAG(desc) = (dflt)
#define CONFIG(name) (name)

DECLARE_CONFIG(__u32, layout_version, LB_LAYOUT_VERSION,
	       "LB_LAYOUT_VERSION the object was built with (read it, never set it)");
DECLARE_CONFIG(__u64, tcp_timeout_ns, 300 * LB_NSEC_PER_SEC,
	       "idle timeout of an open TCP flow");
DECLARE_CONFIG(__u64, tcp_closing_timeout_ns, 10 * LB_NSEC_PER_SEC,
	       "idle timeout of a TCP flow after FIN or RST");
DECLARE_CONFIG(__u64, udp_timeout_ns, 30 * LB_NSEC_PER_SEC,
	       "idle timeout of a UDP flow");
DECLARE_CONFIG(__u64, syn_timeout_ns, 3 * LB_NSEC_PER_SEC,
	       "idle timeout of a half-open TCP flow (lb_ct_syn); its NAT port is free after it");
DECLARE_CONFIG(__u64, ct_refresh_ns, 1 * LB_NSEC_PER_SEC,
	       "a conntrack entry's timestamp is written at most this often");
DECLARE_CONFIG(__u64, nh_refresh_ns, 1 * LB_NSEC_PER_SEC,
	       "a backend's cached next hop is looked up again after this long");
DECLARE_CONFIG(__u64, snat_grace_ns, 2 * LB_NSEC_PER_SEC,
	       "an expired NAT flow's port is taken over only this long after its timeout (a TCP flow an RST ended before any FIN: after its last packet; keep it >= ct_refresh_ns)");
DECLARE_CONFIG(__u64, snat_reuse_ns, 65 * LB_NSEC_PER_SEC,
	       "a TCP SNAT port is given to another client only this long after its last packet (> the backends' TIME_WAIT)");
DECLARE_CONFIG(__u32, hash_seed, 0,
	       "flow hash seed: equal on every LB node of a cluster and in the TypeScript model");
DECLARE_CONFIG(__u32, snat_port_min, 20000,
	       "first SNAT source port (host order); reserve the range from the host's sockets");
DECLARE_CONFIG(__u32, snat_port_max, 29999,
	       "last SNAT source port (host order, inclusive)");

DECLARE_CONFIG(__u32, ct_new_rate, 125000,
	       "new flows per second per CPU past which the CPU is in flood mode (0: never)");
DECLARE_CONFIG(__u32, ct_syn_churn, 0,
	       "new flows per second per CPU past which dsr services of a stateless strategy forward new flows without an entry (the half-open table's pressure; 0: never)");

DECLARE_CONFIG(__u32, vip_nets, 0,
	       "1: some VIPs are prefixes too large to expand (lb_vip_nets): a destination lb_addr_slots does not know costs one LPM lookup more; 0: those maps are never read");

DECLARE_CONFIG(__u32, chain_next_slot, LB_CHAIN_OFF,
	       "chaining: XDP_PASS verdicts tail-call this slot of lb_root_progs instead (0xffffffff: off)");

DECLARE_CONFIG(__u32, icmp_echo, 0,
	       "1: the LB answers ICMP/ICMPv6 echo requests to VIPs itself; 0: they are passed to the host");
DECLARE_CONFIG(__u64, frag_timeout_ns, 2 * LB_NSEC_PER_SEC,
	       "later fragments are matched to their first fragment's decision for this long");
DECLARE_CONFIG(__be32, encap_src4, 0x000010ac /* 172.16.0.0 */,
	       "ipip: outer source addresses are this /16 prefix (network order) + 16 bits of flow hash");
DECLARE_CONFIG(__u32, gue_port, 6080,
	       "gue: the outer UDP destination port (host order) the backends decapsulate");
/* (a struct initializer cannot pass through DECLARE_CONFIG's parentheses: spelt out) */
const volatile struct lb_addr encap_src6
	LB_CONFIG_TAG("ip6ip6: outer source addresses are this /96 prefix + 32 bits of flow hash") =
	{ { 0x00000001, 0, 0, 0 } }; /* 100::/64 (RFC 6666, discard only), network order */

DECLARE_CONFIG(__u32, ft_mask, 0,
	       "lb_ft4's bucket count - 1 (a power of two - 1): IPv4 flows of dsr/ipip/gue services live in the flow table (lib/flowtab.h); 0: off, lb_ft4 is never read");

/* cluster flow sync (lib/flowsync.h) */
DECLARE_CONFIG(__u32, flow_sync, 0,
	       "1: cluster flow sync: records of lb_ct flows go to lb_flowsync for the agent (0: off, no cost)");
DECLARE_CONFIG(__u32, flow_sync_shift, 33,
	       "a live flow is re-sent to the peers once per 2^this ns (33: 8.6 s); two periods must stay below the shortest idle timeout");
DECLARE_CONFIG(__u32, flow_sync_rate, 100000,
	       "flow records per second per CPU past which they are dropped (counted: sync_dropped)");

#endif /* __LB_CONFIG_H */
