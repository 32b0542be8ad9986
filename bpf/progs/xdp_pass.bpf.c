// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* xdp_pass - passes every frame. Put on the peer of a veth that runs native XDP: veth hands
 * XDP_TX'd and redirected frames only to a peer that runs an XDP program (GRO alone is not enough). */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

SEC("xdp")
int xdp_pass(struct xdp_md *ctx)
{
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
