/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* lb_hash.h - the flow hash, shared bit for bit with the TypeScript reference model
 * (packages/strategies/hash/src/flow-hash.ts). MurmurHash3 x86_32 over 32-bit words.
 *
 * Words are the raw bytes of the input read as little-endian u32 (x86-64 and arm64 hosts; the
 * model does the same with DataView.getUint32(i, true)). Linux hands out even source ports first,
 * so nothing may depend on low bits of a port: every bit of the tuple goes through the mix.
 */
#ifndef __LB_HASH_H
#define __LB_HASH_H

#include <linux/types.h>

static __always_inline __u32 lb_rotl32(__u32 x, int r)
{
	return (x << r) | (x >> (32 - r));
}

/* One murmur3 block: mix word @k into state @h. */
static __always_inline __u32 lb_murmur_step(__u32 h, __u32 k)
{
	k *= 0xcc9e2d51U;
	k = lb_rotl32(k, 15);
	k *= 0x1b873593U;
	h ^= k;
	h = lb_rotl32(h, 13);
	return h * 5 + 0xe6546b64U;
}

/* murmur3's finaliser: full avalanche of a 32-bit value. */
static __always_inline __u32 lb_fmix32(__u32 h)
{
	h ^= h >> 16;
	h *= 0x85ebca6bU;
	h ^= h >> 13;
	h *= 0xc2b2ae35U;
	h ^= h >> 16;
	return h;
}

/**
 * lb_hash_words - murmur3_x86_32 of @n little-endian words (n * 4 bytes).
 * @w: the words
 * @n: how many (a compile-time constant at every call site, so the loop unrolls)
 * @seed: per-deployment seed (rodata hash_seed); equal on every LB node of a cluster
 */
static __always_inline __u32 lb_hash_words(const __u32 *w, const int n, __u32 seed)
{
	__u32 h = seed;
	int i;

#pragma unroll
	for (i = 0; i < n; i++)
		h = lb_murmur_step(h, w[i]);
	h ^= (__u32)(n * 4);
	return lb_fmix32(h);
}

/* Flow hash inputs: the whole struct lb_flow (10 words: 5-tuple, zero padding), or, for services
 * with LB_SVC_F_HASH_SRC, the source address only (4 words). */
#define LB_FLOW_WORDS 10
#define LB_SRC_WORDS 4

/* lb_ft_hash's seed is hash_seed ^ this: the flow table's bucket index and outer source never line
 * up with the strategies' flow hash (a strategy's choice does not predict the bucket). */
#define LB_FT_SALT 0x7f4a7c15U

/**
 * lb_ft_hash - the flow table's hash of an IPv4 flow (lb_ft4, bpf/lib/flowtab.h): murmur3_x86_32 of
 * 4 words, bit for bit packages/core/src/dataplane/flowtab.ts. Its low bits name the bucket
 * (& ft_mask); it is also the outer source hash of the flow's ipip/gue packets (lib/encap.h), so an
 * lb_ft4 flow keeps no encap_hash: the lookup computes it anyway.
 * @saddr: source address (network order, as in the packet)
 * @daddr: destination address
 * @ports: the source and destination ports as they lie in the TCP/UDP header (sport in the low
 *	   16 bits of the little-endian word)
 * @proto: IPPROTO_TCP or IPPROTO_UDP
 * @seed: rodata hash_seed
 */
static __always_inline __u32 lb_ft_hash(__u32 saddr, __u32 daddr, __u32 ports, __u32 proto, __u32 seed)
{
	__u32 h = seed ^ LB_FT_SALT;

	h = lb_murmur_step(h, saddr);
	h = lb_murmur_step(h, daddr);
	h = lb_murmur_step(h, ports);
	h = lb_murmur_step(h, proto);
	return lb_fmix32(h ^ 16U);
}

/**
 * lb_addr_slot - the lb_addr_slots index of an address (bit for bit packages/core/src/dataplane/
 * abi.ts addrSlot(), and bpf/tests/harness/abi.ts addrSlot()): the XOR of its 4 little-endian
 * words, times 0x9E3779B1 (Fibonacci hashing), top @bits bits. Cheap on purpose: it runs for every
 * packet and only has to spread the few addresses an LB answers for (a collision costs the
 * lb_addrs lookup, never a wrong answer). An IPv4-mapped address gives its IPv4 word XOR a
 * constant, so the addresses of one /24 never collide (their last octet, bits 24-31 of the word,
 * goes one to one onto the top 8 bits of the product).
 * @w: the address's 4 words (struct lb_addr)
 * @bits: log2 of the table size (LB_ADDR_SLOT_BITS), 1..31
 */
static __always_inline __u32 lb_addr_slot(const __u32 *w, int bits)
{
	return ((w[0] ^ w[1] ^ w[2] ^ w[3]) * 0x9E3779B1U) >> (32 - bits);
}

#endif /* __LB_HASH_H */
