// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* live_frames - fixture for BPF_F_TEST_XDP_LIVE_FRAMES: xdp_tx_all sends every generated frame out
 * of the ingress veth; xdp_count_probe on the peer counts the frames that carry the test's
 * EtherType (so IPv6 neighbour discovery on the fresh link is not counted) and passes all;
 * xdp_drop_all lets a live-frames run be tried where nothing may be sent (the probe's cross-check). */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

/* IEEE 802 local experimental EtherType, used only by the test's frames. */
#define PROBE_ETH_P 0x88B5

/* Slot 0: probe frames received. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, __u64);
	__uint(max_entries, 1);
} t_probe_rx SEC(".maps");

SEC("xdp")
int xdp_tx_all(struct xdp_md *ctx)
{
	return XDP_TX;
}

SEC("xdp")
int xdp_drop_all(struct xdp_md *ctx)
{
	return XDP_DROP;
}

SEC("xdp")
int xdp_count_probe(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	__u32 slot = 0;
	__u64 *count;

	if ((void *)(eth + 1) > data_end || eth->h_proto != bpf_htons(PROBE_ETH_P))
		return XDP_PASS;
	count = bpf_map_lookup_elem(&t_probe_rx, &slot);
	if (count)
		__sync_fetch_and_add(count, 1);
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
