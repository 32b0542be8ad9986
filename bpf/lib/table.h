/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* table.h - a service's slot table (lb_tables inner map): its size n and its slots, for select_backend(). */
#ifndef __LB_TABLE_H
#define __LB_TABLE_H

#include "lib/maps.h"

#define LB_ENOENT 2

/**
 * lb_table_get - the slot table of @svc, if it has at least one slot.
 * @svc: the service (svc->id indexes lb_tables)
 * @n: set to slot[0], the number of slots (> 0)
 *
 * Returns the inner map, or NULL (no table, or n = 0: no backend).
 */
static __always_inline void *lb_table_get(const struct lb_svc *svc, __u32 *n)
{
	__u32 id = svc->id, zero = 0;
	void *inner;
	__u32 *np;

	inner = bpf_map_lookup_elem(&lb_tables, &id);
	if (!inner)
		return NULL;
	np = bpf_map_lookup_elem(inner, &zero);
	if (!np || !*np)
		return NULL;
	*n = *np;
	return inner;
}

/**
 * lb_table_slot - the backend id in slot @idx (0-based, < n) of a table from lb_table_get().
 * @inner: the table
 * @idx: the slot
 * @backend_id: set on success
 *
 * Returns 0, or -LB_ENOENT if the slot lies outside the inner map.
 */
static __always_inline int lb_table_slot(void *inner, __u32 idx, __u32 *backend_id)
{
	__u32 key = idx + 1;
	__u32 *b = bpf_map_lookup_elem(inner, &key);

	if (!b)
		return -LB_ENOENT;
	*backend_id = *b;
	return 0;
}

#endif /* __LB_TABLE_H */
