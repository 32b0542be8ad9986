/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* csum.h - Internet checksum arithmetic: RFC 1624 incremental updates, and full sums for new headers.
 *
 * Incremental updates use RFC 1624 eqn. 3, HC' = ~(~HC + ~m + m'), on a 32-bit one's complement
 * accumulator (a "diff") that collects every change of a packet first and is then applied once to
 * each checksum it affects: the IPv4 header checksum takes the address changes, the TCP/UDP
 * checksum takes the address changes (pseudo-header) and the port changes.
 */
#ifndef __LB_CSUM_H
#define __LB_CSUM_H

#include "lib/common.h"

/**
 * lb_csum_add - one's complement addition of two 32-bit partial sums (end-around carry).
 * @a: a partial sum
 * @b: another partial sum
 */
static __always_inline __u32 lb_csum_add(__u32 a, __u32 b)
{
	__u32 r = a + b;

	return r + (r < b);
}

/**
 * lb_csum_fold - fold a 32-bit partial sum to 16 bits (not complemented).
 * @sum: the partial sum
 */
static __always_inline __u16 lb_csum_fold(__u32 sum)
{
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return (__u16)sum;
}

/**
 * lb_csum_diff4 - add the replacement of a 32-bit field to a diff.
 * @diff: the accumulated diff
 * @from: the old value (as it sits in the packet, network order)
 * @to: the new value (network order)
 */
static __always_inline __u32 lb_csum_diff4(__u32 diff, __be32 from, __be32 to)
{
	return lb_csum_add(lb_csum_add(diff, ~from), to);
}

/**
 * lb_csum_diff2 - add the replacement of a 16-bit field to a diff.
 * @diff: the accumulated diff
 * @from: the old value (network order)
 * @to: the new value (network order)
 */
static __always_inline __u32 lb_csum_diff2(__u32 diff, __be16 from, __be16 to)
{
	return lb_csum_add(lb_csum_add(diff, (__u16)~from), to);
}

/**
 * lb_csum_diff_addr - add the replacement of a 16-byte ABI address to a diff.
 * @diff: the accumulated diff
 * @from: the old address
 * @to: the new address
 *
 * For two IPv4-mapped addresses the first three words cancel; they are still summed so that the
 * same code serves IPv6.
 */
static __always_inline __u32 lb_csum_diff_addr(__u32 diff, const struct lb_addr *from,
					       const struct lb_addr *to)
{
	if (lb_addr_is_v4(from) && lb_addr_is_v4(to))
		return lb_csum_diff4(diff, from->w[3], to->w[3]);
#pragma unroll
	for (int i = 0; i < 4; i++)
		diff = lb_csum_diff4(diff, from->w[i], to->w[i]);
	return diff;
}

/**
 * lb_csum_diff16 - add the replacement of a 16-byte address in a packet to a diff.
 * @diff: the accumulated diff
 * @from: the address in the packet (four 32-bit words, network order)
 * @to: the new address
 */
static __always_inline __u32 lb_csum_diff16(__u32 diff, const __be32 *from, const struct lb_addr *to)
{
#pragma unroll
	for (int i = 0; i < 4; i++)
		diff = lb_csum_diff4(diff, from[i], to->w[i]);
	return diff;
}

/**
 * lb_csum_apply - apply a diff to a checksum field (RFC 1624 eqn. 3).
 * @csum: the checksum as it sits in the packet
 * @diff: the accumulated diff of every field this checksum covers
 *
 * Returns the new checksum, in packet byte order.
 */
static __always_inline __sum16 lb_csum_apply(__sum16 csum, __u32 diff)
{
	return (__sum16)~lb_csum_fold(lb_csum_add((__u16)~csum, diff));
}

/**
 * lb_csum_apply_nz - lb_csum_apply that never yields 0x0000 (ICMP, ICMPv6).
 * @csum: the checksum as it sits in the packet
 * @diff: the accumulated diff
 *
 * Eqn. 3 yields 0x0000 when the covered bytes sum to zero; 0xffff (one's complement -0) is right
 * for every such sum, 0x0000 is not when every covered byte is zero: an echo reply with id 0, seq
 * 0 and no payload must carry ~0 = 0xffff (a receiver adds the field and wants all ones; Linux
 * drops the 0x0000 that eqn. 3 gives).
 */
static __always_inline __sum16 lb_csum_apply_nz(__sum16 csum, __u32 diff)
{
	__sum16 r = lb_csum_apply(csum, diff);

	return r ? r : (__sum16)0xffff;
}

/**
 * lb_csum_apply_udp - lb_csum_apply for a UDP checksum.
 * @csum: the checksum as it sits in the packet
 * @diff: the accumulated diff
 *
 * A zero UDP checksum means "none" (IPv4) and stays zero; a computed zero is sent as 0xffff
 * (RFC 768), which a one's complement receiver reads as the same value.
 */
static __always_inline __sum16 lb_csum_apply_udp(__sum16 csum, __u32 diff)
{
	if (!csum)
		return 0;
	return lb_csum_apply_nz(csum, diff);
}

/**
 * lb_csum_ipv4_full - the complete checksum of a new 20-byte IPv4 header (encapsulation).
 * @iph: the header, its check field zero (in the packet, bounds checked by the caller)
 *
 * Summed inline as five 32-bit words with end-around carry (the one's complement sum does not
 * depend on how the 16-bit words are grouped): no bpf_csum_diff call (about 8 ns a packet on the
 * ipip path). Incremental updates are for rewritten headers.
 */
static __always_inline __sum16 lb_csum_ipv4_full(struct iphdr *iph)
{
	const __u32 *w = (const __u32 *)iph;
	__u64 sum = (__u64)w[0] + w[1] + w[2] + w[3] + w[4];

	sum = (sum & 0xffffffffULL) + (sum >> 32);
	sum = (sum & 0xffffffffULL) + (sum >> 32);
	return (__sum16)~lb_csum_fold((__u32)sum);
}

#endif /* __LB_CSUM_H */
