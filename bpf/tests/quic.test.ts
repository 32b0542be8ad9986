// QUIC connection-id routing (issue 20; bpf/lib/quic.h) through BPF_PROG_TEST_RUN, for each
// strategy object. A UDP service flagged LB_SVC_F_QUIC sends a new tuple's short-header packet whose
// connection id carries a server id of lb_quic_ids to that backend: a migrating client (new address
// and port, same connection id) keeps its server. Long headers, server id 0, unknown ids, short
// connection ids and tuples conntrack already knows take the strategy's choice.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LB_BE_DRAINING, LB_BE_EMPTY, LB_SVC_F_QUIC } from './harness/abi.js';
import { backendMac, backendOf, bpfSkipReason, STRATEGIES, TestDataplane } from './harness/dataplane.js';
import { check } from './harness/fixtures.js';
import { MAC, udp, withMacs } from './harness/frames.js';

if (bpfSkipReason) console.warn(`[bpf quic] skipped: ${bpfSkipReason}`);

const VIP = '198.18.0.10'; // udp/443 QUIC: service 0, table [1]; backends 2 and 3 reachable by server id only
const VIP_PLAIN = '198.18.0.11'; // udp/443 without the flag: service 1, table [1]
const VIP6 = '2001:db8:18::10'; // udp/443 QUIC: service 2, table [4]; backend 5 by server id
const CLIENTS = ['198.18.1.1', '198.18.1.2', '198.18.1.3'];

/** A connection id of layout `version` (1: 16-bit, 2: 24-bit, 3: 32-bit server id), 8 bytes. */
function cid(version: 0 | 1 | 2 | 3, serverId: number): number[] {
  const b = [0, 0xa1, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7];
  if (version === 1) {
    b[0] = 0x40 | ((serverId >> 10) & 0x3f);
    b[1] = (serverId >> 2) & 0xff;
    b[2] = ((serverId & 0x3) << 6) | 0x15;
  } else if (version >= 2) {
    b[0] = (version << 6) | 0x2a;
    const bytes = version === 2 ? [serverId >> 16, serverId >> 8, serverId] : [serverId >>> 24, serverId >> 16, serverId >> 8, serverId];
    bytes.forEach((x, i) => (b[1 + i] = x & 0xff));
  }
  return b;
}

/** A short-header packet's UDP payload: first byte 0x40 (fixed bit), the connection id, some protected bytes. */
const short = (id: number[]) => [0x40, ...id, 0x11, 0x22, 0x33, 0x44];
/** A long-header packet (type `type`: 0 Initial, 0x20 Handshake): version 1, DCID length 8, the DCID. */
const long = (type: number, id: number[]) => [0xc0 | type, 0, 0, 0, 1, id.length, ...id, 0, 0x11, 0x22];

describe.skipIf(bpfSkipReason !== null).each(STRATEGIES)('QUIC connection-id routing [%s]', (strategy) => {
  let dp: TestDataplane;
  let sport = 50000;

  beforeAll(async () => {
    dp = await TestDataplane.load(strategy);
    dp.addAddr(VIP, 1);
    dp.addAddr(VIP_PLAIN, 1);
    dp.addAddr(VIP6, 1);
    dp.addService({ vip: VIP, port: 443, proto: 'udp', id: 0, fwd: 'dsr', flags: LB_SVC_F_QUIC });
    dp.addService({ vip: VIP_PLAIN, port: 443, proto: 'udp', id: 1, fwd: 'dsr' });
    dp.addService({ vip: VIP6, port: 443, proto: 'udp', id: 2, fwd: 'dsr', flags: LB_SVC_F_QUIC });
    for (const id of [1, 2, 3]) dp.setBackend(id, { addr: `198.18.2.${id}`, port: 443 });
    dp.setBackend(4, { addr: '2001:db8:2::4', port: 443 });
    dp.setBackend(5, { addr: '2001:db8:2::5', port: 443 });
    dp.setTable(0, [1]);
    dp.setTable(1, [1]);
    dp.setTable(2, [4]);
    dp.setQuicId(0, 0x0102, 2); // v1 (16 bits)
    dp.setQuicId(0, 0x030405, 3); // v2 (24 bits)
    dp.setQuicId(0, 0xfe000001, 2); // v3 (32 bits)
    dp.setQuicId(1, 0x030405, 3); // the plain service has ids too, but no flag
    dp.setQuicId(2, 0x000777, 5);
  });
  afterAll(() => dp?.dispose());

  /** One datagram from `src` (a fresh port unless given) to dst:443; returns the backend it reached. */
  function send(src: string, payload: number[], reasons: Record<string, number>, dst = VIP, port = sport++): number {
    const input = udp({ src, dst, sport: port, dport: 443, payload });
    const r = check(dp, {
      description: `${src}:${port} -> ${dst} [${payload.slice(0, 6).join(',')}]`,
      input,
      verdict: 'TX',
      reasons: { TX: 1, ...reasons },
    });
    expect(r.data.subarray(6), 'only the MACs change').toEqual(withMacs(input, backendMac(backendOf(r.data)), MAC.lb).subarray(6));
    return backendOf(r.data);
  }

  it('a short header whose server id is known goes to its backend, for each layout', () => {
    expect(send(CLIENTS[0]!, short(cid(2, 0x030405)), { CT_NEW: 1, QUIC_ROUTED: 1 })).toBe(3);
    expect(send(CLIENTS[0]!, short(cid(1, 0x0102)), { CT_NEW: 1, QUIC_ROUTED: 1 })).toBe(2);
    expect(send(CLIENTS[0]!, short(cid(3, 0xfe000001)), { CT_NEW: 1, QUIC_ROUTED: 1 })).toBe(2);
  });

  it('a migrating client (new address, new port, same connection id) keeps its server', () => {
    const id = cid(2, 0x030405);
    for (const src of CLIENTS) expect(send(src, short(id), { CT_NEW: 1, QUIC_ROUTED: 1 }), src).toBe(3);
    const port = sport++;
    expect(send(CLIENTS[2]!, short(id), { CT_NEW: 1, QUIC_ROUTED: 1 }, VIP, port)).toBe(3);
    expect(send(CLIENTS[2]!, short(id), {}, VIP, port), 'then its tuple is tracked').toBe(3);
  });

  it('long headers (Initial, Handshake) take the strategy, whatever their connection id says', () => {
    expect(send(CLIENTS[0]!, long(0x00, cid(2, 0x030405)), { CT_NEW: 1 })).toBe(1);
    expect(send(CLIENTS[0]!, long(0x20, cid(2, 0x030405)), { CT_NEW: 1 })).toBe(1);
  });

  it('server id 0, an unknown id, a connection id shorter than 8 bytes: the strategy', () => {
    expect(send(CLIENTS[0]!, short(cid(0, 0)), { CT_NEW: 1 })).toBe(1);
    expect(send(CLIENTS[0]!, short(cid(2, 0)), { CT_NEW: 1 })).toBe(1);
    expect(send(CLIENTS[0]!, short(cid(2, 0x999999)), { CT_NEW: 1, QUIC_UNKNOWN: 1 })).toBe(1);
    expect(send(CLIENTS[0]!, [0x40, ...cid(2, 0x030405).slice(0, 7)], { CT_NEW: 1 })).toBe(1);
  });

  it('a tracked tuple keeps its backend; a service without the flag ignores connection ids', () => {
    const port = sport++;
    expect(send(CLIENTS[1]!, long(0x00, cid(0, 0)), { CT_NEW: 1 }, VIP, port)).toBe(1);
    expect(send(CLIENTS[1]!, short(cid(2, 0x030405)), {}, VIP, port)).toBe(1);
    expect(send(CLIENTS[1]!, short(cid(2, 0x030405)), { CT_NEW: 1 }, VIP_PLAIN)).toBe(1);
  });

  it('a draining backend keeps its connections; a removed one does not', () => {
    dp.setBackend(3, { addr: '198.18.2.3', port: 443, state: LB_BE_DRAINING });
    expect(send(CLIENTS[0]!, short(cid(2, 0x030405)), { CT_NEW: 1, QUIC_ROUTED: 1 })).toBe(3);
    dp.setBackend(3, { addr: '198.18.2.3', port: 443, state: LB_BE_EMPTY });
    expect(send(CLIENTS[0]!, short(cid(2, 0x030405)), { CT_NEW: 1, QUIC_UNKNOWN: 1 })).toBe(1);
    dp.setBackend(3, { addr: '198.18.2.3', port: 443 });
  });

  it('IPv6', () => {
    expect(send('2001:db8:1::1', short(cid(2, 0x000777)), { CT_NEW: 1, QUIC_ROUTED: 1 }, VIP6)).toBe(5);
    expect(send('2001:db8:1::2', short(cid(2, 0x000777)), { CT_NEW: 1, QUIC_ROUTED: 1 }, VIP6)).toBe(5);
    expect(send('2001:db8:1::2', short(cid(2, 0x000778)), { CT_NEW: 1, QUIC_UNKNOWN: 1 }, VIP6)).toBe(4);
  });
});
