// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* xdp_root - the root of an XDP chain ("shared mode", bpf/README.md "Chaining with other XDP
 * programs"): attached to the interface instead of any one program, it tail-calls slot 0 of
 * lb_root_progs. Each program in a slot tail-calls the next slot for what it passes on; an empty
 * slot (or a failed tail call) ends the chain with XDP_PASS. The control plane pins lb_root_progs
 * and every member reuses it by fd before load, so that its tail calls reach the same array. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include "lb_chain.h"

SEC("xdp")
int xdp_root(struct xdp_md *ctx)
{
	bpf_tail_call(ctx, &lb_root_progs, 0);
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
