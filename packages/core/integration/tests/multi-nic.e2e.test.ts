// Two interfaces deployed at once, each answering, and the multi-NIC redirect path. The LB host
// has eth0 on bridge br0 (198.18.0.0/24, holds the VIP) and eth1 on br1 (198.18.1.0/24):
//
//   client1 198.18.0.101 ─┐                ┌─ http1 198.18.0.11, http2 198.18.0.12
//                         br0 ── lb eth0 ──┤
//                                 lb eth1 ── br1 ─┬─ client2 198.18.1.101 (VIP via 198.18.1.2)
//                                                 └─ http3 198.18.1.13 (198.18.0.0/24 via lb)
//
// One NAT service, round-robin, so that every client reaches every backend: client1 -> http1/2
// stays on eth0 (XDP_TX) and client1 -> http3 crosses to eth1 (redirect); client2 -> http1/2
// crosses to eth0, client2 -> http3 stays on eth1; the backends' replies take the same ways back.
// Twice: both interfaces native, then eth0 native + eth1 generic (a mode per interface).
// After undeploy: no pins (the bpffs root empty), no bpf link holding the program, the program
// itself gone, no XDP on either interface (`ip -d link show` in the LB's namespace), no state.
import { readdirSync, existsSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { httpGet, type Lab, type LabSpec, ping } from '@xdp-lb/netlab';
import { eventually, httpLoad, linksOfProgram, programExists, useE2e, xdpInterfaces } from './support.js';

const e2e = useE2e();

const VIP = '198.18.0.10';
const LB0 = '198.18.0.2';
const LB1 = '198.18.1.2';

const spec: LabSpec = {
  bridges: [{ name: 'br0' }, { name: 'br1' }],
  hosts: [
    { name: 'client1', bridge: 'br0', ipv4: '198.18.0.101/24' },
    { name: 'client2', bridge: 'br1', ipv4: '198.18.1.101/24', routes: [{ to: `${VIP}/32`, via: LB1 }] },
    {
      name: 'lb',
      forwarding: true,
      xdpPassPeer: true,
      interfaces: [
        { bridge: 'br0', ipv4: [`${LB0}/24`, `${VIP}/32`] },
        { bridge: 'br1', ipv4: `${LB1}/24` },
      ],
    },
    { name: 'http1', bridge: 'br0', ipv4: '198.18.0.11/24', http: true },
    { name: 'http2', bridge: 'br0', ipv4: '198.18.0.12/24', http: true },
    { name: 'http3', bridge: 'br1', ipv4: '198.18.1.13/24', http: true, routes: [{ to: '198.18.0.0/24', via: LB1 }] },
  ],
};

const PER_CLIENT = 24;

describe('two interfaces deployed at once', () => {
  let lab: Lab;
  beforeAll(async () => {
    lab = await e2e.lab(spec);
    // A service of the LB host itself, reachable on both of its addresses.
    await lab.host('lb').startHttpServer({ port: 8080, name: 'lb-itself' });
  });

  it.each([
    ['eth0 native + eth1 native', 'native', 'native'],
    ['eth0 native + eth1 generic', 'native', 'generic'],
  ] as const)('%s: each answers, across interfaces too; undeploy leaves nothing', async (_n, mode0, mode1) => {
    const lbHost = lab.host('lb');
    const lb = e2e.lb();
    const instance = e2e.instance('two-nic');
    const r = await e2e.deploy(lab, {
      instance,
      strategy: 'round-robin',
      interfaces: [`eth0:${mode0}`, `eth1:${mode1}`],
      limits: { conntrackSize: 65536 },
      snat: { addresses: [LB0], ports: e2e.snatPorts() },
      services: [{ vip: `${VIP}:80`, backends: ['198.18.0.11', '198.18.0.12', '198.18.1.13'] }],
    });
    expect(r.interfaces.map((i) => [i.name, i.mode])).toEqual([
      ['eth0', mode0],
      ['eth1', mode1],
    ]);
    const progId = r.interfaces[0]!.progId;
    expect(r.interfaces[1]!.progId).toBe(progId);
    expect((await linksOfProgram(progId)).length).toBe(2);
    expect((await xdpInterfaces(lbHost)).sort()).toEqual(['eth0', 'eth1']);

    const [a, b] = await Promise.all([
      httpLoad(lab.host('client1'), { address: VIP, count: PER_CLIENT }),
      httpLoad(lab.host('client2'), { address: VIP, count: PER_CLIENT }),
    ]);
    for (const res of [a!, b!]) {
      expect(res.errorSamples, `${res.tag}`).toEqual([]);
      expect(res.ok).toBe(PER_CLIENT);
      // Every client reached every backend, its own side's and the other side's.
      expect(Object.keys(res.byBackend).sort(), `${res.tag}: ${JSON.stringify(res.byBackend)}`).toEqual(['http1', 'http2', 'http3']);
      expect(res.peers).toEqual({ [LB0]: PER_CLIENT });
    }

    const s = lb.status(instance);
    expect(s.interfaces.map((i) => [i.name, i.mode, i.attached])).toEqual([
      ['eth0', mode0, true],
      ['eth1', mode1, true],
    ]);
    expect(s.services[0]!.counters.newFlows, JSON.stringify(s.reasons)).toBe(2 * PER_CLIENT);
    expect(s.reasons.tx, 'same-interface forwards').toBeGreaterThan(0);
    expect(s.reasons.redirect, 'cross-interface forwards').toBeGreaterThan(0);
    expect(Object.entries(s.reasons).filter(([k, v]) => k.startsWith('drop_') && v > 0)).toEqual([]);

    // The LB host's own traffic on both interfaces still works.
    expect((await httpGet(lab.host('client1'), `http://${LB0}:8080/`, { timeoutMs: 3000 })).body.trim()).toBe('lb-itself');
    expect((await httpGet(lab.host('client2'), `http://${LB1}:8080/`, { timeoutMs: 3000 })).body.trim()).toBe('lb-itself');
    expect(await ping(lab.host('client2'), LB1)).toBe(true);

    // Undeploy: no pins, links, programs or state left.
    expect(lb.undeploy(instance).detached.sort()).toEqual(['eth0', 'eth1']);
    expect(e2e.leftovers(instance)).toEqual({ pins: [], state: false });
    expect(existsSync(e2e.bpffs) ? readdirSync(e2e.bpffs) : []).toEqual([]);
    expect(await linksOfProgram(progId)).toEqual([]);
    expect(await eventually(async () => !(await programExists(progId))), `program ${progId} still loaded`).toBe(true);
    expect(await xdpInterfaces(lbHost)).toEqual([]);
    expect(lb.instances()).toEqual([]);
  });
});
