// Cluster flow sync's records (bpf/lib/flowsync.h), through BPF_PROG_TEST_RUN: with flow_sync on,
// a flow that enters lb_ct (a UDP flow, a TCP handshake completed) puts one record into the ring
// lb_flowsync, a FIN or RST one closing record, and a refresh one more record per sync period; nat
// flows and everything with flow_sync off put none; past flow_sync_rate per second and CPU the
// records are dropped and counted. Every strategy object loads with flow_sync on (the verifier).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RingBuffer } from '@xdp-lb/native';
import { type Flow, flowKey, LB_ADDR_SNAT, LB_ADDR_VIP } from './harness/abi.js';
import { bpfSkipReason, type Knobs, STRATEGIES, type StrategyId, TestDataplane } from './harness/dataplane.js';
import { tcp, udp } from './harness/frames.js';

if (bpfSkipReason) console.warn(`[bpf flowsync] skipped: ${bpfSkipReason}`);

const VIP = '198.18.0.10';
const SNAT = '198.18.0.2';
const CLIENT = '198.18.1.1';
const BE = '198.18.2.1';
const SEC = 1_000_000_000n;
/** bpf/include/lb_abi.h: struct lb_sync_rec and LB_CT_F_SYNC_*. */
const REC = 52;
const OPEN = 1;
const CLOSING = 2;
const F_SYNC_ODD = 0x02;
const FLAGS_OFF = 47;

interface Rec {
  flow: Buffer;
  svc: number;
  backend: number;
  kind: number;
}
/** Every record here is of a dsr flow (LB_FWD_DSR): checked in records(). */
const FWD_DSR = 1;

async function load(strategy: StrategyId, knobs: Knobs = {}): Promise<{ dp: TestDataplane; ring: RingBuffer; records: () => Rec[] }> {
  const dp = await TestDataplane.load(strategy, knobs);
  dp.addAddr(VIP, LB_ADDR_VIP);
  dp.addAddr(SNAT, LB_ADDR_SNAT);
  dp.setSnatPool(0, SNAT);
  dp.addService({ vip: VIP, port: 80, proto: 'tcp', id: 1, fwd: 'dsr' });
  dp.addService({ vip: VIP, port: 53, proto: 'udp', id: 2, fwd: 'dsr' });
  dp.addService({ vip: VIP, port: 443, proto: 'tcp', id: 3, fwd: 'nat', snatFirst: 0, snatCount: 1 });
  dp.setBackend(4, { addr: BE, port: 80 });
  dp.setBackend(5, { addr: BE, port: 53 });
  dp.setBackend(6, { addr: BE, port: 8443 });
  dp.setTable(1, [4]);
  dp.setTable(2, [5]);
  dp.setTable(3, [6]);
  const ring = RingBuffer.open(dp.map('lb_flowsync'));
  const records = () =>
    ring.consume().map((b) => {
      expect(b.length).toBe(REC);
      expect(b.readUInt8(49), 'the record names its forwarding mode').toBe(FWD_DSR);
      return { flow: b.subarray(0, 40), svc: b.readUInt32LE(40), backend: b.readUInt32LE(44), kind: b.readUInt8(48) };
    });
  return { dp, ring, records };
}

const web = (sport: number): Flow => ({ src: CLIENT, dst: VIP, sport, dport: 80, proto: 'tcp' });
const dns = (sport: number): Flow => ({ src: CLIENT, dst: VIP, sport, dport: 53, proto: 'udp' });
const syn = (sport: number, dport = 80) => tcp({ src: CLIENT, dst: VIP, sport, dport, flags: 'S' });
const ack = (sport: number, dport = 80, flags = 'A') => tcp({ src: CLIENT, dst: VIP, sport, dport, flags });

describe.skipIf(bpfSkipReason)('flow sync records (lb_flowsync)', () => {
  let on: Awaited<ReturnType<typeof load>>;
  beforeAll(async () => {
    on = await load('hash', { flow_sync: 1 });
  });
  afterAll(() => {
    on?.ring.dispose();
    on?.dp.dispose();
  });

  it('a UDP flow: one record when it starts, none for its next packets in the period', () => {
    on.records();
    const d = on.dp.countDelta(() => {
      expect(on.dp.run(udp({ src: CLIENT, dst: VIP, sport: 40000, dport: 53 })).verdict).toBe('TX');
      expect(on.dp.run(udp({ src: CLIENT, dst: VIP, sport: 40000, dport: 53 })).verdict).toBe('TX');
    });
    expect(on.records()).toEqual([{ flow: flowKey(dns(40000)), svc: 2, backend: 5, kind: OPEN }]);
    expect(d).toMatchObject({ SYNC_SENT: 1 });
  });

  it('a TCP flow: nothing while half-open, one record when the handshake completes, one at its FIN', () => {
    on.records();
    on.dp.run(syn(40001));
    expect(on.records(), 'a SYN: half-open, nothing yet').toEqual([]);
    on.dp.run(ack(40001));
    expect(on.records()).toEqual([{ flow: flowKey(web(40001)), svc: 1, backend: 4, kind: OPEN }]);
    on.dp.run(ack(40001));
    expect(on.records(), 'established, same period').toEqual([]);
    on.dp.run(ack(40001, 80, 'FA'));
    expect(on.records()).toEqual([{ flow: flowKey(web(40001)), svc: 1, backend: 4, kind: CLOSING }]);
    on.dp.run(ack(40001, 80, 'FA'));
    on.dp.ageCt(web(40001), 2n * SEC);
    on.dp.run(ack(40001, 80, 'A'));
    expect(on.records(), 'the close is sent once').toEqual([]);
  });

  it('a refresh in a new sync period sends the flow again; one in the same period does not', () => {
    on.dp.run(syn(40002));
    on.dp.run(ack(40002));
    on.records();
    // The entry's period parity says "sent in the other period" in one of these two runs: exactly
    // one of them (whatever the clock's parity now) sends a record. Aged: the packet is a refresh.
    let sent = 0;
    for (const parity of [0, F_SYNC_ODD]) {
      on.dp.setCtByte(web(40002), FLAGS_OFF, parity);
      on.dp.ageCt(web(40002), 2n * SEC);
      on.dp.run(ack(40002));
      sent += on.records().length;
    }
    expect(sent).toBe(1);
    // Not a refresh moment (written under a second ago): nothing, whatever the parity.
    for (const parity of [0, F_SYNC_ODD]) {
      on.dp.setCtByte(web(40002), FLAGS_OFF, parity);
      on.dp.run(ack(40002));
      expect(on.records()).toEqual([]);
    }
  });

  it("nat flows send nothing (they cannot move: the backend answers this node's SNAT address)", () => {
    on.records();
    on.dp.run(syn(40003, 443));
    on.dp.run(udp({ src: CLIENT, dst: VIP, sport: 40003, dport: 53 }));
    expect(on.records().map((r) => r.svc)).toEqual([2]);
  });

  it('past flow_sync_rate records per second on a CPU, records are dropped and counted', async () => {
    const capped = await load('hash', { flow_sync: 1, flow_sync_rate: 2 });
    try {
      const d = capped.dp.countDelta(() => {
        for (let p = 41000; p < 41005; p++) capped.dp.run(udp({ src: CLIENT, dst: VIP, sport: p, dport: 53 }));
      });
      expect(capped.records().length).toBe(2);
      expect(d).toMatchObject({ SYNC_SENT: 2, SYNC_DROPPED: 3, CT_NEW: 5 });
    } finally {
      capped.ring.dispose();
      capped.dp.dispose();
    }
  });

  it.each(STRATEGIES)('%s: off (the default) sends nothing; on, the object loads and sends', async (strategy) => {
    for (const flowSync of [0, 1]) {
      const x = await load(strategy, { flow_sync: flowSync });
      try {
        x.dp.run(udp({ src: CLIENT, dst: VIP, sport: 42000, dport: 53 }));
        x.dp.run(syn(42000));
        x.dp.run(ack(42000));
        expect(x.records().length, `flow_sync ${flowSync}`).toBe(flowSync ? 2 : 0);
        expect(x.dp.reasons().SYNC_SENT).toBe(BigInt(flowSync ? 2 : 0));
      } finally {
        x.ring.dispose();
        x.dp.dispose();
      }
    }
  });
});
