// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* xdp_ext_target - the shape of libxdp's multi-program dispatcher, for `lb doctor`'s probe of
 * extension programs: the entry calls a global (separately verified, BTF-described) function per
 * slot, and a member program is attached by *replacing* such a function with a BPF_PROG_TYPE_EXT
 * ("freplace") program. Unreplaced, the slot answers XDP_PASS. Never attached to an interface. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

__attribute__((noinline)) int ext_slot0(struct xdp_md *ctx)
{
	/* A real call that clang cannot fold: the verdict is read through a volatile. */
	volatile int pass = XDP_PASS;

	return ctx ? pass : XDP_ABORTED;
}

SEC("xdp")
int xdp_ext_target(struct xdp_md *ctx)
{
	return ext_slot0(ctx);
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
