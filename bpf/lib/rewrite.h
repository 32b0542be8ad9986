/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* rewrite.h - address and port rewrites of an IP header and the TCP/UDP header after it, with
 * incremental checksums, for either family: the NAT rewrites of a packet and of the packet quoted in
 * an ICMP error use the same two helpers.
 *
 * Each helper returns the diff (csum.h) of the bytes it changed, so that a checksum over an
 * enclosing region (an ICMP message quoting the header) can be patched too.
 */
#ifndef __LB_REWRITE_H
#define __LB_REWRITE_H

#include "lib/common.h"
#include "lib/csum.h"

/**
 * lb_l3_rewrite - replace the source and destination address of the IP header at @l3.
 * @l3: an IPv4 or IPv6 header in the packet
 * @data_end: the packet's end
 * @v6: the header's family
 * @saddr: the new source (IPv4: mapped)
 * @daddr: the new destination
 * @pseudo: set to the diff of the addresses (what a TCP/UDP/ICMPv6 pseudo-header sum changes by)
 *
 * IPv4: the header checksum is patched. Returns the diff of the header's bytes (IPv4: addresses and
 * checksum field, which cancel out for a header whose checksum was right; IPv6: the addresses), or
 * -1 (as u64) when the header does not fit in the packet.
 */
static __always_inline __s64 lb_l3_rewrite(void *l3, void *data_end, int v6, const struct lb_addr *saddr,
					   const struct lb_addr *daddr, __u32 *pseudo)
{
	__u32 d;

	if (!v6) {
		struct iphdr *ip = l3;
		__sum16 old;

		if ((void *)(ip + 1) > data_end)
			return -1;
		d = lb_csum_diff4(0, ip->saddr, saddr->w[3]);
		d = lb_csum_diff4(d, ip->daddr, daddr->w[3]);
		ip->saddr = saddr->w[3];
		ip->daddr = daddr->w[3];
		old = ip->check;
		ip->check = lb_csum_apply(old, d);
		*pseudo = d;
		return lb_csum_diff2(d, old, ip->check);
	} else {
		struct ipv6hdr *ip6 = l3;
		__be32 *s, *t;

		if ((void *)(ip6 + 1) > data_end)
			return -1;
		s = ip6->saddr.in6_u.u6_addr32;
		t = ip6->daddr.in6_u.u6_addr32;
		d = lb_csum_diff16(0, s, saddr);
		d = lb_csum_diff16(d, t, daddr);
#pragma unroll
		for (int i = 0; i < 4; i++) {
			s[i] = saddr->w[i];
			t[i] = daddr->w[i];
		}
		*pseudo = d;
		return d;
	}
}

/**
 * lb_l4_rewrite - replace the ports of the TCP or UDP header at @l4 and patch its checksum.
 * @l4: the header (at least its 4 port bytes must be in the packet)
 * @data_end: the packet's end
 * @proto: IPPROTO_TCP or IPPROTO_UDP
 * @sport: the new source port
 * @dport: the new destination port
 * @pseudo: the diff of the pseudo-header (lb_l3_rewrite)
 * @partial: 1 for a header quoted in an ICMP error, which may be cut short: the checksum is
 *	     patched only if it is present; 0: it must be (else nothing is written)
 *
 * A UDP checksum of 0 ("none") stays 0. Returns the diff of the header's bytes (ports and
 * checksum field), or -1 when the header does not fit.
 */
static __always_inline __s64 lb_l4_rewrite(void *l4, void *data_end, __u8 proto, __be16 sport,
					   __be16 dport, __u32 pseudo, int partial)
{
	__be16 *ports = l4;
	__sum16 *csum, old;
	__u32 d;

	if ((void *)(ports + 2) > data_end)
		return -1;
	csum = proto == IPPROTO_TCP ? (__sum16 *)(l4 + 16) : (__sum16 *)(l4 + 6);
	if ((void *)(csum + 1) > data_end) {
		if (!partial)
			return -1;
		csum = NULL;
	}
	d = lb_csum_diff2(0, ports[0], sport);
	d = lb_csum_diff2(d, ports[1], dport);
	ports[0] = sport;
	ports[1] = dport;
	if (!csum)
		return d;
	old = *csum;
	if (proto == IPPROTO_UDP)
		*csum = lb_csum_apply_udp(old, lb_csum_add(d, pseudo));
	else
		*csum = lb_csum_apply(old, lb_csum_add(d, pseudo));
	return lb_csum_diff2(d, old, *csum);
}

#endif /* __LB_REWRITE_H */
