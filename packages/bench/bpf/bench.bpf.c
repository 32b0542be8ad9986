// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* bench.bpf.c - the benchmarks' own programs.
 *
 * xdp_loop: the packet generator, a closed loop that needs no BPF_F_TEST_XDP_LIVE_FRAMES (which
 * some kernels refuse). It runs in native mode on the generator's veth (g0). A fixed number of
 * frames is injected once (AF_PACKET, from the peer's side, so they arrive here first); every
 * frame that comes back from the program under test on the peer (l0) is rewritten in full as the
 * next flow's frame, counted, and XDP_TXed to the peer again. So the frames circulate
 *   g0: xdp_loop --veth--> l0: program under test --XDP_TX or the kernel's forwarding--> g0 ...
 * until userspace sets loop_ctl.stop, after which each returning frame is dropped and counted as
 * stopped (that count is the number of frames still alive in the loop: none may be lost).
 * Every header field is written on every pass: the receiver rewrote MACs, addresses and ports.
 *   flows == 1: one flow (the same five-tuple every time: the established path);
 *   flows == 0: a new flow per frame (source address and port from a per-CPU counter,
 *               2^32 distinct tuples in 198.19.0.0/16);
 *   otherwise:  cycles through `flows` tuples (in the order `stride` gives).
 * Frames that are not the loop's (another length, another protocol) are passed, not counted.
 *
 * xdp_wrap: the "wrapper" method of per-packet timing (run with BPF_PROG_TEST_RUN and repeat R):
 * each iteration restores the original frame (a program under test may have rewritten it, or
 * moved its head to encapsulate), optionally gives it another flow, and tail-calls the program
 * under test (wrap_target[0]). Its own cost is measured the same way with xdp_tx as the target
 * and subtracted, so inserts and NAT rewrites are timed inside one syscall's loop, as an anchor
 * load balancer's figures are, instead of one syscall per packet.
 *   mode 0: the same frame every time;
 *   mode 1: a new flow every time: flow index base + n;
 *   mode 2: flows cycle: index = (n mod flows) * stride mod flows.
 * Flow index i is bench's client(i): source 198.19.(i >> 8 & 255).(i & 255), port 1024 + (i >> 16).
 *
 * xdp_bare: the end-to-end benchmark's ceiling, a bare forwarder in the LB's place: TCP to
 * bare_vip:bare_port goes to one of two backends (by source address and port, no state) with
 * only the MACs rewritten (XDP_TX, as dsr does); everything else is passed. What a forwarder
 * that does nothing else costs on the same topology; xdp-lb is read against it.
 *
 * xdp_stamp: the probe on a backend: records the monotonic time (bpf_ktime_get_ns, the clock of
 * process.hrtime in Node) of the first UDP frame to port stamp_dport and counts them all, then
 * drops them (a UDP port with no listener would otherwise answer with ICMP).
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/udp.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

const volatile __u8 gen_dmac[ETH_ALEN] = {};
const volatile __u8 gen_smac[ETH_ALEN] = {};
const volatile __u32 gen_saddr = 0; /* host order */
const volatile __u32 gen_daddr = 0; /* host order */
const volatile __u16 gen_sport = 1024;
const volatile __u16 gen_dport = 5000;
/* The loop's frames, and the EtherType of the frames injected to start it (IEEE 802 local
 * experimental: nothing else on the link uses it). */
const volatile __u32 gen_frame_len = 60;
#define LOOP_INJECT_ETH_P 0x88B5

/* What userspace changes between and during runs (one entry). */
struct loop_ctl {
	__u32 flows;
	/* With flows > 1: flow = (n mod flows) * stride mod flows. A stride coprime with flows
	 * visits every flow once per cycle, in an order unrelated to the order their conntrack
	 * entries were made in (no help from memory locality). */
	__u32 stride;
	__u32 stop;
	__u32 pad;
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct loop_ctl);
} loop_ctl SEC(".maps");

enum { LOOP_SENT, LOOP_STOPPED, LOOP_SEQ, LOOP_STATS };

/* Per CPU: frames sent on (each one came back from the program under test, or was injected),
 * frames dropped after stop, and the sequence number of generated frames. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, LOOP_STATS);
	__type(key, __u32);
	__type(value, __u64);
} loop_stats SEC(".maps");

#define PORTS 64512 /* source ports 1024..65535 */

static __always_inline __u16 ip_csum(const struct iphdr *ip)
{
	const __u16 *w = (const __u16 *)ip;
	__u32 sum = 0;

#pragma unroll
	for (int i = 0; i < (int)(sizeof(*ip) / 2); i++)
		sum += w[i];
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return (__u16)~sum;
}

static __always_inline void bump(__u32 slot)
{
	__u64 *v = bpf_map_lookup_elem(&loop_stats, &slot);

	if (v)
		*v += 1; /* per-CPU: no other writer */
}

SEC("xdp")
int xdp_loop(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct iphdr *ip = (void *)(eth + 1);
	struct udphdr *udp = (void *)(ip + 1);
	__u32 zero = 0, seq_slot = LOOP_SEQ, flow = 0, len;
	struct loop_ctl *c;
	__u64 *seq, n = 0;

	if ((void *)(udp + 1) > data_end)
		return XDP_PASS;
	len = (__u32)(data_end - data);
	if (len != gen_frame_len)
		return XDP_PASS;
	if (eth->h_proto != bpf_htons(LOOP_INJECT_ETH_P) &&
	    (eth->h_proto != bpf_htons(ETH_P_IP) || ip->protocol != IPPROTO_UDP))
		return XDP_PASS;
	c = bpf_map_lookup_elem(&loop_ctl, &zero);
	if (!c)
		return XDP_PASS;
	if (c->stop) {
		bump(LOOP_STOPPED);
		return XDP_DROP;
	}

	seq = bpf_map_lookup_elem(&loop_stats, &seq_slot);
	if (seq)
		n = (*seq)++;
	if (c->flows == 0)
		flow = (__u32)n ^ (bpf_get_smp_processor_id() << 28);
	else if (c->flows > 1)
		flow = (__u32)(((n % c->flows) * (__u64)c->stride) % c->flows);

	/* Byte by byte: each read of the volatile rodata stays a read (a memcpy from a cast would
	 * let the compiler fold the zero initialiser). */
#pragma unroll
	for (int i = 0; i < ETH_ALEN; i++) {
		eth->h_dest[i] = gen_dmac[i];
		eth->h_source[i] = gen_smac[i];
	}
	eth->h_proto = bpf_htons(ETH_P_IP);

	ip->version = 4;
	ip->ihl = 5;
	ip->tos = 0;
	ip->tot_len = bpf_htons((__u16)(len - sizeof(*eth)));
	ip->id = bpf_htons((__u16)n);
	ip->frag_off = 0;
	ip->ttl = 64;
	ip->protocol = IPPROTO_UDP;
	ip->check = 0;
	ip->saddr = bpf_htonl(gen_saddr + ((flow / PORTS) & 0xffff)); /* stays in gen_saddr's /16 */
	ip->daddr = bpf_htonl(gen_daddr);
	ip->check = ip_csum(ip);

	udp->source = bpf_htons((__u16)(gen_sport + flow % PORTS));
	udp->dest = bpf_htons(gen_dport);
	udp->len = bpf_htons((__u16)(len - sizeof(*eth) - sizeof(*ip)));
	udp->check = 0; /* "no checksum": valid for UDP over IPv4 */
	bump(LOOP_SENT);
	return XDP_TX;
}

/* The frames the wrapper restores are bench's TCP frames: Ethernet + IPv4 + TCP + 10 bytes. */
#define WRAP_LEN 64

struct wrap_frame {
	__u8 data[WRAP_LEN];
};

struct wrap_ctl {
	__u32 mode;
	__u32 base;
	__u32 flows;
	__u32 stride;
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct wrap_frame);
} wrap_frame SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct wrap_ctl);
} wrap_ctl SEC(".maps");

/* The iteration number n of the current run. Not per CPU: BPF_PROG_TEST_RUN yields between
 * iterations when another task wants the CPU (cond_resched), and the run may go on on another
 * CPU; a per-CPU counter then started again at 0 there, so "a new flow every time" sent flows
 * of the same run again (SYNs of its own half-open flows: fewer ct_new and ct_half_open than
 * iterations, seen on the busy 2-core machine in about one run in ten of 2M iterations). One
 * run at a time uses it (the benchmarks run serially): a plain increment suffices. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} wrap_seq SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} wrap_target SEC(".maps");

SEC("xdp")
int xdp_wrap(struct xdp_md *ctx)
{
	__u32 zero = 0, idx = 0;
	struct wrap_frame *f = bpf_map_lookup_elem(&wrap_frame, &zero);
	struct wrap_ctl *c = bpf_map_lookup_elem(&wrap_ctl, &zero);
	__u64 *seq = bpf_map_lookup_elem(&wrap_seq, &zero);
	void *data, *data_end;
	struct iphdr *ip;
	struct tcphdr_ports {
		__be16 source;
		__be16 dest;
	} *ports;
	__u64 n;

	if (!f || !c || !seq)
		return XDP_ABORTED;
	/* Back to WRAP_LEN bytes from wherever the last run left the head (always called, with 0
	 * when nothing moved, so every mode costs the same). */
	data = (void *)(long)ctx->data;
	data_end = (void *)(long)ctx->data_end;
	if (bpf_xdp_adjust_head(ctx, (int)(data_end - data) - WRAP_LEN))
		return XDP_ABORTED;
	data = (void *)(long)ctx->data;
	data_end = (void *)(long)ctx->data_end;
	if (data + WRAP_LEN > data_end)
		return XDP_ABORTED;
	__builtin_memcpy(data, f->data, WRAP_LEN);

	n = (*seq)++;
	if (c->mode == 1)
		idx = c->base + (__u32)n;
	else if (c->mode == 2 && c->flows)
		idx = (__u32)(((n % c->flows) * (__u64)c->stride) % c->flows);
	if (c->mode) {
		ip = data + sizeof(struct ethhdr);
		ports = (void *)(ip + 1);
		if ((void *)(ports + 1) > data_end)
			return XDP_ABORTED;
		((__u8 *)&ip->saddr)[2] = (__u8)(idx >> 8);
		((__u8 *)&ip->saddr)[3] = (__u8)idx;
		ports->source = bpf_htons((__u16)(1024 + (idx >> 16)));
		ip->check = 0;
		ip->check = ip_csum(ip);
	}
	bpf_tail_call(ctx, &wrap_target, 0);
	return XDP_ABORTED;
}

const volatile __u32 bare_vip = 0;   /* host order */
const volatile __u16 bare_port = 80; /* host order */
const volatile __u8 bare_smac[ETH_ALEN] = {};
const volatile __u8 bare_mac0[ETH_ALEN] = {};
const volatile __u8 bare_mac1[ETH_ALEN] = {};

SEC("xdp")
int xdp_bare(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct iphdr *ip = (void *)(eth + 1);
	__be16 *ports = (void *)(ip + 1);
	__u32 k;

	if ((void *)(ports + 2) > data_end || eth->h_proto != bpf_htons(ETH_P_IP) || ip->ihl != 5 ||
	    ip->protocol != IPPROTO_TCP || ip->daddr != bpf_htonl(bare_vip) || ports[1] != bpf_htons(bare_port))
		return XDP_PASS;
	k = (bpf_ntohl(ip->saddr) ^ bpf_ntohs(ports[0])) & 1;
#pragma unroll
	for (int i = 0; i < ETH_ALEN; i++) {
		eth->h_dest[i] = k ? bare_mac1[i] : bare_mac0[i];
		eth->h_source[i] = bare_smac[i];
	}
	return XDP_TX;
}

const volatile __u16 stamp_dport = 5000;

struct stamp {
	__u64 first_ns;
	__u64 packets;
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct stamp);
} stamp_map SEC(".maps");

SEC("xdp")
int xdp_stamp(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct iphdr *ip = (void *)(eth + 1);
	struct udphdr *udp = (void *)(ip + 1);
	struct stamp *s;
	__u32 zero = 0;

	if ((void *)(udp + 1) > data_end || eth->h_proto != bpf_htons(ETH_P_IP) || ip->ihl != 5 ||
	    ip->protocol != IPPROTO_UDP || udp->dest != bpf_htons(stamp_dport))
		return XDP_PASS;
	s = bpf_map_lookup_elem(&stamp_map, &zero);
	if (s) {
		__sync_val_compare_and_swap(&s->first_ns, 0, bpf_ktime_get_ns());
		__sync_fetch_and_add(&s->packets, 1);
	}
	return XDP_DROP;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
