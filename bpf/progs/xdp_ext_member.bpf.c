// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* xdp_ext_member - a member for xdp_ext_target's slot 0, loaded as BPF_PROG_TYPE_EXT: it answers
 * XDP_TX, so a test run of the target shows whether the replacement really runs (`lb doctor`). */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

SEC("freplace/ext_slot0")
int xdp_ext_member(struct xdp_md *ctx)
{
	return XDP_TX;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
