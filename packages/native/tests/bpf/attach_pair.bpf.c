// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* attach_pair - fixture for attach tests: two distinct programs to attach, swap with
 * BpfLink.update and tell apart by id; both pass every frame so the interface keeps working. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

SEC("xdp")
int xdp_first(struct xdp_md *ctx)
{
	return XDP_PASS;
}

SEC("xdp")
int xdp_second(struct xdp_md *ctx)
{
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
