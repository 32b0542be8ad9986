// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* ring_out - fixture for RingBuffer: each run puts the frame's first 8 bytes into the ring `records`
 * as one record (XDP_PASS); a frame shorter than that, or a full ring, gives XDP_DROP. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 4096);
} records SEC(".maps");

SEC("xdp")
int xdp_ring_out(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	__u64 v;

	if (data + sizeof(v) > data_end)
		return XDP_DROP;
	__builtin_memcpy(&v, data, sizeof(v));
	return bpf_ringbuf_output(&records, &v, sizeof(v), 0) ? XDP_DROP : XDP_PASS;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
