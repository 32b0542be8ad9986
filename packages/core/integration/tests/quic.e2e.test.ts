// QUIC connection-id routing (issue 20; bpf/lib/quic.h) end to end: a UDP service with `quic: true`
// and a quicServerId per backend, deployed by the real control plane on the tutorial lab (NAT). A
// client sends short-header datagrams, each from a new source port (a new tuple, as a migrating
// client's), whose connection id (layout 1: a 16-bit server id, all bytes printable here) names one
// backend: every one reaches that backend; without a known id the strategy spreads them. The
// counters say which were routed by the connection id.
import { describe, expect, it } from 'vitest';
import { tutorialAddresses, tutorialTopology, udpRequests } from '@xdp-lb/netlab';
import { useE2e } from './support.js';

const e2e = useE2e();
const root = process.getuid?.() === 0;

/** A short header (0x40) and an 8-byte connection id of layout 1 carrying `serverId` (its 6 high bits 0). */
function shortHeader(serverId: number): string {
  const cid = [0x40 | (serverId >> 10), (serverId >> 2) & 0xff, ((serverId & 3) << 6) | 0x30, 0x31, 0x32, 0x33, 0x34, 0x35];
  if (cid.some((b) => b >= 0x80)) throw new Error('keep the id printable');
  return String.fromCharCode(0x40, ...cid) + 'protected';
}

describe.skipIf(!root)('QUIC connection-id routing', () => {
  it('datagrams from new ports with one server id all reach its backend', async () => {
    const opts = { clients: 1, backends: 2, udpEcho: true };
    const a = tutorialAddresses(opts);
    const lab = await e2e.lab(tutorialTopology(opts));
    const instance = e2e.instance('quic');
    await e2e.deploy(lab, {
      instance,
      interfaces: ['eth0:native'],
      snat: { addresses: [a.lb], ports: e2e.snatPorts() },
      services: [
        {
          vip: `${a.vip}:7000`,
          protocol: 'udp',
          quic: true,
          backends: [
            { address: a.backends[0]!, quicServerId: 0x104 },
            { address: a.backends[1]!, quicServerId: 0x108 },
          ],
        },
      ],
    });
    const c = lab.host('client1');
    const replies = async (payload: string) =>
      (await udpRequests(c, { address: a.vip, port: 7000, payload, count: 8, timeoutMs: 2000 })).map((r) => (r.ok ? r.reply : r.error));
    expect(await replies(shortHeader(0x108))).toEqual(Array(8).fill('http2'));
    expect(await replies(shortHeader(0x104))).toEqual(Array(8).fill('http1'));
    const spread = new Set(await replies(shortHeader(0x999)));
    expect(spread.size, 'an unknown id: the strategy chooses').toBe(2);

    const status = e2e.lb().status(instance);
    expect(status.services[0]).toMatchObject({ quic: true });
    expect(status.services[0]!.backends.map((b) => b.quicServerId)).toEqual([0x104, 0x108]);
    expect(status.reasons.quic_routed).toBe(16);
    expect(status.reasons.quic_unknown).toBe(8);

    // A draining backend keeps its connections, migrated ones included; a removed one's id is unknown.
    const svc = `${a.vip}:7000/udp`;
    await e2e.lb().update(instance, { kind: 'backend-drain', service: svc, backend: a.backends[1]! });
    expect(await replies(shortHeader(0x108))).toEqual(Array(8).fill('http2'));
    expect(new Set(await replies(shortHeader(0x999))), 'new connections avoid it').toEqual(new Set(['http1']));
    await e2e.lb().update(instance, { kind: 'backend-remove', service: svc, backend: a.backends[1]! });
    expect(await replies(shortHeader(0x108))).toEqual(Array(8).fill('http1'));
    expect(e2e.lb().status(instance).reasons.quic_unknown).toBe(8 + 8 + 8);

    e2e.lb().undeploy(instance);
    expect(e2e.leftovers(instance)).toEqual({ pins: [], state: false });
  });
});
