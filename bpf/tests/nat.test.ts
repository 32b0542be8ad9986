// Full NAT on one arm (issue 4) through BPF_PROG_TEST_RUN, for each strategy object: the forward and
// reverse rewrites with their checksums, FIN/RST, UDP both ways, two clients with one source port,
// port exhaustion, eviction and expiry on either side (a reply is never delivered to another
// client), an unknown SNAT port, and NAT next to DSR on the same VIP. Port allocation: the random
// candidates after the hashed ones, how long a port is held after a FIN and after an RST. Time
// passes by rewriting the entries' timestamps (TestDataplane.ageCt, ageTomb), never by sleeping.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseFrame } from '@xdp-lb/netlab';
import { flowHash, fmix32 } from '@xdp-lb/strategy-hash';
import {
  CT_OFF,
  type Flow,
  flowKey,
  LB_ADDR_SNAT,
  LB_ADDR_VIP,
  LB_CT_CLOSE_FIN,
  LB_CT_CLOSE_RST,
  LB_CT_CLOSE_UNKNOWN,
  LB_CT_CLOSING,
  LB_FWD_NAT,
  snatVal,
} from './harness/abi.js';
import { backendMac, bpfSkipReason, STRATEGIES, TestDataplane } from './harness/dataplane.js';
import { check, expectReset } from './harness/fixtures.js';
import { MAC, tcp, udp, withMacs } from './harness/frames.js';

if (bpfSkipReason) console.warn(`[bpf nat] skipped: ${bpfSkipReason}`);

const VIP = '198.18.0.10';
const SNAT = '198.18.0.2';
const CLIENT = '198.18.1.1';
const CLIENT2 = '198.18.1.2';
const BE1 = '198.18.2.1';
const PORT_MIN = 20000;
const PORT_MAX = 29999;
const SEC = 1_000_000_000n;

/** nat.h lb_snat_alloc's hashed candidate ports of a client tuple (hash_seed 0, one SNAT address). */
function hashedPorts(client: Flow, lo: number, hi: number): number[] {
  const LB_SNAT_SALT = 0x5a17c0de;
  const h = flowHash(flowKey(client), LB_SNAT_SALT, 10);
  return Array.from({ length: 8 }, (_, j) => {
    const hc = fmix32((h + Math.imul(j, 0x9e3779b9)) | 0);
    return lo + Number((BigInt(hc) * BigInt(hi - lo + 1)) >> 32n);
  });
}

/** The reply tuple of SNAT port `port` to backend 1 (the lb_snat key). */
const replyTuple = (port: number): Flow => ({ src: BE1, dst: SNAT, sport: 8443, dport: port, proto: 'tcp' });

/** The source port the LB gave a forwarded frame. */
const snatPort = (frame: Buffer): number => {
  const f = parseFrame(frame);
  return (f.tcp ?? f.udp)!.sport;
};

/**
 * A TCP flow to VIP:443 through its handshake (SYN; backend 1's SYN-ACK on the port it got; the
 * client's ACK), so that it is established (lb_ct), not half-open (lb_ct_syn: bpf/lib/halfopen.h).
 * Returns the SNAT port.
 */
function establish(dp: TestDataplane, c: { src: string; dst: string; sport: number; dport: number }, smac?: string): number {
  const syn = dp.run(tcp({ ...c, flags: 'S', ...(smac ? { smac } : {}) }));
  expect(syn.verdict, 'the SYN is forwarded').toBe('TX');
  const port = snatPort(syn.data);
  expect(dp.run(tcp({ src: BE1, dst: SNAT, sport: 8443, dport: port, flags: 'SA', smac: backendMac(1), dmac: MAC.lb })).verdict).toBe('TX');
  expect(dp.run(tcp({ ...c, flags: 'A', ...(smac ? { smac } : {}) })).verdict).toBe('TX');
  expect(dp.established({ ...c, proto: 'tcp' }), 'established').not.toBeNull();
  return port;
}

/** A NAT service on VIP:443/tcp and VIP:5353/udp to backend 1 (198.18.2.1:8443/5353), DSR on :80. */
function setUp(dp: TestDataplane): void {
  dp.addAddr(VIP, LB_ADDR_VIP);
  dp.addAddr(SNAT, LB_ADDR_SNAT);
  dp.setSnatPool(0, SNAT);
  dp.addService({ vip: VIP, port: 443, proto: 'tcp', id: 0, fwd: 'nat', snatFirst: 0, snatCount: 1 });
  dp.addService({ vip: VIP, port: 5353, proto: 'udp', id: 1, fwd: 'nat', snatFirst: 0, snatCount: 1 });
  dp.addService({ vip: VIP, port: 80, proto: 'tcp', id: 2, fwd: 'dsr' });
  dp.setBackend(1, { addr: BE1, port: 8443 });
  dp.setBackend(2, { addr: BE1, port: 5353 });
  dp.setBackend(3, { addr: BE1, port: 80 });
  dp.setTable(0, [1]);
  dp.setTable(1, [2]);
  dp.setTable(2, [3]);
}

describe.skipIf(bpfSkipReason !== null).each(STRATEGIES)('nat [%s]', (strategy) => {
  let dp: TestDataplane;

  beforeAll(async () => {
    // ct_refresh_ns 0: every packet is a refresh moment, so the reverse-entry check runs each time.
    dp = await TestDataplane.load(strategy, { ct_refresh_ns: 0 });
    setUp(dp);
  });
  afterAll(() => dp?.dispose());

  const client = { src: CLIENT, dst: VIP, sport: 41000, dport: 443 };
  const clientFlow: Flow = { ...client, proto: 'tcp' };
  let P = 0;

  /** What the backend receives: SNAT:P -> backend:8443, MACs to the backend. */
  const toBackend =
    (port: number, flags: string, payload = '') =>
    (_input: Buffer) =>
      tcp({ src: SNAT, dst: BE1, sport: port, dport: 8443, flags, payload, smac: MAC.lb, dmac: backendMac(1) });
  /** The backend's reply as it reaches the LB. */
  const reply = (port: number, flags: string, payload = '') =>
    tcp({ src: BE1, dst: SNAT, sport: 8443, dport: port, flags, payload, smac: backendMac(1), dmac: MAC.lb });
  /** The reply as the client must receive it. */
  const toClient = (sport: number, flags: string, payload = '', dst = CLIENT, dmac: string = MAC.client) =>
    tcp({ src: VIP, dst, sport: 443, dport: sport, flags, payload, smac: MAC.lb, dmac });

  it('new TCP flow: dst -> backend, src -> SNAT address:port in the range, checksums patched', () => {
    const r = check(dp, {
      description: 'SYN',
      input: tcp({ ...client, flags: 'S', payload: 'x' }),
      verdict: 'TX',
      reasons: { TX: 1, CT_NEW: 1 },
    });
    P = snatPort(r.data);
    expect(P).toBeGreaterThanOrEqual(PORT_MIN);
    expect(P).toBeLessThanOrEqual(PORT_MAX);
    check(dp, {
      description: 'SYN, exact frame',
      input: tcp({ ...client, flags: 'S', payload: 'x' }),
      verdict: 'TX',
      output: toBackend(P, 'S', 'x'),
    });
    expect(dp.ct(clientFlow)).toMatchObject({ backendId: 1, fwd: LB_FWD_NAT, snatAddr: SNAT, snatPort: P, inIfindex: 1 });
    expect(dp.ct(clientFlow)!.peerMac).toEqual(Buffer.from([2, 0, 0, 0, 0, 1]));
    const rev = dp.snat({ src: BE1, dst: SNAT, sport: 8443, dport: P, proto: 'tcp' });
    expect(rev).toMatchObject({ src: CLIENT, dst: VIP, sport: 41000, dport: 443, lease: dp.ct(clientFlow)!.snatLease });
    expect(rev!.lease).not.toBe(0);
  });

  it('later packets keep the mapping', () => {
    for (const [flags, payload] of [
      ['A', ''],
      ['PA', 'GET / HTTP/1.1\r\nHost: x\r\n\r\n'],
      ['A', 'y'.repeat(1000)],
    ] as const) {
      check(dp, {
        description: `${flags} ${payload.length}B`,
        input: tcp({ ...client, flags, payload }),
        verdict: 'TX',
        output: toBackend(P, flags, payload),
        reasons: { TX: 1 },
      });
    }
  });

  it('the reply: src -> VIP:443, dst -> client, MACs back to the client side', () => {
    check(dp, { description: 'SYN-ACK', input: reply(P, 'SA'), verdict: 'TX', output: toClient(41000, 'SA'), reasons: { TX: 1 } });
    check(dp, {
      description: 'data',
      input: reply(P, 'PA', 'HTTP/1.1 200 OK\r\n\r\nhello'),
      verdict: 'TX',
      output: toClient(41000, 'PA', 'HTTP/1.1 200 OK\r\n\r\nhello'),
      reasons: { TX: 1 },
    });
    expect(dp.svcStats(0).packets).toBeGreaterThanOrEqual(5n);
  });

  it('a client behind a router: replies go to the MAC the flow came from', () => {
    const viaRouter = { src: '203.0.113.7', dst: VIP, sport: 50000, dport: 443 };
    const r = check(dp, { description: 'SYN via router', input: tcp({ ...viaRouter, flags: 'S', smac: MAC.router }), verdict: 'TX' });
    const port = snatPort(r.data);
    check(dp, {
      description: 'reply',
      input: reply(port, 'SA'),
      verdict: 'TX',
      output: toClient(50000, 'SA', '', '203.0.113.7', MAC.router),
    });
  });

  it('FIN from the client, FIN and RST from the backend: delivered, and the entry closes', () => {
    check(dp, { description: 'client FIN', input: tcp({ ...client, flags: 'FA' }), verdict: 'TX', output: toBackend(P, 'FA') });
    expect(dp.ct(clientFlow)!.state).toBe(LB_CT_CLOSING);
    check(dp, { description: 'backend FIN', input: reply(P, 'FA'), verdict: 'TX', output: toClient(41000, 'FA') });
    check(dp, { description: 'client last ACK', input: tcp({ ...client, flags: 'A' }), verdict: 'TX', output: toBackend(P, 'A') });

    const other = { ...client, sport: 41001 };
    const r = check(dp, { description: 'second flow SYN', input: tcp({ ...other, flags: 'S' }), verdict: 'TX' });
    const p2 = snatPort(r.data);
    check(dp, { description: 'backend RST', input: reply(p2, 'R'), verdict: 'TX', output: toClient(41001, 'R') });
    expect(dp.ct({ ...other, proto: 'tcp' })!.state).toBe(LB_CT_CLOSING);
  });

  it('a new SYN on the closed tuple is a new flow with a fresh mapping', () => {
    const r = check(dp, {
      description: 'SYN again',
      input: tcp({ ...client, flags: 'S' }),
      verdict: 'TX',
      reasons: { TX: 1, CT_NEW: 1, CT_EXPIRED: 1 },
    });
    const p = snatPort(r.data);
    // The old port is still owned by the closing entry's grace: the new flow got another one.
    expect(p).not.toBe(P);
    check(dp, { description: 'reply on the new port', input: reply(p, 'SA'), verdict: 'TX', output: toClient(41000, 'SA') });
    P = p;
  });

  it('UDP both ways, with a checksum and with checksum 0', () => {
    const q = { src: CLIENT, dst: VIP, sport: 42000, dport: 5353 };
    const r = check(dp, { description: 'query', input: udp({ ...q, payload: 'question' }), verdict: 'TX', reasons: { TX: 1, CT_NEW: 1 } });
    const port = snatPort(r.data);
    const fwd = parseFrame(r.data);
    expect(fwd.ipv4).toMatchObject({ src: SNAT, dst: BE1 });
    expect(fwd.udp).toMatchObject({ sport: port, dport: 5353 });
    expect(fwd.udp!.checksum).not.toBe(0);
    const zero = check(dp, {
      description: 'query without checksum',
      input: udp({ ...q, payload: 'question', noChecksum: true }),
      verdict: 'TX',
    });
    expect(parseFrame(zero.data).udp!.checksum).toBe(0);
    const ans = (noChecksum: boolean) =>
      udp({ src: BE1, dst: SNAT, sport: 5353, dport: port, payload: 'answer', smac: backendMac(2), dmac: MAC.lb, noChecksum });
    const want = (noChecksum: boolean) =>
      udp({ src: VIP, dst: CLIENT, sport: 5353, dport: 42000, payload: 'answer', smac: MAC.lb, dmac: MAC.client, noChecksum });
    check(dp, { description: 'answer', input: ans(false), verdict: 'TX', output: want(false) });
    check(dp, { description: 'answer without checksum', input: ans(true), verdict: 'TX', output: want(true) });
  });

  it('two clients with the same source port are told apart both ways', () => {
    const a = { src: CLIENT, dst: VIP, sport: 43000, dport: 443 };
    const b = { src: CLIENT2, dst: VIP, sport: 43000, dport: 443 };
    const pa = snatPort(check(dp, { description: 'A SYN', input: tcp({ ...a, flags: 'S' }), verdict: 'TX' }).data);
    const pb = snatPort(
      check(dp, { description: 'B SYN', input: tcp({ ...b, flags: 'S', smac: '02:00:00:00:00:02' }), verdict: 'TX' }).data,
    );
    expect(pa).not.toBe(pb);
    check(dp, {
      description: 'reply to B',
      input: reply(pb, 'SA', 'for B'),
      verdict: 'TX',
      output: toClient(43000, 'SA', 'for B', CLIENT2, '02:00:00:00:00:02'),
    });
    check(dp, {
      description: 'reply to A',
      input: reply(pa, 'SA', 'for A'),
      verdict: 'TX',
      output: toClient(43000, 'SA', 'for A', CLIENT),
    });
  });

  it('a reply to an unknown SNAT port in the range is passed untouched, never rewritten to a guess', () => {
    const used = new Set<number>();
    for (const key of dp.map('lb_snat').keys()) used.add(key.readUInt16BE(34));
    let unknown = PORT_MAX;
    while (used.has(unknown)) unknown--;
    check(dp, {
      description: 'reply to an unmapped port',
      input: reply(unknown, 'SA'),
      verdict: 'PASS',
      reasons: { PASS_SNAT_UNKNOWN: 1 },
    });
    check(dp, {
      description: 'to the SNAT address below the range (host traffic)',
      input: reply(PORT_MIN - 1, 'SA'),
      verdict: 'PASS',
      reasons: { PASS_NOT_OURS: 1 },
    });
    check(dp, {
      description: 'to the SNAT address above the range (host traffic)',
      input: reply(PORT_MAX + 1, 'SA'),
      verdict: 'PASS',
      reasons: { PASS_NOT_OURS: 1 },
    });
  });

  it('an evicted forward entry with a live reverse entry: the reply is dropped, not misdelivered', () => {
    const c = { src: CLIENT, dst: VIP, sport: 44000, dport: 443 };
    const port = snatPort(check(dp, { description: 'SYN', input: tcp({ ...c, flags: 'S' }), verdict: 'TX' }).data);
    expect(dp.deleteCt({ ...c, proto: 'tcp' })).toBe(true); // what an LRU eviction does
    check(dp, { description: 'reply after the eviction', input: reply(port, 'SA'), verdict: 'DROP', reasons: { DROP_SNAT_STALE: 1 } });
    // The client comes back: its stale port is taken over again (its own hash candidate).
    // A half-open flow's port (its lease has the half-open bit): free once its entry is gone.
    const again = check(dp, {
      description: 'the client retransmits',
      input: tcp({ ...c, flags: 'S' }),
      verdict: 'TX',
      reasons: { TX: 1, CT_NEW: 1, SNAT_RECLAIMED: 1, SNAT_HALF_FREED: 1 },
    });
    expect(snatPort(again.data)).toBe(port);
    check(dp, { description: 'and its replies flow again', input: reply(port, 'SA'), verdict: 'TX', output: toClient(44000, 'SA') });
  });

  it('an evicted reverse entry is re-created by the next forward packet', () => {
    const c = { src: CLIENT, dst: VIP, sport: 45000, dport: 443 };
    const port = establish(dp, c);
    expect(dp.deleteSnat({ src: BE1, dst: SNAT, sport: 8443, dport: port, proto: 'tcp' })).toBe(true);
    check(dp, {
      description: 'reply while the reverse entry is gone',
      input: reply(port, 'SA'),
      verdict: 'PASS',
      reasons: { PASS_SNAT_UNKNOWN: 1 },
    });
    check(dp, {
      description: 'client ACK',
      input: tcp({ ...c, flags: 'A' }),
      verdict: 'TX',
      output: toBackend(port, 'A'),
      reasons: { TX: 1, SNAT_REPAIRED: 1 },
    });
    check(dp, { description: 'reply', input: reply(port, 'A'), verdict: 'TX', output: toClient(45000, 'A') });
  });

  it('NAT and DSR services side by side on one VIP', () => {
    const input = tcp({ src: CLIENT, dst: VIP, sport: 46000, dport: 80, flags: 'S' });
    check(dp, { description: 'DSR SYN', input, verdict: 'TX', output: withMacs(input, backendMac(3), MAC.lb) });
  });
});

describe.skipIf(bpfSkipReason !== null).each(STRATEGIES)('nat port allocation [%s]', (strategy) => {
  it('exhaustion: with 2 ports, extra flows are refused and counted, never given a shared port', async () => {
    const dp = await TestDataplane.load(strategy, { snat_port_min: 20000, snat_port_max: 20001 });
    try {
      setUp(dp);
      const ports: number[] = [];
      const delta = dp.countDelta(() => {
        for (let i = 0; i < 6; i++) {
          const r = dp.run(tcp({ src: CLIENT, dst: VIP, sport: 50000 + i, dport: 443, flags: 'S' }));
          if (r.verdict === 'TX') ports.push(snatPort(r.data));
          else expect(r.verdict).toBe('DROP');
        }
      });
      expect(ports.length).toBeGreaterThanOrEqual(1);
      expect(ports.length).toBeLessThanOrEqual(2);
      expect(new Set(ports).size).toBe(ports.length);
      expect(delta.DROP_SNAT_EXHAUSTED).toBe(6 - ports.length);
      expect(delta.CT_NEW ?? 0).toBe(ports.length);
    } finally {
      dp.dispose();
    }
  });

  it('a reused port never delivers to the previous client', async () => {
    // One port: client A holds it; A's forward entry is evicted; client B takes the port over once
    // it has been held snat_reuse_ns (65 s, the backend's TIME_WAIT) from the moment it was found
    // orphaned (the tombstone's stamp, aged here instead of waiting).
    const dp = await TestDataplane.load(strategy, { snat_port_min: 20000, snat_port_max: 20000, snat_reuse_ns: 65n * SEC });
    try {
      setUp(dp);
      const a = { src: CLIENT, dst: VIP, sport: 51000, dport: 443 };
      const b = { src: CLIENT2, dst: VIP, sport: 52000, dport: 443 };
      const replyTo = (flags: string, payload: string) =>
        tcp({ src: BE1, dst: SNAT, sport: 8443, dport: 20000, flags, payload, smac: backendMac(1), dmac: MAC.lb });
      establish(dp, a);
      check(dp, {
        description: 'B while A holds the only port',
        input: tcp({ ...b, flags: 'S' }),
        verdict: 'DROP',
        reasons: { DROP_SNAT_EXHAUSTED: 1 },
      });
      dp.deleteCt({ ...a, proto: 'tcp' });
      check(dp, {
        description: 'B right after the eviction: the port is held (TIME_WAIT)',
        input: tcp({ ...b, flags: 'S' }),
        verdict: 'DROP',
        reasons: { DROP_SNAT_EXHAUSTED: 1 },
      });
      // The tombstone as another CPU would stamp it with a coarse clock one tick (4 ms) ahead of
      // this one's (lib/clock.h): still held, not mistaken for one 2^31 units old.
      const rk = flowKey(replyTuple(20000));
      const raw = dp.map('lb_snat').lookup(rk) as Buffer;
      const lease = raw.readUInt32LE(36);
      expect(lease >>> 31, 'a tombstone lease').toBe(1);
      raw.writeUInt32LE((0x80000000 | ((lease + 4) & 0x7fffffff)) >>> 0, 36);
      dp.map('lb_snat').update(rk, raw);
      check(dp, {
        description: 'B, the stamp a tick ahead of its clock: held',
        input: tcp({ ...b, flags: 'S' }),
        verdict: 'DROP',
        reasons: { DROP_SNAT_EXHAUSTED: 1 },
      });
      dp.ageTomb(replyTuple(20000), 60n * SEC);
      check(dp, {
        description: 'B, 60 s after the stamp: within snat_reuse_ns',
        input: tcp({ ...b, flags: 'S' }),
        verdict: 'DROP',
        reasons: { DROP_SNAT_EXHAUSTED: 1 },
      });
      dp.ageTomb(replyTuple(20000), 10n * SEC);
      check(dp, {
        description: 'B, 70 s after: takes the stale port over',
        input: tcp({ ...b, flags: 'S', smac: '02:00:00:00:00:02' }),
        verdict: 'TX',
        reasons: { TX: 1, CT_NEW: 1, SNAT_RECLAIMED: 1 },
      });
      const out = check(dp, { description: 'a reply on the port', input: replyTo('SA', 'for B'), verdict: 'TX' });
      expect(parseFrame(out.data).ipv4!.dst).toBe(CLIENT2);
      const rst = check(dp, {
        description: 'A comes back: reset (no port), B keeps the port',
        input: tcp({ ...a, flags: 'A' }),
        verdict: 'TX',
        reasons: { RESET: 1 },
      });
      expectReset(rst.data, { src: VIP, dst: CLIENT, sport: 443, dport: a.sport, seq: 1 });
      expect(parseFrame(dp.run(replyTo('A', 'still B')).data).ipv4!.dst).toBe(CLIENT2);
    } finally {
      dp.dispose();
    }
  });

  it("an expired flow's port is taken over after its timeout and grace and snat_reuse_ns, not before", async () => {
    // A's last packet is made older step by step (ageCt): 11 s (past its 10 s timeout, within the
    // 2 s grace), 20 s (past both, within the 65 s TIME_WAIT hold), 70 s. The clock keeps running
    // between a rewrite and the next packet, so each "not yet" sits a second or more below its limit.
    const dp = await TestDataplane.load(strategy, {
      snat_port_min: 20000,
      snat_port_max: 20000,
      tcp_timeout_ns: 10n * SEC,
      snat_grace_ns: 2n * SEC,
      snat_reuse_ns: 65n * SEC,
    });
    try {
      setUp(dp);
      const a = { src: CLIENT, dst: VIP, sport: 53000, dport: 443 };
      const b = { src: CLIENT2, dst: VIP, sport: 54000, dport: 443 };
      const aFlow: Flow = { ...a, proto: 'tcp' };
      establish(dp, a);
      dp.ageCt(aFlow, 11n * SEC);
      check(dp, {
        description: 'B, A idle 11 s: past its timeout, within the grace',
        input: tcp({ ...b, flags: 'S' }),
        verdict: 'DROP',
        reasons: { DROP_SNAT_EXHAUSTED: 1 },
      });
      dp.ageCt(aFlow, 9n * SEC);
      check(dp, {
        description: 'B, A idle 20 s: past timeout + grace, within snat_reuse_ns',
        input: tcp({ ...b, flags: 'S' }),
        verdict: 'DROP',
        reasons: { DROP_SNAT_EXHAUSTED: 1 },
      });
      dp.ageCt(aFlow, 50n * SEC);
      check(dp, {
        description: 'B, A idle 70 s: after snat_reuse_ns',
        input: tcp({ ...b, flags: 'S' }),
        verdict: 'TX',
        reasons: { TX: 1, CT_NEW: 1, SNAT_RECLAIMED: 1 },
      });
      const r = dp.run(tcp({ src: BE1, dst: SNAT, sport: 8443, dport: 20000, flags: 'SA', smac: backendMac(1), dmac: MAC.lb }));
      expect(parseFrame(r.data).ipv4!.dst).toBe(CLIENT2);
      const rst = check(dp, {
        description: "A after its expiry: a new flow, refused (the port is B's): reset",
        input: tcp({ ...a, flags: 'A' }),
        verdict: 'TX',
        reasons: { RESET: 1, CT_EXPIRED: 1 },
      });
      expectReset(rst.data, { src: VIP, dst: CLIENT, sport: 443, dport: a.sport, seq: 1 });
    } finally {
      dp.dispose();
    }
  });

  it('a closed TCP flow whose client reused its port: its old port is held for snat_reuse_ns, then reclaimed', async () => {
    // Two ports. A closes, then opens again from the same client port: the closing entry still owns
    // its port, so the new flow gets the other one, and the old port is left to a stale reverse
    // entry whose flow's last packet is unknown (its forward entry now carries another lease): the
    // first allocator that meets it stamps a tombstone, aged here instead of waiting.
    const dp = await TestDataplane.load(strategy, {
      snat_port_min: 20000,
      snat_port_max: 20001,
      ct_refresh_ns: 0,
      snat_reuse_ns: 65n * SEC,
    });
    try {
      setUp(dp);
      const a = { src: CLIENT, dst: VIP, sport: 55000, dport: 443 };
      const b = { src: CLIENT2, dst: VIP, sport: 56000, dport: 443 };
      const pa = establish(dp, a);
      check(dp, { description: 'A FIN', input: tcp({ ...a, flags: 'FA' }), verdict: 'TX' });
      const pa2 = snatPort(
        check(dp, {
          description: 'A SYN again',
          input: tcp({ ...a, flags: 'S' }),
          verdict: 'TX',
          reasons: { TX: 1, CT_NEW: 1, CT_EXPIRED: 1 },
        }).data,
      );
      expect(pa2).not.toBe(pa);
      check(dp, {
        description: 'B: one port live, the other held',
        input: tcp({ ...b, flags: 'S' }),
        verdict: 'DROP',
        reasons: { DROP_SNAT_EXHAUSTED: 1 },
      });
      dp.ageTomb(replyTuple(pa), 60n * SEC);
      check(dp, {
        description: 'A keeps its new flow going',
        input: tcp({ ...a, flags: 'A' }),
        verdict: 'TX',
        output: tcp({ src: SNAT, dst: BE1, sport: pa2, dport: 8443, flags: 'A', smac: MAC.lb, dmac: backendMac(1) }),
      });
      check(dp, {
        description: 'B, 60 s after the stamp: still within snat_reuse_ns',
        input: tcp({ ...b, flags: 'S' }),
        verdict: 'DROP',
        reasons: { DROP_SNAT_EXHAUSTED: 1 },
      });
      dp.ageTomb(replyTuple(pa), 10n * SEC);
      const got = check(dp, {
        description: 'B, 70 s after: after snat_reuse_ns',
        input: tcp({ ...b, flags: 'S' }),
        verdict: 'TX',
        reasons: { TX: 1, CT_NEW: 1, SNAT_RECLAIMED: 1 },
      });
      expect(snatPort(got.data)).toBe(pa);
    } finally {
      dp.dispose();
    }
  });

  it('a free port is preferred over a reclaimable one (snat_reuse_ns 0: reclaim at once)', async () => {
    const dp = await TestDataplane.load(strategy, { snat_port_min: 20000, snat_port_max: 20001, snat_reuse_ns: 0 });
    try {
      setUp(dp);
      const flows = [51000, 51001, 51002].map((sport) => ({ src: CLIENT, dst: VIP, sport, dport: 443 }));
      const p0 = establish(dp, flows[0]!);
      dp.deleteCt({ ...flows[0]!, proto: 'tcp' }); // p0 is now reclaimable
      const p1 = snatPort(
        check(dp, {
          description: 'second flow: the free port, no reclaim',
          input: tcp({ ...flows[1]!, flags: 'S' }),
          verdict: 'TX',
          reasons: { TX: 1, CT_NEW: 1 },
        }).data,
      );
      expect(p1).not.toBe(p0);
      const p2 = snatPort(
        check(dp, {
          description: 'third flow: nothing free, reclaims at once',
          input: tcp({ ...flows[2]!, flags: 'S' }),
          verdict: 'TX',
          reasons: { TX: 1, CT_NEW: 1, SNAT_RECLAIMED: 1 },
        }).data,
      );
      expect(p2).toBe(p0);
    } finally {
      dp.dispose();
    }
  });

  it('the hashed candidates all held: a random candidate is taken, and each retry meets other ports', async () => {
    // 64 ports. Orphan reverse entries (no forward entry: a TCP port held for TIME_WAIT) on every
    // hashed candidate of client tuple T: the hashed passes alone would refuse T on every attempt.
    const lo = 20000;
    const hi = 20063;
    const dp = await TestDataplane.load(strategy, { snat_port_min: lo, snat_port_max: hi });
    try {
      setUp(dp);
      const t = { src: CLIENT, dst: VIP, sport: 60000, dport: 443 };
      const tFlow: Flow = { ...t, proto: 'tcp' };
      const hashed = hashedPorts(tFlow, lo, hi);
      const forget = (port: number) => {
        dp.deleteCt(tFlow);
        dp.deleteSnat(replyTuple(port));
      };
      const hold = (port: number) =>
        dp
          .map('lb_snat')
          .update(flowKey(replyTuple(port)), snatVal({ src: CLIENT2, dst: VIP, sport: port, dport: 443, lease: 0x1000 + port }));
      // The model is the program's: on an empty range T gets its first hashed candidate.
      const first = snatPort(check(dp, { description: 'T on an empty range', input: tcp({ ...t, flags: 'S' }), verdict: 'TX' }).data);
      expect(first).toBe(hashed[0]);
      forget(first);

      for (const p of hashed) hold(p);
      const r = check(dp, {
        description: 'T, its 8 hashed candidates held',
        input: tcp({ ...t, flags: 'S' }),
        verdict: 'TX',
        reasons: { TX: 1, CT_NEW: 1 },
      });
      const free = snatPort(r.data);
      expect(hashed).not.toContain(free);
      expect(dp.snat(replyTuple(free))).toMatchObject({ src: CLIENT, sport: 60000, lease: dp.ct(tFlow)!.snatLease });
      forget(free);

      // Every port held but `free`: 8 random candidates find it with probability 1 - (63/64)^8
      // ~ 12% per attempt. T's retransmitted SYNs (refused ones leave no state) each draw anew; a
      // fixed set of candidates would refuse all of them (200 attempts: all fail ~ 1e-11).
      for (let p = lo; p <= hi; p++) if (p !== free) hold(p);
      let attempts = 0;
      let got: number | null = null;
      const delta = dp.countDelta(() => {
        while (got === null && attempts < 200) {
          attempts++;
          const a = dp.run(tcp({ ...t, flags: 'S' }));
          if (a.verdict === 'TX') got = snatPort(a.data);
          else expect(a.verdict).toBe('DROP');
        }
      });
      expect(got, `T after ${attempts} attempts`).toBe(free);
      expect(delta).toMatchObject({ TX: 1, CT_NEW: 1 });
      expect(delta.DROP_SNAT_EXHAUSTED ?? 0).toBe(attempts - 1);
    } finally {
      dp.dispose();
    }
  });

  // How long a TCP port stays held after its flow closed (one port, default timings: closing
  // timeout 10 s, grace 2 s, TIME_WAIT hold 65 s, refresh 1 s). `steps` close flow A after its SYN;
  // `at` lists A's idle times (its entry aged, no sleeping) at which client B asks for the port, and
  // whether B gets it. An RST before any FIN leaves the backend no TIME_WAIT: the port is free after
  // the grace. Anything else is held as before.
  type Step = readonly ['client' | 'backend', string];
  const closes: { name: string; steps: Step[]; close: number; olderProgram?: boolean; at: [number, boolean][] }[] = [
    // a half-open flow (never established): its port is free syn_timeout_ns (3 s) after its last packet
    {
      name: 'the backend refuses the SYN (RST): free syn_timeout_ns after, not before',
      steps: [['backend', 'RA']],
      close: LB_CT_CLOSE_RST,
      at: [
        [0, false],
        [2, false],
        [4, true],
      ],
    },
    {
      name: 'the client aborts (RST before any FIN): free snat_grace_ns after, not before',
      steps: [
        ['backend', 'SA'],
        ['client', 'A'],
        ['client', 'R'],
      ],
      close: LB_CT_CLOSE_RST,
      at: [
        [1, false],
        [3, true],
      ],
    },
    {
      name: 'closed by FIN: held snat_reuse_ns after its last packet',
      steps: [
        ['backend', 'SA'],
        ['client', 'FA'],
        ['backend', 'FA'],
        ['client', 'A'],
      ],
      close: LB_CT_CLOSE_FIN,
      at: [
        [3, false],
        [13, false],
        [60, false],
        [70, true],
      ],
    },
    {
      name: 'an RST after a FIN: held like FIN',
      steps: [
        ['backend', 'SA'],
        ['client', 'A'],
        ['backend', 'FA'],
        ['client', 'R'],
      ],
      close: LB_CT_CLOSE_FIN,
      at: [
        [3, false],
        [13, false],
        [60, false],
        [70, true],
      ],
    },
    {
      name: 'a FIN after the RST (the RST did not end the connection): held like FIN',
      steps: [
        ['backend', 'SA'],
        ['client', 'A'],
        ['client', 'R'],
        ['backend', 'PA'],
        ['client', 'FA'],
      ],
      close: LB_CT_CLOSE_FIN,
      at: [
        [3, false],
        [60, false],
        [70, true],
      ],
    },
    {
      name: 'close_reason 0 (an entry of an older program), closed by an RST: held like FIN',
      steps: [
        ['backend', 'SA'],
        ['client', 'A'],
        ['backend', 'RA'],
      ],
      close: LB_CT_CLOSE_RST,
      olderProgram: true,
      at: [
        [3, false],
        [13, false],
        [60, false],
        [70, true],
      ],
    },
  ];
  it.each(closes)('$name', async ({ steps, close, olderProgram, at }) => {
    const half = !steps.some(([who, flags]) => who === 'client' && flags === 'A'); // never established
    const dp = await TestDataplane.load(strategy, { snat_port_min: 20000, snat_port_max: 20000 });
    try {
      setUp(dp);
      const a = { src: CLIENT, dst: VIP, sport: 57000, dport: 443 };
      const b = { src: CLIENT2, dst: VIP, sport: 58000, dport: 443 };
      const aFlow: Flow = { ...a, proto: 'tcp' };
      const fromBackend = (flags: string) =>
        tcp({ src: BE1, dst: SNAT, sport: 8443, dport: 20000, flags, smac: backendMac(1), dmac: MAC.lb });
      check(dp, { description: 'A SYN', input: tcp({ ...a, flags: 'S' }), verdict: 'TX', reasons: { TX: 1, CT_NEW: 1 } });
      for (const [who, flags] of steps) {
        check(dp, { description: `${who} ${flags}`, input: who === 'client' ? tcp({ ...a, flags }) : fromBackend(flags), verdict: 'TX' });
      }
      expect(dp.ct(aFlow)).toMatchObject({ state: LB_CT_CLOSING, closeReason: close });
      if (olderProgram) {
        dp.setCtByte(aFlow, CT_OFF.closeReason, 0);
        expect(dp.ct(aFlow)!.closeReason).toBe(LB_CT_CLOSE_UNKNOWN);
      }
      let idle = 0;
      for (const [sec, takes] of at) {
        dp.ageCt(aFlow, BigInt(sec - idle) * SEC);
        idle = sec;
        const input = tcp({ ...b, flags: 'S', smac: '02:00:00:00:00:02' });
        if (!takes) {
          check(dp, { description: `B, A idle ${sec} s: held`, input, verdict: 'DROP', reasons: { DROP_SNAT_EXHAUSTED: 1 } });
          continue;
        }
        check(dp, {
          description: `B, A idle ${sec} s: taken over`,
          input,
          verdict: 'TX',
          reasons: { TX: 1, CT_NEW: 1, SNAT_RECLAIMED: 1, ...(half ? { SNAT_HALF_FREED: 1 } : {}) },
        });
        expect(parseFrame(dp.run(fromBackend('SA')).data).ipv4!.dst, "the port's replies go to B").toBe(CLIENT2);
      }
      if (half) {
        // A's half-open entry timed out: its late packet is a flow without an entry that cannot
        // get a port (B has it): answered with an RST, never sent to the backend on B's tuple.
        const r = check(dp, {
          description: "A's late packet",
          input: tcp({ ...a, flags: 'A' }),
          verdict: 'TX',
          reasons: { RESET: 1, CT_MIDSTREAM: 1, CT_EXPIRED: 1 },
        });
        expectReset(r.data, { src: VIP, dst: CLIENT, sport: 443, dport: a.sport, seq: 1 });
      } else if (close === LB_CT_CLOSE_RST && !olderProgram) {
        // A stray packet of A after the takeover (its closing entry lives 10 s): older than
        // ct_refresh_ns, so it re-checks its reverse entry, finds the port B's and is dropped: it
        // never reaches the backend on B's tuple.
        check(dp, { description: "A's late packet", input: tcp({ ...a, flags: 'A' }), verdict: 'DROP', reasons: { DROP_SNAT_STALE: 1 } });
        expect(dp.ct(aFlow)).toBeNull();
      }
    } finally {
      dp.dispose();
    }
  });
});
