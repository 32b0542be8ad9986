// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* rejected - fixture for load errors: reads the packet without a bounds check, which the verifier
 * must refuse ("invalid access to packet"). It compiles; only the kernel says no. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

SEC("xdp")
int xdp_unchecked(struct xdp_md *ctx)
{
	unsigned char *data = (void *)(long)ctx->data;

	return data[0] == 0 ? XDP_DROP : XDP_PASS;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
