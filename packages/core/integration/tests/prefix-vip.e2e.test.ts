// Prefix VIPs (issue 20: Katran's CIDR VIPs) end to end: a /28 (expanded into exact keys) and a
// /24 (the data plane's LPM trie, the knob vip_nets on) deployed by the real control plane on the
// tutorial lab, the client routing both prefixes via the LB; HTTP to several addresses of each
// reaches the backends through NAT, an exact VIP inside the /24 keeps its own service, status
// names the services by prefix, and undeploy leaves nothing behind.
import { describe, expect, it } from 'vitest';
import { httpGet, tutorialAddresses, tutorialTopology } from '@xdp-lb/netlab';
import { useE2e } from './support.js';

const e2e = useE2e();
const root = process.getuid?.() === 0;
const SMALL = '198.18.10.0/28';
const LARGE = '198.18.20.0/24';
const EXACT = '198.18.20.9'; // inside LARGE, its own service (the first backend only)

describe.skipIf(!root)('prefix VIPs', () => {
  it('serves every address of a /28 and of a /24, the longest match first', async () => {
    const opts = { clients: 1, backends: 2 };
    const a = tutorialAddresses(opts);
    const topo = tutorialTopology(opts);
    const client = topo.hosts.find((h) => h.name === 'client1')!;
    client.routes = [...(client.routes ?? []), { to: SMALL, via: a.lb }, { to: LARGE, via: a.lb }];
    const lab = await e2e.lab(topo);
    const instance = e2e.instance('prefix');
    await e2e.deploy(lab, {
      instance,
      interfaces: ['eth0:native'],
      snat: { addresses: [a.lb], ports: e2e.snatPorts() },
      services: [
        { vip: `${SMALL}:80`, backends: a.backends },
        { vip: `${LARGE}:80`, backends: a.backends },
        { vip: `${EXACT}:80`, backends: [a.backends[0]!] },
      ],
    });
    const c = lab.host('client1');
    const get = async (ip: string) => (await httpGet(c, `http://${ip}/`, { timeoutMs: 3000 })).body.trim();
    for (const ip of ['198.18.10.0', '198.18.10.1', '198.18.10.7', '198.18.10.15', '198.18.20.1', '198.18.20.77', '198.18.20.254']) {
      expect(await get(ip), ip).toMatch(/^http[12]$/);
    }
    for (let i = 0; i < 4; i++) expect(await get(EXACT)).toBe('http1');

    const status = e2e.lb().status(instance);
    const byVip = new Map(status.services.map((s) => [s.vip, s]));
    expect(byVip.get(`${SMALL}:80`)).toMatchObject({ name: `${SMALL}:80/tcp`, serving: true });
    expect(byVip.get(`${SMALL}:80`)!.counters.newFlows).toBe(4);
    expect(byVip.get(`${LARGE}:80`)).toMatchObject({ serving: true });
    expect(byVip.get(`${LARGE}:80`)!.counters.newFlows).toBe(3);
    expect(byVip.get(`${EXACT}:80`)!.counters.newFlows).toBe(4);

    // Hot updates move the keys by the longest match: the exact VIP's address falls back to the
    // /24, an exact VIP added inside the /28 takes its address from it, the rest stay.
    await e2e.lb().update(instance, { kind: 'service-remove', service: `${EXACT}:80` });
    await e2e.lb().update(instance, { kind: 'service-add', service: { vip: '198.18.10.5:80', backends: [a.backends[1]!] } });
    const seen = new Set<string>();
    for (let i = 0; i < 6; i++) seen.add(await get(EXACT));
    expect(seen, 'the /24 spreads its flows again').toEqual(new Set(['http1', 'http2']));
    for (let i = 0; i < 4; i++) expect(await get('198.18.10.5')).toBe('http2');
    expect(await get('198.18.10.6')).toMatch(/^http[12]$/);
    const after = new Map(
      e2e
        .lb()
        .status(instance)
        .services.map((s) => [s.vip, s]),
    );
    expect(after.get(`${LARGE}:80`)!.counters.newFlows).toBe(3 + 6);
    expect(after.get(`${SMALL}:80`)!.counters.newFlows).toBe(4 + 1);
    // Removing the only large prefix turns the data plane's prefix lookup off: a load-time change
    await expect(e2e.lb().update(instance, { kind: 'service-remove', service: `${LARGE}:80` })).rejects.toThrow(
      /prefix lookup off\) changed: these are fixed at load; run lb deploy/,
    );

    e2e.lb().undeploy(instance);
    expect(e2e.leftovers(instance)).toEqual({ pins: [], state: false });
  });
});
