/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* service.h - the service of a flow: lb_services[VIP, port, proto], then, for an address that has an
 * any-port service (LB_ADDR_ANY_PORT, from lb_addr_slots: no extra lookup to know it), the VIP's
 * port-0 key. A VIP without one pays nothing more than before; a port with its own service keeps it.
 */
#ifndef __LB_SERVICE_H
#define __LB_SERVICE_H

#include "lib/common.h"
#include "lib/maps.h"

/* The service of flow @f to an address of roles @flags, or NULL. */
static __always_inline struct lb_svc *lb_svc_lookup(const struct lb_flow *f, __u32 flags)
{
	struct lb_svc_key key;
	struct lb_svc *svc;

	__builtin_memset(&key, 0, sizeof(key));
	key.vip = f->dst;
	key.port = f->dport;
	key.proto = f->proto;
	svc = bpf_map_lookup_elem(&lb_services, &key);
	if (svc || !(flags & LB_ADDR_ANY_PORT))
		return svc;
	key.port = 0;
	return bpf_map_lookup_elem(&lb_services, &key);
}

/* The backend's port for a flow to @dport: its own, or (any-port services) the flow's. */
static __always_inline __be16 lb_be_port(const struct lb_backend *be, __be16 dport)
{
	return be->port ? be->port : dport;
}

#endif /* __LB_SERVICE_H */
