// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* freplace_drop - an extension program for freplace_target's verdict_slot: answers XDP_DROP, so a
 * test run of the target tells whether the replacement is in place. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

SEC("freplace/verdict_slot")
int drop_slot(struct xdp_md *ctx)
{
	return XDP_DROP;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
