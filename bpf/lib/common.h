/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* common.h - what every data-plane header needs: includes, the return convention, lb_addr helpers. */
#ifndef __LB_COMMON_H
#define __LB_COMMON_H

#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/tcp.h>
#include <linux/udp.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#include "lb_abi.h"
#include "lb_hash.h"

/* The one return convention: a helper returns an XDP_* verdict, or LB_CONTINUE to go on.
 * A helper that returns a verdict has set lb_ctx.reason (see lb.bpf.h). */
#define LB_CONTINUE (-1)

/* "No service / no backend to charge this packet to" (stats). */
#define LB_NONE 0xffffffffU

#ifndef likely
#define likely(x) __builtin_expect(!!(x), 1)
#endif
#ifndef unlikely
#define unlikely(x) __builtin_expect(!!(x), 0)
#endif

#define LB_READ_ONCE(x) (*(const volatile typeof(x) *)&(x))
#define LB_WRITE_ONCE(x, v) (*(volatile typeof(x) *)&(x) = (v))
#define lb_barrier() asm volatile("" ::: "memory")

#define LB_NSEC_PER_SEC 1000000000ULL

/* An IPv4 address as the ABI's 16-byte address: IPv4-mapped IPv6 (::ffff:a.b.c.d). */
static __always_inline void lb_addr_set_v4(struct lb_addr *a, __be32 ip4)
{
	a->w[0] = 0;
	a->w[1] = 0;
	a->w[2] = bpf_htonl(0xffff);
	a->w[3] = ip4;
}

static __always_inline int lb_addr_is_v4(const struct lb_addr *a)
{
	return a->w[0] == 0 && a->w[1] == 0 && a->w[2] == bpf_htonl(0xffff);
}

static __always_inline int lb_addr_eq(const struct lb_addr *a, const struct lb_addr *b)
{
	return ((a->w[0] ^ b->w[0]) | (a->w[1] ^ b->w[1]) | (a->w[2] ^ b->w[2]) |
		(a->w[3] ^ b->w[3])) == 0;
}

/* MAC copies as one 32-bit and one 16-bit access: __builtin_memcpy of 6 bytes whose alignment
 * clang cannot prove is 12 byte loads and stores. Every MAC here (Ethernet header, lb_nh, lb_ct,
 * lb_mac) sits at an even offset, and BPF on x86-64 and arm64 allows unaligned accesses to packets
 * and map values; the stack is the exception (the verifier checks its alignment), so a MAC on the
 * stack must be a 4-aligned struct lb_mac. */
static __always_inline void lb_mac_copy(__u8 *dst, const __u8 *src)
{
	*(__u32 *)dst = *(const __u32 *)src;
	*(__u16 *)(dst + 4) = *(const __u16 *)(src + 4);
}

/* Both MACs of @eth from next hop @nh: lb_nh's dmac, smac are the Ethernet header's first 12
 * bytes in the same order, so three 32-bit copies (the DSR rewrite is nothing else). */
static __always_inline void lb_macs_set(struct ethhdr *eth, const struct lb_nh *nh)
{
	__u32 *d = (__u32 *)eth;
	const __u32 *s = (const __u32 *)nh;

	d[0] = s[0];
	d[1] = s[1];
	d[2] = s[2];
}

static __always_inline int lb_mac_eq(const __u8 *a, const __u8 *b)
{
	return (*(const __u32 *)a == *(const __u32 *)b) &&
	       (*(const __u16 *)(a + 4) == *(const __u16 *)(b + 4));
}

#endif /* __LB_COMMON_H */
