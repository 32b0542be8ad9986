/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* service.h - the service of a flow. A service of the flow's own port beats an any-port one, and
 * among either the longest prefix wins (an exact VIP is a /32 or /128):
 *  1. lb_services[VIP, port, proto]: exact VIPs, and the addresses of small prefix VIPs, which the
 *     control plane expands into exact keys (lb_abi.h LB_NET_EXPAND);
 *  2. lb_svc_nets[proto, port, VIP]: large prefix VIPs (an LPM trie), for an address that one
 *     covers (LB_ADDR_NET) in an instance that has any (the knob vip_nets);
 *  3. and 4. the same with port 0, for an address that has an any-port service (LB_ADDR_ANY_PORT).
 * The flags come from lb_addr_slots (or lb_vip_nets): no lookup to know which steps to take, and a
 * VIP without those roles pays for step 1 alone. Every expanded address is at least as specific as
 * any prefix of the trie (an expanded prefix is longer than every one that is not expanded), so
 * looking in lb_services first is the longest match.
 */
#ifndef __LB_SERVICE_H
#define __LB_SERVICE_H

#include "lib/common.h"
#include "lib/config.h"
#include "lib/maps.h"

/* The service of a large prefix VIP covering the flow's destination, for @port. Not inlined: the
 * key's stack stays out of the callers' frames. */
static __noinline struct lb_svc *lb_svc_net(const struct lb_flow *f, __be16 port)
{
	struct lb_svc_net_key key;

	key.prefixlen = 32 + 128;
	key.proto = f->proto;
	key.pad = 0;
	key.port = port;
	__builtin_memcpy(&key.addr, &f->dst, sizeof(key.addr));
	return bpf_map_lookup_elem(&lb_svc_nets, &key);
}

/* The service of flow @f to an address of roles @flags, or NULL. */
static __always_inline struct lb_svc *lb_svc_lookup(const struct lb_flow *f, __u32 flags)
{
	int net = CONFIG(vip_nets) && (flags & LB_ADDR_NET);
	struct lb_svc_key key;
	struct lb_svc *svc;

	__builtin_memset(&key, 0, sizeof(key));
	key.vip = f->dst;
	key.port = f->dport;
	key.proto = f->proto;
	svc = bpf_map_lookup_elem(&lb_services, &key);
	if (svc)
		return svc;
	if (net) {
		svc = lb_svc_net(f, f->dport);
		if (svc)
			return svc;
	}
	if (!(flags & LB_ADDR_ANY_PORT))
		return NULL;
	key.port = 0;
	svc = bpf_map_lookup_elem(&lb_services, &key);
	if (svc || !net)
		return svc;
	return lb_svc_net(f, 0);
}

/* The backend's port for a flow to @dport: its own, or (any-port services) the flow's. */
static __always_inline __be16 lb_be_port(const struct lb_backend *be, __be16 dport)
{
	return be->port ? be->port : dport;
}

#endif /* __LB_SERVICE_H */
