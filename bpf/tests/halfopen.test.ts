// Half-open TCP flows apart from established ones (bpf/lib/halfopen.h, layout 4), through
// BPF_PROG_TEST_RUN for each strategy object: a SYN's entry lives in lb_ct_syn until the handshake
// completes (nat: the backend answered and the client ACKs; dsr: the client's ACK), then moves to
// lb_ct with the half-open bit of its NAT lease cleared on both sides; a half-open flow idle past
// syn_timeout_ns gives its SNAT port back at once (no TIME_WAIT for a connection that never
// opened); a SYN flood churns lb_ct_syn only, never evicts an established flow, and leaves ports for
// the next client.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseFrame } from '@xdp-lb/netlab';
import { type Flow, flowKey, LB_ADDR_SNAT, LB_ADDR_VIP, LB_CT_F_REPLIED, LB_SNAT_LEASE_HALF } from './harness/abi.js';
import { backendMac, bpfSkipReason, itLbCtOnly, STRATEGIES, TestDataplane } from './harness/dataplane.js';
import { check, expectReset } from './harness/fixtures.js';
import { MAC, tcp, withMacs } from './harness/frames.js';

if (bpfSkipReason) console.warn(`[bpf halfopen] skipped: ${bpfSkipReason}`);

const VIP = '198.18.0.10';
const SNAT = '198.18.0.2';
const CLIENT = '198.18.1.1';
const BE1 = '198.18.2.1';
const SEC = 1_000_000_000n;
const u32le = (n: number): Buffer => {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n);
  return b;
};

function setUp(dp: TestDataplane): void {
  dp.addAddr(VIP, LB_ADDR_VIP);
  dp.addAddr(SNAT, LB_ADDR_SNAT);
  dp.setSnatPool(0, SNAT);
  dp.addService({ vip: VIP, port: 443, proto: 'tcp', id: 0, fwd: 'nat', snatFirst: 0, snatCount: 1 });
  dp.addService({ vip: VIP, port: 80, proto: 'tcp', id: 1, fwd: 'dsr' });
  dp.setBackend(1, { addr: BE1, port: 8443 });
  dp.setBackend(2, { addr: BE1, port: 80 });
  dp.setTable(0, [1]);
  dp.setTable(1, [2]);
}

/** Names the half-open reasons (so that check() compares them) as absent: no entry created, none promoted. */
const NO_HALF_OPEN_CHANGE = { CT_HALF_OPEN: undefined, CT_PROMOTED: undefined };

const snatPort = (frame: Buffer): number => parseFrame(frame).tcp!.sport;
const fromBackend = (port: number, flags: string, payload = '') =>
  tcp({ src: BE1, dst: SNAT, sport: 8443, dport: port, flags, payload, smac: backendMac(1), dmac: MAC.lb });
const toClient = (sport: number, flags: string, payload = '') =>
  tcp({ src: VIP, dst: CLIENT, sport: 443, dport: sport, flags, payload, smac: MAC.lb, dmac: MAC.client });
const toBackend =
  (port: number, flags: string, payload = '') =>
  (_: Buffer) =>
    tcp({ src: SNAT, dst: BE1, sport: port, dport: 8443, flags, payload, smac: MAC.lb, dmac: backendMac(1) });
const replyKey = (port: number): Flow => ({ src: BE1, dst: SNAT, sport: 8443, dport: port, proto: 'tcp' });

describe.skipIf(bpfSkipReason !== null).each(STRATEGIES)('half-open flows [%s]', (strategy) => {
  let dp: TestDataplane;

  beforeAll(async () => {
    dp = await TestDataplane.load(strategy, { ct_refresh_ns: 0 });
    setUp(dp);
  });
  afterAll(() => dp?.dispose());

  const c = { src: CLIENT, dst: VIP, sport: 41000, dport: 443 };
  const cf: Flow = { ...c, proto: 'tcp' };
  let P = 0;

  it('nat: a SYN is tracked in lb_ct_syn, with the half-open bit in both leases', () => {
    const r = check(dp, {
      description: 'SYN',
      input: tcp({ ...c, flags: 'S' }),
      verdict: 'TX',
      reasons: { TX: 1, CT_NEW: 1, CT_HALF_OPEN: 1 },
    });
    P = snatPort(r.data);
    expect(dp.established(cf)).toBeNull();
    const h = dp.halfOpen(cf)!;
    expect(h).toMatchObject({ snatPort: P, flags: 0 });
    expect(h.snatLease & LB_SNAT_LEASE_HALF).toBe(LB_SNAT_LEASE_HALF);
    expect(dp.snat(replyKey(P))!.lease).toBe(h.snatLease);
  });

  it('nat: a client ACK before any answer of the backend does not complete it (a spoofed source never sees the SYN-ACK)', () => {
    check(dp, {
      description: 'ACK',
      input: tcp({ ...c, flags: 'A' }),
      verdict: 'TX',
      output: toBackend(P, 'A'),
      reasons: { TX: 1, ...NO_HALF_OPEN_CHANGE },
    });
    expect(dp.established(cf)).toBeNull();
    expect(dp.halfOpen(cf)).not.toBeNull();
  });

  it("nat: the backend's SYN-ACK reaches the client and marks the flow answered", () => {
    check(dp, { description: 'SYN-ACK', input: fromBackend(P, 'SA'), verdict: 'TX', output: toClient(41000, 'SA'), reasons: { TX: 1 } });
    expect(dp.halfOpen(cf)!.flags & LB_CT_F_REPLIED).toBe(LB_CT_F_REPLIED);
  });

  it("nat: the client's ACK completes the handshake: the entry moves to lb_ct, the bit is cleared on both sides, the port stays", () => {
    const lease = dp.halfOpen(cf)!.snatLease;
    check(dp, {
      description: 'ACK',
      input: tcp({ ...c, flags: 'A' }),
      verdict: 'TX',
      output: toBackend(P, 'A'),
      reasons: { TX: 1, CT_PROMOTED: 1 },
    });
    expect(dp.halfOpen(cf)).toBeNull();
    const e = dp.established(cf)!;
    expect(e).toMatchObject({ snatPort: P, snatLease: (lease & ~LB_SNAT_LEASE_HALF) >>> 0, flags: 0, state: 1 });
    expect(dp.snat(replyKey(P))!.lease).toBe(e.snatLease);
    check(dp, {
      description: 'data',
      input: tcp({ ...c, flags: 'PA', payload: 'GET /' }),
      verdict: 'TX',
      output: toBackend(P, 'PA', 'GET /'),
      reasons: { TX: 1, ...NO_HALF_OPEN_CHANGE },
    });
    check(dp, {
      description: 'reply',
      input: fromBackend(P, 'PA', 'hello'),
      verdict: 'TX',
      output: toClient(41000, 'PA', 'hello'),
      reasons: { TX: 1 },
    });
  });

  it('dsr: SYN half-open, the ACK promotes (only the client is seen)', () => {
    const d = { src: CLIENT, dst: VIP, sport: 42000, dport: 80 };
    const df: Flow = { ...d, proto: 'tcp' };
    const syn = tcp({ ...d, flags: 'S' });
    check(dp, {
      description: 'DSR SYN',
      input: syn,
      verdict: 'TX',
      output: withMacs(syn, backendMac(2), MAC.lb),
      reasons: { TX: 1, CT_NEW: 1, CT_HALF_OPEN: 1 },
    });
    expect(dp.halfOpen(df)).not.toBeNull();
    check(dp, { description: 'DSR SYN again (retransmitted)', input: syn, verdict: 'TX', reasons: { TX: 1, ...NO_HALF_OPEN_CHANGE } });
    check(dp, { description: 'DSR ACK', input: tcp({ ...d, flags: 'A' }), verdict: 'TX', reasons: { TX: 1, CT_PROMOTED: 1 } });
    expect(dp.halfOpen(df)).toBeNull();
    expect(dp.established(df)).not.toBeNull();
  });

  itLbCtOnly("plants an lb_ct_syn entry: with the flow table the SYN's insert is in lb_ft4 (noexist-race.test.ts runs both)")(
    'a SYN whose half-open entry was created first elsewhere (another CPU won the BPF_NOEXIST insert) goes by that entry',
    () => {
      // Backend 3 is in no slot table: only the entry that "won" can send the SYN there.
      dp.setBackend(3, { addr: '198.18.2.3', port: 80 });
      const first = { src: CLIENT, dst: VIP, sport: 42010, dport: 80 };
      const d = { src: CLIENT, dst: VIP, sport: 42011, dport: 80 };
      check(dp, { description: 'a SYN of another flow, for an entry to copy', input: tcp({ ...first, flags: 'S' }), verdict: 'TX' });
      const won = Buffer.from(dp.map('lb_ct_syn').lookup(flowKey({ ...first, proto: 'tcp' })) as Buffer);
      won.writeUInt32LE(3, 0); // backend_id
      won.writeUInt32LE((dp.map('lb_backends').lookup(u32le(3)) as Buffer).readUInt32LE(20), 4); // backend_gen
      dp.map('lb_ct_syn').update(flowKey({ ...d, proto: 'tcp' }), won);
      const syn = tcp({ ...d, flags: 'S' });
      check(dp, {
        description: 'the SYN: its insert finds the entry',
        input: syn,
        verdict: 'TX',
        output: withMacs(syn, backendMac(3), MAC.lb),
        reasons: { TX: 1, ...NO_HALF_OPEN_CHANGE },
      });
      expect(dp.halfOpen({ ...d, proto: 'tcp' })).toMatchObject({ backendId: 3 });
      expect(dp.established({ ...d, proto: 'tcp' })).toBeNull();
    },
  );

  it('a half-open entry idle past syn_timeout_ns (3 s) is not used: the next packet is a new flow', () => {
    const d = { src: CLIENT, dst: VIP, sport: 42001, dport: 80 };
    check(dp, { description: 'DSR SYN', input: tcp({ ...d, flags: 'S' }), verdict: 'TX' });
    dp.ageCt({ ...d, proto: 'tcp' }, 2n * SEC);
    check(dp, {
      description: 'SYN after 2 s: the same entry',
      input: tcp({ ...d, flags: 'S' }),
      verdict: 'TX',
      reasons: { TX: 1, ...NO_HALF_OPEN_CHANGE },
    });
    dp.ageCt({ ...d, proto: 'tcp' }, 4n * SEC);
    check(dp, {
      description: 'SYN after 4 s idle: expired, a new half-open flow',
      input: tcp({ ...d, flags: 'S' }),
      verdict: 'TX',
      reasons: { TX: 1, CT_NEW: 1, CT_EXPIRED: 1, CT_HALF_OPEN: 1 },
    });
  });
});

describe.skipIf(bpfSkipReason !== null).each(STRATEGIES)('half-open NAT ports [%s]', (strategy) => {
  /** One SNAT port, held by client A's half-open flow (sport `aPort`); client B (sport aPort + 1) waits for it. */
  const onePort = async (aPort: number) => {
    const dp = await TestDataplane.load(strategy, { snat_port_min: 20000, snat_port_max: 20000, snat_reuse_ns: 65n * SEC });
    setUp(dp);
    const a = { src: CLIENT, dst: VIP, sport: aPort, dport: 443 };
    const b = { src: '198.18.1.2', dst: VIP, sport: aPort + 1, dport: 443 };
    check(dp, { description: 'A SYN (takes the only port)', input: tcp({ ...a, flags: 'S' }), verdict: 'TX' });
    return { dp, a, b };
  };

  it('a timed-out half-open flow gives its port back at once; its late ACK is reset', async () => {
    const { dp, a, b } = await onePort(51000);
    try {
      check(dp, {
        description: 'B while A is half-open and young',
        input: tcp({ ...b, flags: 'S' }),
        verdict: 'DROP',
        reasons: { DROP_SNAT_EXHAUSTED: 1 },
      });
      dp.ageCt({ ...a, proto: 'tcp' }, 4n * SEC);
      const r = check(dp, {
        description: 'B, A idle 4 s: the port at once (no TIME_WAIT hold)',
        input: tcp({ ...b, flags: 'S', smac: '02:00:00:00:00:02' }),
        verdict: 'TX',
        reasons: { TX: 1, CT_NEW: 1, SNAT_RECLAIMED: 1, SNAT_HALF_FREED: 1 },
      });
      expect(snatPort(r.data)).toBe(20000);
      expect(parseFrame(dp.run(fromBackend(20000, 'SA')).data).ipv4!.dst, "the port's replies go to B").toBe('198.18.1.2');
      const rst = check(dp, {
        description: "A's late ACK: no entry, no port: reset",
        input: tcp({ ...a, flags: 'A' }),
        verdict: 'TX',
        reasons: { RESET: 1, CT_MIDSTREAM: 1, CT_EXPIRED: 1 },
      });
      expectReset(rst.data, { src: VIP, dst: CLIENT, sport: 443, dport: 51000, seq: 1 });
    } finally {
      dp.dispose();
    }
  });

  it('IPv6 (NAT66): a packet without SYN that cannot get a port is answered with an RST', async () => {
    const dp = await TestDataplane.load(strategy, { snat_port_min: 20000, snat_port_max: 20000 });
    try {
      const vip6 = '2001:db8:18::10';
      const client6 = '2001:db8:1::1';
      dp.addAddr(vip6, LB_ADDR_VIP);
      dp.addAddr('2001:db8:18::2', LB_ADDR_SNAT);
      dp.setSnatPool(0, '2001:db8:18::2');
      dp.addService({ vip: vip6, port: 443, proto: 'tcp', id: 0, fwd: 'nat', snatFirst: 0, snatCount: 1 });
      dp.setBackend(1, { addr: '2001:db8:2::1', port: 8443 });
      dp.setTable(0, [1]);
      check(dp, {
        description: 'A SYN takes the only port',
        input: tcp({ src: client6, dst: vip6, sport: 51000, dport: 443, flags: 'S' }),
        verdict: 'TX',
      });
      const data = tcp({ src: client6, dst: vip6, sport: 51001, dport: 443, flags: 'PA', payload: 'a request', seq: 7000 });
      const r = check(dp, {
        description: 'B data without an entry: no port, reset',
        input: data,
        verdict: 'TX',
        reasons: { RESET: 1, CT_MIDSTREAM: 1 },
      });
      expectReset(r.data, { src: vip6, dst: client6, sport: 443, dport: 51001, seq: 1 });
      expect(r.data.subarray(0, 12), 'back to the client: MACs swapped').toEqual(
        Buffer.concat([data.subarray(6, 12), data.subarray(0, 6)]),
      );
      const syn = check(dp, {
        description: 'a SYN in its place: dropped (the client retransmits), never reset',
        input: tcp({ src: client6, dst: vip6, sport: 51002, dport: 443, flags: 'S' }),
        verdict: 'DROP',
        reasons: { DROP_SNAT_EXHAUSTED: 1 },
      });
      expect(syn.verdict).toBe('DROP');
    } finally {
      dp.dispose();
    }
  });

  it('an evicted half-open flow gives its port back at once (no tombstone)', async () => {
    const { dp, a, b } = await onePort(53000);
    try {
      expect(dp.map('lb_ct_syn').delete(flowKeyOf(a))).toBe(true); // what an LRU eviction does
      check(dp, {
        description: 'B takes the port at once',
        input: tcp({ ...b, flags: 'S', smac: '02:00:00:00:00:02' }),
        verdict: 'TX',
        reasons: { TX: 1, CT_NEW: 1, SNAT_RECLAIMED: 1, SNAT_HALF_FREED: 1 },
      });
    } finally {
      dp.dispose();
    }
  });

  it('a SYN flood churns lb_ct_syn only: the established flow keeps its entry and port, new clients still get ports', async () => {
    // lb_ct and lb_ct_syn of 1024 entries, lb_snat 2048 (as the control plane sizes it), 1500
    // ports; 6000 spoofed SYNs (one per source). There is never more than one reverse entry per port,
    // so with the port space below lb_snat's size no reverse entry is evicted (an evicted one of an
    // idle established flow could be given to a new flow: bpf/README.md, "Half-open flows").
    const dp = await TestDataplane.load(strategy, { snat_port_min: 20000, snat_port_max: 21499, ct_refresh_ns: 0 }, 1024, {}, 1024);
    try {
      setUp(dp);
      const e = { src: CLIENT, dst: VIP, sport: 55000, dport: 443 };
      const ef: Flow = { ...e, proto: 'tcp' };
      const p = snatPort(dp.run(tcp({ ...e, flags: 'S' })).data);
      dp.run(fromBackend(p, 'SA'));
      dp.run(tcp({ ...e, flags: 'A' }));
      const est = dp.established(ef)!;
      expect(est).not.toBeNull();
      const delta = dp.countDelta(() => {
        for (let i = 0; i < 6000; i++) {
          const src = `198.19.${(i >> 8) & 255}.${i & 255}`;
          dp.run(tcp({ src, dst: VIP, sport: 1024 + i, dport: 443, flags: 'S', smac: '02:00:00:00:00:07' }));
        }
      });
      expect(delta.CT_HALF_OPEN ?? 0).toBeGreaterThan(5000);
      // 6000 SYNs, 1500 ports: the ports of half-open flows evicted by newer ones are taken at once
      // (a SYN is refused only when its 16 distinct candidates all belong to live half-open flows,
      // ~2/3 of the ports here: (2/3)^16, a few in 6000)
      expect(delta.DROP_SNAT_EXHAUSTED ?? 0, JSON.stringify(delta)).toBeLessThan(60);
      expect(delta.SNAT_HALF_FREED ?? 0, JSON.stringify(delta)).toBeGreaterThan(3000);
      expect([...dp.map('lb_ct').keys()].length, 'lb_ct: the established flow only').toBe(1);
      expect(dp.established(ef)).toMatchObject({ snatPort: p, snatLease: est.snatLease });
      // the backend speaks first: its reverse entry must have survived too (no repair by a client packet yet)
      check(dp, {
        description: 'a reply of the established flow after the flood',
        input: fromBackend(p, 'PA', 'ok'),
        verdict: 'TX',
        output: toClient(55000, 'PA', 'ok'),
        reasons: { TX: 1 },
      });
      check(dp, {
        description: 'its client',
        input: tcp({ ...e, flags: 'PA', payload: 'more' }),
        verdict: 'TX',
        output: toBackend(p, 'PA', 'more'),
        reasons: { TX: 1 },
      });
      const n = { src: '198.18.1.3', dst: VIP, sport: 56000, dport: 443 };
      const r = check(dp, {
        description: 'a new client right after the flood',
        input: tcp({ ...n, flags: 'S', smac: '02:00:00:00:00:03' }),
        verdict: 'TX',
      });
      const np = snatPort(r.data);
      dp.run(fromBackend(np, 'SA'));
      check(dp, {
        description: 'its ACK completes',
        input: tcp({ ...n, flags: 'A', smac: '02:00:00:00:00:03' }),
        verdict: 'TX',
        reasons: { TX: 1, CT_PROMOTED: 1 },
      });
    } finally {
      dp.dispose();
    }
  });
});

function flowKeyOf(c: { src: string; dst: string; sport: number; dport: number }): Buffer {
  return flowKey({ ...c, proto: 'tcp' });
}
