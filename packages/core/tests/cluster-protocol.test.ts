// Cluster flow sync's wire format (src/agent/cluster/protocol.ts): authentication, replay, loss
// counting; the per-peer queue (queue.ts): memory and rate bounds, batching, lag; and the config
// section's validation. Pure: no kernel, no network.
import { describe, expect, it } from 'vitest';
import { parseConfigText, toInput } from '../src/config/load.js';
import { resolveConfig } from '../src/config/resolve.js';
import { REDACTED_KEY } from '../src/config/cluster.js';
import { PeerQueue } from '../src/agent/cluster/queue.js';
import {
  decode,
  encode,
  HEADER,
  MAC,
  MAX_DATAGRAM,
  MAX_RECORDS,
  MsgType,
  RECORD,
  ReplayWindow,
  senderId,
  WINDOW,
  type WireFlow,
} from '../src/agent/cluster/protocol.js';

const KEY = Buffer.from('k'.repeat(40));
const flow = (i: number): WireFlow => {
  const tuple = Buffer.alloc(37);
  tuple.writeUInt32BE(0xffff, 8);
  tuple.writeUInt32BE(0xc6120100 + (i & 0xff), 12); // 198.18.1.x
  tuple.writeUInt32BE(0xffff, 24);
  tuple.writeUInt32BE(0xc612020a, 28); // 198.18.2.10
  tuple.writeUInt16BE(40000 + i, 32);
  tuple.writeUInt16BE(80, 34);
  tuple.writeUInt8(6, 36);
  const backendAddr = Buffer.alloc(16);
  backendAddr.writeUInt32BE(0xc612000b, 12);
  return { tuple, kind: 1, backendAddr, backendPort: 80 };
};

describe('cluster sync protocol', () => {
  it('round-trips every message type under the right key', () => {
    const flows = Array.from({ length: MAX_RECORDS }, (_, i) => flow(i));
    const d = encode(KEY, { type: MsgType.Flows, sender: 7, epoch: 3, seq: 99n, flows });
    expect(d.length).toBeLessThanOrEqual(MAX_DATAGRAM);
    expect(d.length).toBe(HEADER + MAC + MAX_RECORDS * RECORD);
    const m = decode(KEY, d);
    expect(m).toMatchObject({ type: MsgType.Flows, sender: 7, epoch: 3, seq: 99n });
    expect(typeof m !== 'string' && m.flows).toEqual(flows);
    expect(decode(KEY, encode(KEY, { type: MsgType.Pull, sender: 1, epoch: 1, seq: 1n, requestId: 42, flows: [] }))).toMatchObject({
      type: MsgType.Pull,
      requestId: 42,
      flows: [],
    });
    expect(
      decode(KEY, encode(KEY, { type: MsgType.PullEnd, sender: 1, epoch: 1, seq: 2n, requestId: 42, total: 1234, flows: [] })),
    ).toMatchObject({ requestId: 42, total: 1234 });
    expect(
      decode(KEY, encode(KEY, { type: MsgType.PullFlows, sender: 1, epoch: 1, seq: 3n, requestId: 5, flows: [flow(1)] })),
    ).toMatchObject({ requestId: 5, flows: [flow(1)] });
  });

  it('refuses more records than fit one datagram', () => {
    expect(() =>
      encode(KEY, { type: MsgType.Flows, sender: 1, epoch: 1, seq: 1n, flows: Array.from({ length: MAX_RECORDS + 1 }, (_, i) => flow(i)) }),
    ).toThrow(/at most/);
  });

  it('calls a wrong key, an altered byte or a truncated datagram forged or malformed, parsing nothing', () => {
    const d = encode(KEY, { type: MsgType.Flows, sender: 7, epoch: 3, seq: 1n, flows: [flow(1)] });
    expect(decode(Buffer.from('x'.repeat(40)), d)).toBe('forged');
    for (const at of [0, 5, 20, HEADER + 3, d.length - 1]) {
      const bad = Buffer.from(d);
      bad[at]! ^= 1;
      expect(decode(KEY, bad), `byte ${at} flipped`).toBe('forged');
    }
    expect(decode(KEY, d.subarray(0, 40))).toBe('malformed');
    expect(decode(KEY, d.subarray(0, d.length - 1))).toBe('forged');
  });

  it('accepts each (epoch, seq) once: replays and old epochs are refused, reordering within the window is not', () => {
    const w = new ReplayWindow();
    expect(w.accept(5, 1n)).toBe(true);
    expect(w.accept(5, 1n)).toBe(false);
    expect(w.accept(5, 3n)).toBe(true);
    expect(w.accept(5, 2n)).toBe(true); // late, within the window
    expect(w.accept(5, 2n)).toBe(false);
    expect(w.accept(5, 3n + WINDOW)).toBe(true);
    expect(w.accept(5, 3n)).toBe(false); // fell out of the window
    expect(w.accept(4, 100_000n)).toBe(false); // an older epoch
    expect(w.accept(6, 1n)).toBe(true); // the sender restarted
    expect(w.accept(5, 10_000n)).toBe(false);
  });

  it('counts the datagrams that never arrived (gaps in seq), not those that came late', () => {
    const w = new ReplayWindow();
    w.accept(1, 10n); // the first one seen: what came before it is not counted
    w.accept(1, 11n);
    w.accept(1, 15n); // 12, 13, 14 missing
    expect(w.lost).toBe(3);
    w.accept(1, 13n); // late, not lost
    expect(w.lost).toBe(2);
  });

  it('names nodes by their sync address', () => {
    expect(senderId('198.18.0.2:7946')).not.toBe(senderId('198.18.0.3:7946'));
    expect(senderId('198.18.0.2:7946')).toBe(senderId('198.18.0.2:7946'));
  });
});

describe('cluster config', () => {
  const base = `instance: c1
interfaces: [eth0]
services:
  - vip: 198.18.2.10:80
    forward: dsr
    backends: [198.18.0.11]
`;
  const load = (cluster: string) => parseConfigText(`${base}cluster:\n${cluster}`, { source: 'test.yaml' });

  it('resolves addresses, fills defaults and leaves this node out of its peers', () => {
    const cfg = load(`  listen: 198.18.0.2:7946\n  peers: [198.18.0.2:7946, 198.18.0.3]\n  key: ${'a'.repeat(32)}\n`);
    expect(cfg.cluster?.listen.text).toBe('198.18.0.2:7946');
    expect(cfg.cluster?.peers.map((p) => p.text)).toEqual(['198.18.0.3:7946']);
    expect(cfg.cluster).toMatchObject({ pullTimeoutMs: 5000, flushMs: 10, ringBytes: 1 << 20 });
  });

  it('never writes the key back (state, config dump): a placeholder that resolves again', () => {
    const cfg = load(`  listen: 198.18.0.2:7946\n  peers: [198.18.0.3]\n  key: ${'s'.repeat(40)}\n`);
    const input = toInput(cfg);
    expect(input.cluster).toMatchObject({ listen: '198.18.0.2:7946', peers: ['198.18.0.3:7946'], key: REDACTED_KEY });
    expect(JSON.stringify(input)).not.toContain('s'.repeat(40));
    expect(resolveConfig(input).cluster?.peers.map((p) => p.text)).toEqual(['198.18.0.3:7946']);
    const withFile = load(`  listen: 198.18.0.2\n  peers: [198.18.0.3]\n  keyFile: /etc/xdp-lb/cluster.key\n`);
    expect(toInput(withFile).cluster).toMatchObject({ keyFile: '/etc/xdp-lb/cluster.key' });
    expect(toInput(withFile).cluster).not.toHaveProperty('key');
  });

  it('says in one line what is wrong', () => {
    expect(() => load(`  listen: 198.18.0.2\n  peers: [198.18.0.3]\n  key: short\n`)).toThrow(/cluster\.key.*at least 32 characters/);
    expect(() => load(`  listen: 198.18.0.2\n  peers: [198.18.0.3]\n`)).toThrow(/exactly one of cluster\.key and cluster\.keyFile/);
    expect(() => load(`  listen: 198.18.0.2\n  peers: [198.18.0.2]\n  key: ${'a'.repeat(32)}\n`)).toThrow(/no peer besides this node/);
    expect(() => load(`  listen: lb1\n  peers: [198.18.0.3]\n  key: ${'a'.repeat(32)}\n`)).toThrow(/cluster\.listen.*not an IP address/);
    expect(() => load(`  listen: 198.18.0.2\n  peers: [198.18.0.3]\n  key: ${'a'.repeat(32)}\n  ringBytes: 5000\n`)).toThrow(
      /power of two/,
    );
  });
});

describe('cluster sync queue (per peer)', () => {
  it('holds at most maxQueue items: the rest are refused (the caller counts them)', () => {
    const q = new PeerQueue<number>(3, 1000);
    expect([1, 2, 3, 4, 5].map((i) => q.push(i, 0))).toEqual([true, true, true, false, false]);
    expect(q.length).toBe(3);
  });

  it('sends at most perSec items a second, a tenth of a second saved up at most, in datagrams of MAX_RECORDS', () => {
    const q = new PeerQueue<number>(100_000, 1000);
    for (let i = 0; i < 500; i++) q.push(i, 0);
    q.refill(0);
    expect(q.take()).toEqual([]); // no tokens yet
    q.refill(50); // 50 ms: 50 items
    const batches = q.take();
    expect(batches.flat()).toEqual(Array.from({ length: 50 }, (_, i) => i));
    expect(batches.map((b) => b.length)).toEqual([MAX_RECORDS, MAX_RECORDS, 50 - 2 * MAX_RECORDS]);
    q.refill(10_050); // ten seconds idle: only 100 (a tenth of a second) saved up
    expect(q.take().flat().length).toBe(100);
    expect(q.length).toBe(350);
  });

  it("says the sync lag: the oldest waiting item's age", () => {
    const q = new PeerQueue<string>(10, 1000);
    expect(q.lag(5)).toBe(0);
    q.push('a', 100);
    q.push('b', 150);
    expect(q.lag(400)).toBe(300);
  });

  it("shares its tokens with what is sent besides the queue (a pull's answer)", () => {
    const q = new PeerQueue<number>(10, 1000);
    q.refill(0);
    q.refill(20);
    expect(q.available).toBe(20);
    q.spend(15);
    q.push(1, 20);
    q.push(2, 20);
    expect(q.take().flat()).toEqual([1, 2]);
    expect(q.available).toBe(3);
  });
});
