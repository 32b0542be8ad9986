// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* lbtest - smoke test of a strategy object through BPF_PROG_TEST_RUN, without Node: loads the
 * object with libbpf, fills the maps, runs a fixture table of packets (description, input, expected
 * verdict, expected output) and checks every output's IPv4/TCP/UDP checksums from scratch.
 * The TypeScript packet suite is the product's test; this is the data plane's own quick check.
 *
 *   bpf/tools/run.sh                                          (builds, runs all of the below)
 *   bpf/tools/lbtest OBJECT                                   (static next hops, no netns needed)
 *   bpf/tools/lbtest OBJECT --exhaustion                      (a 2-port SNAT range)
 *   bpf/tools/lbtest OBJECT --fib IFINDEX_IN IFINDEX_OTHER     (inside run.sh's netns)
 *   bpf/tools/lbtest OBJECT --bench                           (rough ns per packet)
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include "lb_abi.h"
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunknown-pragmas" /* clang's #pragma unroll */
#include "lb_hash.h"                               /* lb_addr_slot(), as the data plane computes it */
#pragma GCC diagnostic pop

/* ---------- packets ---------- */

struct pkt {
	uint8_t b[512];
	uint32_t len;
};

static const uint8_t MAC_CLIENT[6] = { 0x02, 0, 0, 0, 0, 0x01 };
static const uint8_t MAC_LB[6] = { 0x02, 0, 0, 0, 0, 0x0b };
static const uint8_t MAC_BE1[6] = { 0x02, 0, 0, 0, 0, 0xb1 };
static const uint8_t MAC_BE2[6] = { 0x02, 0, 0, 0, 0, 0xb2 };
static const uint8_t MAC_LB2[6] = { 0x02, 0, 0, 0, 0, 0x2b };

struct spec {
	const uint8_t *dmac, *smac;
	int vlan;          /* 0: untagged */
	uint16_t ethertype; /* default IPv4 */
	const char *src, *dst;
	uint8_t proto;
	uint16_t sport, dport;
	uint8_t tcp_flags;
	int ihl;          /* default 5 */
	uint16_t frag;    /* frag_off host order */
	int udp_csum0;    /* UDP without checksum */
	int payload;      /* bytes */
};

static uint32_t sum16(const void *p, size_t n, uint32_t s)
{
	const uint8_t *b = p;
	for (size_t i = 0; i + 1 < n; i += 2)
		s += (b[i] << 8) | b[i + 1];
	if (n & 1)
		s += b[n - 1] << 8;
	return s;
}

static uint16_t fold(uint32_t s)
{
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)s;
}

/* Offsets of a built/received IPv4 packet. */
static int l3off(const struct pkt *p)
{
	uint16_t et = (p->b[12] << 8) | p->b[13];
	return (et == 0x8100 || et == 0x88a8) ? 18 : 14;
}

static uint32_t pseudo(const struct pkt *p, int l3, int l4len)
{
	uint32_t s = sum16(p->b + l3 + 12, 8, 0);
	return s + p->b[l3 + 9] + l4len;
}

static void fill_csums(struct pkt *p)
{
	int l3 = l3off(p), ihl = (p->b[l3] & 0xf) * 4;
	int tot = (p->b[l3 + 2] << 8) | p->b[l3 + 3];
	uint8_t *ip = p->b + l3, *l4 = ip + ihl;
	int l4len = tot - ihl;
	uint16_t c;

	ip[10] = ip[11] = 0;
	c = ~fold(sum16(ip, ihl, 0));
	ip[10] = c >> 8, ip[11] = c;
	if (((ip[6] << 8 | ip[7]) & 0x1fff) || (ip[6] & 0x20))
		return; /* fragments: leave L4 as built */
	if (ip[9] == IPPROTO_TCP) {
		l4[16] = l4[17] = 0;
		c = ~fold(sum16(l4, l4len, pseudo(p, l3, l4len)));
		l4[16] = c >> 8, l4[17] = c;
	} else if (ip[9] == IPPROTO_UDP && (l4[6] | l4[7])) {
		l4[6] = l4[7] = 0;
		c = ~fold(sum16(l4, l4len, pseudo(p, l3, l4len)));
		if (!c)
			c = 0xffff;
		l4[6] = c >> 8, l4[7] = c;
	}
}

static struct pkt build(struct spec s)
{
	struct pkt p = { 0 };
	uint8_t *b = p.b;
	int o = 14, ihl = s.ihl ? s.ihl : 5, l4len, tot;
	uint32_t a;

	memcpy(b, s.dmac ? s.dmac : MAC_LB, 6);
	memcpy(b + 6, s.smac ? s.smac : MAC_CLIENT, 6);
	if (s.vlan) {
		b[12] = 0x81, b[13] = 0x00, b[14] = s.vlan >> 8, b[15] = s.vlan;
		o = 18;
	}
	uint16_t et = s.ethertype ? s.ethertype : ETH_P_IP;
	b[o - 2] = et >> 8, b[o - 1] = et;
	if (et != ETH_P_IP) { /* ARP / IPv6: a recognisable body */
		for (int i = 0; i < 46; i++)
			b[o + i] = 0x60 + i;
		p.len = o + 46;
		return p;
	}
	l4len = s.proto == IPPROTO_TCP ? 20 : s.proto == IPPROTO_UDP ? 8 : 8;
	tot = ihl * 4 + l4len + s.payload;
	uint8_t *ip = b + o;
	ip[0] = 0x40 | ihl;
	ip[2] = tot >> 8, ip[3] = tot;
	ip[4] = 0x12, ip[5] = 0x34;
	ip[6] = s.frag >> 8, ip[7] = s.frag;
	ip[8] = 64;
	ip[9] = s.proto;
	inet_pton(AF_INET, s.src, &a), memcpy(ip + 12, &a, 4);
	inet_pton(AF_INET, s.dst, &a), memcpy(ip + 16, &a, 4);
	for (int i = 20; i < ihl * 4; i++)
		ip[i] = 0x01; /* NOP options */
	uint8_t *l4 = ip + ihl * 4;
	l4[0] = s.sport >> 8, l4[1] = s.sport, l4[2] = s.dport >> 8, l4[3] = s.dport;
	if (s.proto == IPPROTO_TCP) {
		l4[4] = 0xaa, l4[7] = 0x01; /* seq */
		l4[12] = 5 << 4;
		l4[13] = s.tcp_flags ? s.tcp_flags : 0x10;
		l4[14] = 0xff, l4[15] = 0xff;
	} else if (s.proto == IPPROTO_UDP) {
		l4[4] = (8 + s.payload) >> 8, l4[5] = 8 + s.payload;
		l4[6] = s.udp_csum0 ? 0 : 1;
	} else { /* ICMP echo */
		l4[0] = 8, l4[1] = 0;
	}
	for (int i = 0; i < s.payload; i++)
		l4[l4len + i] = 'a' + i % 26;
	p.len = o + tot;
	fill_csums(&p);
	return p;
}

/* Checksums verified from scratch: IPv4 header, TCP/UDP with pseudo-header. */
static const char *check_csums(const struct pkt *p)
{
	int l3 = l3off(p);
	const uint8_t *ip = p->b + l3;
	int ihl = (ip[0] & 0xf) * 4, tot = (ip[2] << 8) | ip[3];
	const uint8_t *l4 = ip + ihl;

	if (fold(sum16(ip, ihl, 0)) != 0xffff)
		return "bad IPv4 header checksum";
	if (((ip[6] << 8 | ip[7]) & 0x3fff))
		return NULL; /* a fragment: its L4 checksum covers the whole datagram */
	if (ip[9] == IPPROTO_TCP && fold(sum16(l4, tot - ihl, pseudo(p, l3, tot - ihl))) != 0xffff)
		return "bad TCP checksum";
	if (ip[9] == IPPROTO_UDP && (l4[6] | l4[7]) &&
	    fold(sum16(l4, tot - ihl, pseudo(p, l3, tot - ihl))) != 0xffff)
		return "bad UDP checksum";
	return NULL;
}

/* ---------- the object ---------- */

static struct bpf_object *obj;
static int prog_fd;
static int ingress_ifindex = 1; /* BPF_PROG_TEST_RUN's default ingress: loopback */

static int mapfd(const char *name)
{
	struct bpf_map *m = bpf_object__find_map_by_name(obj, name);
	if (!m) {
		fprintf(stderr, "no map %s\n", name);
		exit(2);
	}
	return bpf_map__fd(m);
}

/* Set a rodata knob by name before load, as the control plane's setVariable() does. */
static void set_var(const char *name, const void *val, size_t size)
{
	struct btf *btf = bpf_object__btf(obj);
	struct bpf_map *m;
	size_t msize;

	bpf_object__for_each_map(m, obj) {
		const char *mn = bpf_map__name(m);
		if (!strstr(mn, ".rodata"))
			continue;
		int sec = btf__find_by_name_kind(btf, ".rodata", BTF_KIND_DATASEC);
		const struct btf_type *t = btf__type_by_id(btf, sec);
		const struct btf_var_secinfo *vs = btf_var_secinfos(t);
		for (int i = 0; i < btf_vlen(t); i++, vs++) {
			const struct btf_type *vt = btf__type_by_id(btf, vs->type);
			if (strcmp(btf__name_by_offset(btf, vt->name_off), name))
				continue;
			if (vs->size != size) {
				fprintf(stderr, "%s: size %u, not %zu\n", name, vs->size, size);
				exit(2);
			}
			const void *init = bpf_map__initial_value(m, &msize);
			uint8_t *copy = malloc(msize);
			memcpy(copy, init, msize);
			memcpy(copy + vs->offset, val, size);
			bpf_map__set_initial_value(m, copy, msize);
			free(copy);
			return;
		}
	}
	fprintf(stderr, "no rodata variable %s\n", name);
	exit(2);
}

static void addr4(struct lb_addr *a, const char *s)
{
	memset(a, 0, sizeof(*a));
	a->w[2] = htonl(0xffff);
	inet_pton(AF_INET, s, &a->w[3]);
}

/* An address into lb_addrs, then into its lb_addr_slots slot (lb_abi.h): EMPTY -> ONE, the same
 * address -> its new flags, another one -> SHARED (state only: the slot keeps the address it had).
 * Addresses are only added here, so this is all the control plane's ordering this tool needs. */
static void put_addr(const char *ip, uint32_t flags)
{
	struct lb_addr a;
	struct lb_addr_info i = { flags };
	struct lb_addr_slot s;
	uint32_t idx;

	addr4(&a, ip);
	bpf_map_update_elem(mapfd("lb_addrs"), &a, &i, BPF_ANY);
	idx = lb_addr_slot(a.w, LB_ADDR_SLOT_BITS);
	if (bpf_map_lookup_elem(mapfd("lb_addr_slots"), &idx, &s))
		perror("lb_addr_slots"), exit(2);
	if (s.state == LB_SLOT_EMPTY || (s.state == LB_SLOT_ONE && !memcmp(&s.addr, &a, sizeof(a)))) {
		s.addr = a;
		s.flags = flags;
		s.state = LB_SLOT_ONE;
	} else {
		s.state = LB_SLOT_SHARED;
	}
	bpf_map_update_elem(mapfd("lb_addr_slots"), &idx, &s, BPF_ANY);
}

static void put_svc(const char *vip, uint16_t port, uint8_t proto, uint32_t id, uint8_t fwd,
		    uint32_t snat_first, uint32_t snat_count)
{
	struct lb_svc_key k = { 0 };
	struct lb_svc v = { 0 };
	addr4(&k.vip, vip);
	k.port = htons(port);
	k.proto = proto;
	v.id = id, v.fwd = fwd, v.snat_first = snat_first, v.snat_count = snat_count;
	if (bpf_map_update_elem(mapfd("lb_services"), &k, &v, BPF_ANY))
		perror("lb_services"), exit(2);
}

static void put_backend(uint32_t id, const char *ip, uint16_t port, uint8_t state, uint32_t gen,
			const uint8_t *mac, uint32_t ifindex)
{
	struct lb_backend b = { 0 };
	struct lb_nh nh = { 0 };
	addr4(&b.addr, ip);
	b.port = htons(port), b.state = state, b.gen = gen;
	bpf_map_update_elem(mapfd("lb_backends"), &id, &b, BPF_ANY);
	if (mac) {
		memcpy(nh.dmac, mac, 6);
		memcpy(nh.smac, MAC_LB, 6);
		nh.ifindex = ifindex;
		nh.checked_ns = LB_NH_STATIC;
	}
	bpf_map_update_elem(mapfd("lb_nh"), &id, &nh, BPF_ANY);
}

static void put_table(uint32_t svc_id, const uint32_t *ids, uint32_t n)
{
	LIBBPF_OPTS(bpf_map_create_opts, o, .map_flags = BPF_F_INNER_MAP);
	int fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, "lb_tbl", 4, 4, n + 1, &o);
	if (fd < 0)
		perror("inner map"), exit(2);
	for (uint32_t i = 0; i <= n; i++) {
		uint32_t v = i ? ids[i - 1] : n;
		bpf_map_update_elem(fd, &i, &v, BPF_ANY);
	}
	if (bpf_map_update_elem(mapfd("lb_tables"), &svc_id, &fd, BPF_ANY))
		perror("lb_tables"), exit(2);
	close(fd);
}

static void put_snat_pool(uint32_t idx, const char *ip)
{
	struct lb_addr a;
	addr4(&a, ip);
	bpf_map_update_elem(mapfd("lb_snat_pool"), &idx, &a, BPF_ANY);
}

static uint64_t reason(uint32_t r)
{
	int ncpu = libbpf_num_possible_cpus();
	uint64_t v[ncpu], sum = 0;
	if (bpf_map_lookup_elem(mapfd("lb_reasons"), &r, v))
		return 0;
	for (int i = 0; i < ncpu; i++)
		sum += v[i];
	return sum;
}

/* ---------- running ---------- */

static int failures, passes;

static int run(const struct pkt *in, struct pkt *out)
{
	struct xdp_md ctx = { .data_end = in->len, .ingress_ifindex = ingress_ifindex };
	LIBBPF_OPTS(bpf_test_run_opts, t, .data_in = in->b, .data_size_in = in->len, .data_out = out->b,
		    .data_size_out = sizeof(out->b), .ctx_in = &ctx, .ctx_size_in = sizeof(ctx),
		    .repeat = 1);
	if (bpf_prog_test_run_opts(prog_fd, &t)) {
		perror("test_run");
		exit(2);
	}
	out->len = t.data_size_out;
	return t.retval;
}

static const char *vname(int v)
{
	static const char *n[] = { "ABORTED", "DROP", "PASS", "TX", "REDIRECT" };
	return v >= 0 && v <= 4 ? n[v] : "?";
}

static void result(const char *desc, bool ok, const char *fmt, ...)
{
	va_list ap;
	printf("%s %s", ok ? "ok  " : "FAIL", desc);
	if (!ok && fmt) {
		printf(": ");
		va_start(ap, fmt);
		vprintf(fmt, ap);
		va_end(ap);
	}
	printf("\n");
	ok ? passes++ : failures++;
}

static void hexdiff(const struct pkt *a, const struct pkt *b)
{
	for (uint32_t i = 0; i < a->len && i < b->len; i++)
		if (a->b[i] != b->b[i])
			printf("      byte %u: got %02x want %02x\n", i, a->b[i], b->b[i]);
	if (a->len != b->len)
		printf("      length: got %u want %u\n", a->len, b->len);
}

/* Run @in; expect @verdict, and @want byte for byte (NULL: the input unchanged). */
static void expect(const char *desc, const struct pkt *in, int verdict, const struct pkt *want,
		   struct pkt *got)
{
	struct pkt out;
	int v = run(in, &out);
	const struct pkt *w = want ? want : in;
	bool same = out.len == w->len && !memcmp(out.b, w->b, w->len);
	const char *cs = NULL;

	if (v != XDP_PASS && v != XDP_DROP && out.len > 34)
		cs = check_csums(&out);
	if (verdict == XDP_DROP && v == XDP_DROP)
		same = true; /* a dropped packet's bytes do not matter */
	result(desc, v == verdict && same && !cs, "verdict %s (want %s)%s%s", vname(v),
	       vname(verdict), same ? "" : ", bytes differ", cs ? cs : "");
	if (v == verdict && !same)
		hexdiff(&out, w);
	if (got)
		*got = out;
}

/* Run @in; expect @verdict and valid checksums; the output is checked by the caller. */
static void expect_v(const char *desc, const struct pkt *in, int verdict, struct pkt *got)
{
	int v = run(in, got);
	const char *cs = v == XDP_TX || v == XDP_REDIRECT ? check_csums(got) : NULL;

	result(desc, v == verdict && !cs, "verdict %s (want %s) %s", vname(v), vname(verdict),
	       cs ? cs : "");
}

/* The expected forward output of a DSR packet: only MACs. */
static struct pkt dsr_out(struct pkt in, const uint8_t *be_mac)
{
	memcpy(in.b, be_mac, 6);
	memcpy(in.b + 6, MAC_LB, 6);
	return in;
}

static uint16_t get16(const struct pkt *p, int off)
{
	return (p->b[off] << 8) | p->b[off + 1];
}

static void ip_at(const struct pkt *p, int off, char *buf)
{
	inet_ntop(AF_INET, p->b + off, buf, 16);
}

/* ---------- the fixtures ---------- */

static void tests_static(void)
{
	struct pkt in, want, out, out2;
	char s[16], d[16];
	uint64_t r0;

	/* services: 10.0.0.10:80/tcp dsr (backends 1,2), :53/udp dsr, 10.0.0.10:443/tcp nat (3),
	 * :5353/udp nat (3); SNAT address 10.0.0.2 (also the host's own) */
	put_addr("10.0.0.10", LB_ADDR_VIP);
	put_addr("10.0.0.2", LB_ADDR_SNAT);
	put_svc("10.0.0.10", 80, IPPROTO_TCP, 0, LB_FWD_DSR, 0, 0);
	put_svc("10.0.0.10", 53, IPPROTO_UDP, 1, LB_FWD_DSR, 0, 0);
	put_svc("10.0.0.10", 443, IPPROTO_TCP, 2, LB_FWD_NAT, 0, 1);
	put_svc("10.0.0.10", 5353, IPPROTO_UDP, 3, LB_FWD_NAT, 0, 1);
	put_svc("10.0.0.10", 8000, IPPROTO_TCP, 4, LB_FWD_DSR, 0, 0); /* no table: no backend */
	put_snat_pool(0, "10.0.0.2");
	put_backend(1, "10.0.0.21", 80, LB_BE_ACTIVE, 1, MAC_BE1, 1);
	put_backend(2, "10.0.0.22", 80, LB_BE_ACTIVE, 1, MAC_BE2, 1);
	put_backend(3, "10.0.0.23", 8443, LB_BE_ACTIVE, 1, MAC_BE1, 1);
	uint32_t t01[] = { 1 }, t2[] = { 3 };
	put_table(0, t01, 1);
	put_table(1, t01, 1);
	put_table(2, t2, 1);
	put_table(3, t2, 1);

	/* --- untouched --- */
	in = build((struct spec){ .src = "10.0.0.1", .dst = "10.0.0.99", .proto = IPPROTO_TCP, .sport = 40000, .dport = 22 });
	expect("not for us: TCP to another address", &in, XDP_PASS, NULL, NULL);
	in = build((struct spec){ .src = "10.0.0.1", .dst = "10.0.0.10", .proto = IPPROTO_TCP, .sport = 40000, .dport = 22 });
	expect("VIP, other port: untouched", &in, XDP_PASS, NULL, NULL);
	in = build((struct spec){ .src = "10.0.0.1", .dst = "10.0.0.10", .proto = IPPROTO_UDP, .sport = 40000, .dport = 80, .payload = 4 });
	expect("VIP, service port, other protocol: untouched", &in, XDP_PASS, NULL, NULL);
	in = build((struct spec){ .ethertype = ETH_P_ARP });
	expect("ARP: untouched", &in, XDP_PASS, NULL, NULL);
	in = build((struct spec){ .ethertype = ETH_P_IPV6 });
	expect("IPv6: untouched", &in, XDP_PASS, NULL, NULL);
	in = build((struct spec){ .src = "10.0.0.1", .dst = "10.0.0.10", .proto = IPPROTO_ICMP });
	expect("ICMP to a VIP: untouched", &in, XDP_PASS, NULL, NULL);
	in = build((struct spec){ .src = "10.0.0.1", .dst = "10.0.0.2", .proto = IPPROTO_TCP, .sport = 40000, .dport = 22 });
	expect("to the SNAT (host) address, port outside the range: untouched", &in, XDP_PASS, NULL, NULL);

	/* --- malformed: cut at every header boundary, bad IHL, bad data offset --- */
	struct pkt full = build((struct spec){ .src = "10.0.0.1", .dst = "10.0.0.10", .proto = IPPROTO_TCP, .sport = 40001, .dport = 80, .tcp_flags = 0x02 });
	/* BPF_PROG_TEST_RUN refuses frames shorter than an Ethernet header (EINVAL) */
	int cuts[] = { 14, 20, 33, 34, 40, 53 };
	for (unsigned i = 0; i < sizeof(cuts) / sizeof(cuts[0]); i++) {
		char desc[64];
		in = full;
		in.len = cuts[i];
		snprintf(desc, sizeof(desc), "truncated at %u bytes: untouched", in.len);
		expect(desc, &in, XDP_PASS, NULL, NULL);
	}
	in = full;
	in.b[14] = 0x44; /* IHL 4 */
	expect("bad IHL (4): untouched", &in, XDP_PASS, NULL, NULL);
	in = full;
	in.b[14 + 20 + 12] = 4 << 4; /* doff 4 */
	expect("bad TCP data offset (4): untouched", &in, XDP_PASS, NULL, NULL);
	in = full;
	in.b[14 + 3] += 10; /* total length past the frame */
	expect("IPv4 total length past the frame: untouched", &in, XDP_PASS, NULL, NULL);

	/* --- DSR --- */
	r0 = reason(LB_R_CT_NEW);
	in = build((struct spec){ .src = "10.0.0.1", .dst = "10.0.0.10", .proto = IPPROTO_TCP, .sport = 40001, .dport = 80, .tcp_flags = 0x02, .payload = 0 });
	want = dsr_out(in, MAC_BE1);
	expect("dsr: new TCP flow -> backend 1, only MACs change", &in, XDP_TX, &want, NULL);
	result("dsr: the new flow is counted (ct_new)", reason(LB_R_CT_NEW) == r0 + 1, NULL);
	in = build((struct spec){ .src = "10.0.0.1", .dst = "10.0.0.10", .proto = IPPROTO_TCP, .sport = 40001, .dport = 80, .payload = 100 });
	want = dsr_out(in, MAC_BE1);
	/* re-point the table to backend 2: the tracked flow stays on 1 */
	uint32_t t2only[] = { 2 };
	put_table(0, t2only, 1);
	expect("dsr: later packet sticks to its backend after a table change", &in, XDP_TX, &want, NULL);
	in = build((struct spec){ .src = "10.0.0.1", .dst = "10.0.0.10", .proto = IPPROTO_TCP, .sport = 40002, .dport = 80, .tcp_flags = 0x02 });
	want = dsr_out(in, MAC_BE2);
	expect("dsr: another flow takes the new table", &in, XDP_TX, &want, NULL);
	in = build((struct spec){ .src = "10.0.0.1", .dst = "10.0.0.10", .proto = IPPROTO_TCP, .sport = 40001, .dport = 80, .tcp_flags = 0x11 });
	want = dsr_out(in, MAC_BE1);
	expect("dsr: FIN of the first flow still goes to backend 1", &in, XDP_TX, &want, NULL);
	r0 = reason(LB_R_CT_EXPIRED);
	in = build((struct spec){ .src = "10.0.0.1", .dst = "10.0.0.10", .proto = IPPROTO_TCP, .sport = 40001, .dport = 80, .tcp_flags = 0x02 });
	want = dsr_out(in, MAC_BE2);
	expect("dsr: SYN after FIN on the same tuple re-selects (backend 2)", &in, XDP_TX, &want, NULL);
	result("dsr: ... counted as ct_expired", reason(LB_R_CT_EXPIRED) == r0 + 1, NULL);
	put_table(0, t01, 1);

	/* draining keeps flows, gen change re-selects */
	put_backend(2, "10.0.0.22", 80, LB_BE_DRAINING, 1, MAC_BE2, 1);
	in = build((struct spec){ .src = "10.0.0.1", .dst = "10.0.0.10", .proto = IPPROTO_TCP, .sport = 40002, .dport = 80 });
	want = dsr_out(in, MAC_BE2);
	expect("dsr: draining backend keeps its flow", &in, XDP_TX, &want, NULL);
	put_backend(2, "10.0.0.22", 80, LB_BE_ACTIVE, 2, MAC_BE2, 1);
	r0 = reason(LB_R_CT_RESELECT);
	want = dsr_out(in, MAC_BE1);
	expect("dsr: backend id given to a new backend (gen) -> flow re-selected", &in, XDP_TX, &want, NULL);
	result("dsr: ... counted as ct_reselect", reason(LB_R_CT_RESELECT) == r0 + 1, NULL);

	in = build((struct spec){ .vlan = 100, .src = "10.0.0.1", .dst = "10.0.0.10", .proto = IPPROTO_TCP, .sport = 40003, .dport = 80, .tcp_flags = 0x02 });
	want = dsr_out(in, MAC_BE1);
	expect("dsr: VLAN-tagged, tag kept", &in, XDP_TX, &want, NULL);
	in = build((struct spec){ .ihl = 8, .src = "10.0.0.1", .dst = "10.0.0.10", .proto = IPPROTO_TCP, .sport = 40004, .dport = 80, .tcp_flags = 0x02 });
	want = dsr_out(in, MAC_BE1);
	expect("dsr: IPv4 options (IHL 8)", &in, XDP_TX, &want, NULL);
	in = build((struct spec){ .src = "10.0.0.1", .dst = "10.0.0.10", .proto = IPPROTO_UDP, .sport = 40005, .dport = 53, .payload = 20 });
	want = dsr_out(in, MAC_BE1);
	expect("dsr: UDP", &in, XDP_TX, &want, NULL);
	in = build((struct spec){ .src = "10.0.0.1", .dst = "10.0.0.10", .proto = IPPROTO_TCP, .sport = 40006, .dport = 8000, .tcp_flags = 0x02 });
	expect("service without table: drop (no backend)", &in, XDP_DROP, NULL, NULL);

	/* fragments: each follows its first fragment (same IP id) */
	in = build((struct spec){ .src = "10.0.0.1", .dst = "10.0.0.10", .proto = IPPROTO_UDP, .sport = 40007, .dport = 53, .frag = 0x2000, .payload = 32 });
	want = dsr_out(in, MAC_BE1);
	expect("first fragment to a service: forwarded", &in, XDP_TX, &want, NULL);
	in = build((struct spec){ .src = "10.0.0.1", .dst = "10.0.0.10", .proto = IPPROTO_UDP, .sport = 40007, .dport = 53, .frag = 0x0004, .payload = 32 });
	want = dsr_out(in, MAC_BE1);
	expect("its later fragment: the same backend", &in, XDP_TX, &want, NULL);
	in = build((struct spec){ .src = "10.0.0.9", .dst = "10.0.0.10", .proto = IPPROTO_UDP, .sport = 40007, .dport = 53, .frag = 0x0004, .payload = 32 });
	expect("a later fragment without its first: drop", &in, XDP_DROP, NULL, NULL);
	in = build((struct spec){ .src = "10.0.0.1", .dst = "10.0.0.10", .proto = IPPROTO_UDP, .sport = 40007, .dport = 9999, .frag = 0x2000, .payload = 32 });
	expect("first fragment to a VIP, no service: untouched", &in, XDP_PASS, NULL, NULL);
	in = build((struct spec){ .src = "10.0.0.23", .dst = "10.0.0.2", .proto = IPPROTO_UDP, .sport = 8443, .dport = 20001, .frag = 0x0004, .payload = 32 });
	expect("fragment to a SNAT address: untouched (the host's)", &in, XDP_PASS, NULL, NULL);

	/* --- NAT --- */
	in = build((struct spec){ .src = "10.0.0.1", .dst = "10.0.0.10", .proto = IPPROTO_TCP, .sport = 41000, .dport = 443, .tcp_flags = 0x02, .payload = 10 });
	expect_v("nat: new TCP flow", &in, XDP_TX, &out);
	/* expected: same packet with src 10.0.0.2:P, dst 10.0.0.23:8443, MACs to backend */
	uint16_t P = get16(&out, 34);
	want = in;
	memcpy(want.b, MAC_BE1, 6);
	memcpy(want.b + 6, MAC_LB, 6);
	inet_pton(AF_INET, "10.0.0.2", want.b + 26);
	inet_pton(AF_INET, "10.0.0.23", want.b + 30);
	want.b[34] = P >> 8, want.b[35] = P;
	want.b[36] = 8443 >> 8, want.b[37] = 8443 & 0xff;
	fill_csums(&want);
	ip_at(&out, 26, s), ip_at(&out, 30, d);
	result("nat: forward rewrite = addresses, ports, MACs; SNAT port in range; checksums",
	       out.len == want.len && !memcmp(out.b, want.b, want.len) && P >= 20000 && P <= 29999,
	       "got %s:%u -> %s:%u", s, P, d, get16(&out, 36));
	if (out.len == want.len && memcmp(out.b, want.b, want.len))
		hexdiff(&out, &want);
	in = build((struct spec){ .src = "10.0.0.1", .dst = "10.0.0.10", .proto = IPPROTO_TCP, .sport = 41000, .dport = 443, .payload = 300 });
	expect_v("nat: later packet, same mapping", &in, XDP_TX, &out2);
	result("nat: later packet keeps SNAT port", get16(&out2, 34) == P, "port %u vs %u", get16(&out2, 34), P);

	/* the reply: 10.0.0.23:8443 -> 10.0.0.2:P, arriving from the backend's MAC to the LB's */
	in = build((struct spec){ .dmac = MAC_LB, .smac = MAC_BE1, .src = "10.0.0.23", .dst = "10.0.0.2", .proto = IPPROTO_TCP, .sport = 8443, .dport = P, .tcp_flags = 0x12, .payload = 50 });
	want = build((struct spec){ .dmac = MAC_CLIENT, .smac = MAC_LB, .src = "10.0.0.10", .dst = "10.0.0.1", .proto = IPPROTO_TCP, .sport = 443, .dport = 41000, .tcp_flags = 0x12, .payload = 50 });
	expect("nat: reply -> client (VIP:443 -> client:41000), checksums incremental", &in, XDP_TX, &want, NULL);

	/* two clients, same source port */
	in = build((struct spec){ .src = "10.0.0.5", .dst = "10.0.0.10", .proto = IPPROTO_TCP, .sport = 41000, .dport = 443, .tcp_flags = 0x02 });
	expect_v("nat: second client, same source port", &in, XDP_TX, &out2);
	uint16_t P2 = get16(&out2, 34);
	result("nat: ... gets a different SNAT port", P2 != P, "both %u", P);
	in = build((struct spec){ .dmac = MAC_LB, .smac = MAC_BE1, .src = "10.0.0.23", .dst = "10.0.0.2", .proto = IPPROTO_TCP, .sport = 8443, .dport = P2, .tcp_flags = 0x12 });
	want = build((struct spec){ .dmac = MAC_CLIENT, .smac = MAC_LB, .src = "10.0.0.10", .dst = "10.0.0.5", .proto = IPPROTO_TCP, .sport = 443, .dport = 41000, .tcp_flags = 0x12 });
	expect("nat: reply to the second client reaches the second client", &in, XDP_TX, &want, NULL);

	/* unknown SNAT port in range */
	uint16_t unk = P == 29999 || P2 == 29999 ? 29998 : 29999;
	in = build((struct spec){ .src = "10.0.0.23", .dst = "10.0.0.2", .proto = IPPROTO_TCP, .sport = 8443, .dport = unk, .tcp_flags = 0x12 });
	r0 = reason(LB_R_PASS_SNAT_UNKNOWN);
	expect("nat: reply to an unknown SNAT port: untouched", &in, XDP_PASS, NULL, NULL);
	result("nat: ... counted pass_snat_unknown", reason(LB_R_PASS_SNAT_UNKNOWN) == r0 + 1, NULL);

	/* UDP both ways, with and without checksum */
	in = build((struct spec){ .src = "10.0.0.1", .dst = "10.0.0.10", .proto = IPPROTO_UDP, .sport = 42000, .dport = 5353, .payload = 17 });
	expect_v("nat: UDP forward", &in, XDP_TX, &out);
	uint16_t PU = get16(&out, 34);
	result("nat: UDP forward keeps a checksum", out.b[40] | out.b[41], NULL);
	in = build((struct spec){ .src = "10.0.0.1", .dst = "10.0.0.10", .proto = IPPROTO_UDP, .sport = 42000, .dport = 5353, .payload = 17, .udp_csum0 = 1 });
	expect_v("nat: UDP forward, checksum 0", &in, XDP_TX, &out);
	result("nat: UDP checksum 0 stays 0", !(out.b[40] | out.b[41]), "got %02x%02x", out.b[40], out.b[41]);
	in = build((struct spec){ .dmac = MAC_LB, .smac = MAC_BE1, .src = "10.0.0.23", .dst = "10.0.0.2", .proto = IPPROTO_UDP, .sport = 8443, .dport = PU, .payload = 9 });
	want = build((struct spec){ .dmac = MAC_CLIENT, .smac = MAC_LB, .src = "10.0.0.10", .dst = "10.0.0.1", .proto = IPPROTO_UDP, .sport = 5353, .dport = 42000, .payload = 9 });
	expect("nat: UDP reply", &in, XDP_TX, &want, NULL);

	/* RST from the backend closes the flow; FIN/SYN: new mapping allowed */
	in = build((struct spec){ .dmac = MAC_LB, .smac = MAC_BE1, .src = "10.0.0.23", .dst = "10.0.0.2", .proto = IPPROTO_TCP, .sport = 8443, .dport = P, .tcp_flags = 0x04 });
	want = build((struct spec){ .dmac = MAC_CLIENT, .smac = MAC_LB, .src = "10.0.0.10", .dst = "10.0.0.1", .proto = IPPROTO_TCP, .sport = 443, .dport = 41000, .tcp_flags = 0x04 });
	expect("nat: RST from the backend is delivered", &in, XDP_TX, &want, NULL);
	r0 = reason(LB_R_CT_EXPIRED);
	in = build((struct spec){ .src = "10.0.0.1", .dst = "10.0.0.10", .proto = IPPROTO_TCP, .sport = 41000, .dport = 443, .tcp_flags = 0x02 });
	expect_v("nat: SYN after the backend's RST starts a new flow", &in, XDP_TX, &out);
	result("nat: ... (closing entry replaced: ct_expired)", reason(LB_R_CT_EXPIRED) == r0 + 1, NULL);
	P = get16(&out, 34);

	/* evicted forward entry with a live reverse entry: the reply is dropped, never misdelivered */
	struct lb_flow k = { 0 };
	addr4(&k.src, "10.0.0.5"), addr4(&k.dst, "10.0.0.10");
	k.sport = htons(41000), k.dport = htons(443), k.proto = IPPROTO_TCP;
	bpf_map_delete_elem(mapfd("lb_ct"), &k);
	in = build((struct spec){ .src = "10.0.0.23", .dst = "10.0.0.2", .proto = IPPROTO_TCP, .sport = 8443, .dport = P2, .tcp_flags = 0x10 });
	r0 = reason(LB_R_DROP_SNAT_STALE);
	expect("nat: reply whose forward entry was evicted: drop", &in, XDP_DROP, NULL, NULL);
	result("nat: ... counted drop_snat_stale", reason(LB_R_DROP_SNAT_STALE) == r0 + 1, NULL);
	/* the same client tuple comes back: its old port is taken over (reclaimed) */
	r0 = reason(LB_R_SNAT_RECLAIMED);
	in = build((struct spec){ .src = "10.0.0.5", .dst = "10.0.0.10", .proto = IPPROTO_TCP, .sport = 41000, .dport = 443, .tcp_flags = 0x02 });
	expect_v("nat: the evicted client comes back", &in, XDP_TX, &out);
	result("nat: ... and takes its stale port over", get16(&out, 34) == P2 && reason(LB_R_SNAT_RECLAIMED) == r0 + 1,
	       "port %u (was %u), reclaimed %llu", get16(&out, 34), P2, (unsigned long long)(reason(LB_R_SNAT_RECLAIMED) - r0));

	/* a forward entry that lost its reverse entry to eviction gets it back at a refresh moment
	 * (ct_refresh_ns = 0 in this run: every packet is a refresh moment) */
	struct lb_flow rk = { 0 };
	addr4(&rk.src, "10.0.0.23"), addr4(&rk.dst, "10.0.0.2");
	rk.sport = htons(8443), rk.dport = htons(P2), rk.proto = IPPROTO_TCP;
	bpf_map_delete_elem(mapfd("lb_snat"), &rk);
	r0 = reason(LB_R_SNAT_REPAIRED);
	in = build((struct spec){ .src = "10.0.0.5", .dst = "10.0.0.10", .proto = IPPROTO_TCP, .sport = 41000, .dport = 443 });
	expect_v("nat: forward packet after its reverse entry was evicted", &in, XDP_TX, &out);
	result("nat: ... reverse entry re-created", reason(LB_R_SNAT_REPAIRED) == r0 + 1, NULL);
	in = build((struct spec){ .dmac = MAC_LB, .smac = MAC_BE1, .src = "10.0.0.23", .dst = "10.0.0.2", .proto = IPPROTO_TCP, .sport = 8443, .dport = P2, .tcp_flags = 0x10 });
	want = build((struct spec){ .dmac = MAC_CLIENT, .smac = MAC_LB, .src = "10.0.0.10", .dst = "10.0.0.5", .proto = IPPROTO_TCP, .sport = 443, .dport = 41000, .tcp_flags = 0x10 });
	expect("nat: ... and replies flow again", &in, XDP_TX, &want, NULL);
}

/* Port exhaustion: a 2-port range, one SNAT address, one backend. */
static void tests_exhaustion(void)
{
	struct pkt in;
	int ok = 0;
	uint64_t r0 = reason(LB_R_DROP_SNAT_EXHAUSTED);

	put_addr("10.0.0.10", LB_ADDR_VIP);
	put_addr("10.0.0.2", LB_ADDR_SNAT);
	put_svc("10.0.0.10", 443, IPPROTO_TCP, 2, LB_FWD_NAT, 0, 1);
	put_snat_pool(0, "10.0.0.2");
	put_backend(3, "10.0.0.23", 8443, LB_BE_ACTIVE, 1, MAC_BE1, 1);
	uint32_t t[] = { 3 };
	put_table(2, t, 1);
	for (int i = 0; i < 6; i++) {
		struct pkt out;
		in = build((struct spec){ .src = "10.0.0.1", .dst = "10.0.0.10", .proto = IPPROTO_TCP, .sport = 50000 + i, .dport = 443, .tcp_flags = 0x02 });
		if (run(&in, &out) == XDP_TX)
			ok++;
	}
	result("nat exhaustion: 2 ports, 6 new flows -> at most 2 mapped", ok <= 2 && ok >= 1, "%d mapped", ok);
	result("nat exhaustion: refused flows counted drop_snat_exhausted",
	       reason(LB_R_DROP_SNAT_EXHAUSTED) - r0 == (uint64_t)(6 - ok), "%llu",
	       (unsigned long long)(reason(LB_R_DROP_SNAT_EXHAUSTED) - r0));
}

/* FIB: real neighbour table in a netns (bpf/tools/fib-lab.sh). */
static void tests_fib(int other_ifindex)
{
	struct pkt in, want;
	uint64_t r0;

	put_addr("10.0.0.10", LB_ADDR_VIP);
	put_svc("10.0.0.10", 80, IPPROTO_TCP, 0, LB_FWD_DSR, 0, 0);
	put_svc("10.0.0.10", 81, IPPROTO_TCP, 1, LB_FWD_DSR, 0, 0);
	put_svc("10.0.0.10", 82, IPPROTO_TCP, 2, LB_FWD_DSR, 0, 0);
	put_svc("10.0.0.10", 83, IPPROTO_TCP, 3, LB_FWD_DSR, 0, 0);
	put_backend(1, "10.0.0.21", 80, LB_BE_ACTIVE, 1, NULL, 0); /* neighbour present (lab) */
	put_backend(2, "10.0.0.22", 80, LB_BE_ACTIVE, 1, NULL, 0); /* no neighbour entry */
	put_backend(3, "10.1.0.31", 80, LB_BE_ACTIVE, 1, NULL, 0); /* behind the other interface */
	put_backend(4, "10.9.0.1", 80, LB_BE_ACTIVE, 1, NULL, 0);  /* no route */
	uint32_t a[] = { 1 }, b[] = { 2 }, c[] = { 3 }, d[] = { 4 };
	put_table(0, a, 1), put_table(1, b, 1), put_table(2, c, 1), put_table(3, d, 1);

	in = build((struct spec){ .src = "10.0.0.1", .dst = "10.0.0.10", .proto = IPPROTO_TCP, .sport = 40001, .dport = 80, .tcp_flags = 0x02 });
	want = in;
	memcpy(want.b, MAC_BE1, 6), memcpy(want.b + 6, MAC_LB, 6);
	expect("fib: backend's MAC from the neighbour table, XDP_TX", &in, XDP_TX, &want, NULL);
	struct lb_nh nh;
	uint32_t id = 1;
	bpf_map_lookup_elem(mapfd("lb_nh"), &id, &nh);
	result("fib: next hop cached in lb_nh", nh.checked_ns && nh.checked_ns != LB_NH_STATIC && !memcmp(nh.dmac, MAC_BE1, 6), NULL);
	r0 = reason(LB_R_DROP_NO_NEIGH);
	in = build((struct spec){ .src = "10.0.0.1", .dst = "10.0.0.10", .proto = IPPROTO_TCP, .sport = 40002, .dport = 81, .tcp_flags = 0x02 });
	expect("fib: unresolved neighbour: drop", &in, XDP_DROP, NULL, NULL);
	result("fib: ... counted drop_no_neigh", reason(LB_R_DROP_NO_NEIGH) == r0 + 1, NULL);
	r0 = reason(LB_R_DROP_NO_TX_PORT);
	in = build((struct spec){ .src = "10.0.0.1", .dst = "10.0.0.10", .proto = IPPROTO_TCP, .sport = 40003, .dport = 82, .tcp_flags = 0x02 });
	expect("fib: other interface, not in lb_tx_ports: drop", &in, XDP_DROP, NULL, NULL);
	result("fib: ... counted drop_no_tx_port", reason(LB_R_DROP_NO_TX_PORT) == r0 + 1, NULL);
	uint32_t ifx = other_ifindex;
	bpf_map_update_elem(mapfd("lb_tx_ports"), &ifx, &ifx, BPF_ANY);
	want = in;
	memcpy(want.b, MAC_BE2, 6), memcpy(want.b + 6, MAC_LB2, 6);
	expect("fib: other interface in lb_tx_ports: XDP_REDIRECT, its MACs", &in, XDP_REDIRECT, &want, NULL);
	r0 = reason(LB_R_DROP_NO_ROUTE);
	in = build((struct spec){ .src = "10.0.0.1", .dst = "10.0.0.10", .proto = IPPROTO_TCP, .sport = 40004, .dport = 83, .tcp_flags = 0x02 });
	expect("fib: no route: drop", &in, XDP_DROP, NULL, NULL);
	result("fib: ... counted drop_no_route", reason(LB_R_DROP_NO_ROUTE) == r0 + 1, NULL);
}

/* Rough per-packet cost from BPF_PROG_TEST_RUN's in-kernel timing (ns per run, includes the test
 * harness's own per-run overhead). The bench issue measures the real thing on interfaces. */
static uint32_t timed(const struct pkt *in, uint32_t repeat, int *verdict)
{
	struct xdp_md ctx = { .data_end = in->len, .ingress_ifindex = ingress_ifindex };
	struct pkt out;
	LIBBPF_OPTS(bpf_test_run_opts, t, .data_in = in->b, .data_size_in = in->len, .data_out = out.b,
		    .data_size_out = sizeof(out.b), .ctx_in = &ctx, .ctx_size_in = sizeof(ctx),
		    .repeat = repeat);
	if (bpf_prog_test_run_opts(prog_fd, &t))
		perror("test_run"), exit(2);
	*verdict = t.retval;
	return t.duration;
}

/* Minimum over 7 batches: this is a shared VM, the minimum is the least disturbed number. */
static uint32_t timed_min(const struct pkt *in, uint32_t repeat, int *verdict)
{
	uint32_t best = ~0u;
	for (int i = 0; i < 7; i++) {
		uint32_t d = timed(in, repeat, verdict);
		best = d < best ? d : best;
	}
	return best;
}

static void bench(void)
{
	struct pkt in;
	int v;
	const uint32_t R = 300000;

	put_addr("10.0.0.10", LB_ADDR_VIP);
	put_addr("10.0.0.2", LB_ADDR_SNAT);
	put_svc("10.0.0.10", 80, IPPROTO_TCP, 0, LB_FWD_DSR, 0, 0);
	put_svc("10.0.0.10", 443, IPPROTO_TCP, 2, LB_FWD_NAT, 0, 1);
	put_snat_pool(0, "10.0.0.2");
	uint32_t ids[16];
	for (uint32_t i = 0; i < 16; i++) {
		ids[i] = i + 1;
		put_backend(i + 1, "10.0.0.21", 80, LB_BE_ACTIVE, 1, MAC_BE1, 1);
	}
	put_table(0, ids, 16);
	put_table(2, ids, 16);

	in = build((struct spec){ .src = "10.0.0.1", .dst = "10.0.0.99", .proto = IPPROTO_TCP, .sport = 40000, .dport = 22, .payload = 18 });
	printf("not-for-us          %4u ns\n", timed_min(&in, R, &v));
	in = build((struct spec){ .src = "10.0.0.1", .dst = "10.0.0.10", .proto = IPPROTO_TCP, .sport = 40000, .dport = 80, .payload = 18 });
	timed(&in, 1, &v);
	printf("dsr established     %4u ns (%s)\n", timed_min(&in, R, &v), vname(v));
	in = build((struct spec){ .src = "10.0.0.1", .dst = "10.0.0.10", .proto = IPPROTO_TCP, .sport = 40000, .dport = 443, .payload = 18 });
	struct pkt out;
	run(&in, &out);
	printf("nat established     %4u ns (%s)\n", timed_min(&in, R, &v), vname(v));
	uint16_t P = get16(&out, 34);
	char s1[16], d1[16];
	ip_at(&out, 26, s1), ip_at(&out, 30, d1);
	printf("  (nat flow: %s:%u -> %s:%u)\n", s1, P, d1, get16(&out, 36));
	in = build((struct spec){ .src = "10.0.0.21", .dst = "10.0.0.2", .proto = IPPROTO_TCP, .sport = 80, .dport = P, .payload = 18 });
	{
		uint64_t r[LB_R_MAX];
		for (int i = 0; i < LB_R_MAX; i++) r[i] = reason(i);
		printf("  (one reply: %s;", vname(run(&in, &out)));
		for (int i = 0; i < LB_R_MAX; i++) if (reason(i) != r[i]) printf(" reason %d", i);
		printf(")\n");
	}
	printf("nat reply           %4u ns (%s)\n", timed_min(&in, R, &v), vname(v));
	for (int fwd = 0; fwd < 2; fwd++) {
		uint64_t sum = 0;
		const int N = 20000;
		for (int i = 0; i < N; i++) {
			char src[16];
			snprintf(src, sizeof(src), "10.%d.%d.%d", 1 + fwd, (i >> 8) & 255, i & 255);
			in = build((struct spec){ .src = src, .dst = "10.0.0.10", .proto = IPPROTO_TCP, .sport = 1024 + (i % 60000), .dport = fwd ? 443 : 80, .tcp_flags = 0x02, .payload = 18 });
			sum += timed(&in, 1, &v);
		}
		printf("%s new flow        %4llu ns (%s, one run per flow: includes more harness overhead)\n",
		       fwd ? "nat" : "dsr", (unsigned long long)(sum / N), vname(v));
	}
}

int main(int argc, char **argv)
{
	int fib = argc > 3 && !strcmp(argv[2], "--fib");
	int exhaustion = argc > 2 && !strcmp(argv[2], "--exhaustion");
	int do_bench = argc > 2 && !strcmp(argv[2], "--bench");
	struct bpf_program *prog;

	if (argc < 2) {
		fprintf(stderr, "usage: lbtest OBJECT [--exhaustion | --fib IFINDEX_IN IFINDEX_OTHER]\n");
		return 2;
	}
	libbpf_set_strict_mode(LIBBPF_STRICT_ALL);
	obj = bpf_object__open_file(argv[1], NULL);
	if (!obj)
		return perror("open"), 2;
	uint64_t zero = 0;
	if (!do_bench)
		set_var("ct_refresh_ns", &zero, 8);
	if (exhaustion) {
		uint32_t lo = 20000, hi = 20001;
		set_var("snat_port_min", &lo, 4);
		set_var("snat_port_max", &hi, 4);
	}
	if (bpf_object__load(obj))
		return fprintf(stderr, "load failed\n"), 2;
	prog = bpf_object__find_program_by_name(obj, "xdp_lb");
	prog_fd = bpf_program__fd(prog);
	if (fib) {
		ingress_ifindex = atoi(argv[3]);
		tests_fib(atoi(argv[4]));
	} else if (do_bench) {
		bench();
	} else if (exhaustion) {
		tests_exhaustion();
	} else {
		tests_static();
	}
	printf("%d passed, %d failed\n", passes, failures);
	bpf_object__close(obj);
	return failures ? 1 : 0;
}
