// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* freplace_target - fixture for extension tests: an XDP program whose verdict comes from a global
 * (BTF-described, separately verified) function, the shape of a dispatcher's slot. Until replaced
 * the slot answers XDP_PASS; the entry turns a slot's XDP_ABORTED into nothing special. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

__attribute__((noinline)) int verdict_slot(struct xdp_md *ctx)
{
	/* volatile: keeps clang from folding the call away; a slot must stay a real call. */
	volatile int verdict = XDP_PASS;

	if (!ctx)
		return XDP_ABORTED;
	return verdict;
}

SEC("xdp")
int xdp_slotted(struct xdp_md *ctx)
{
	return verdict_slot(ctx);
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
