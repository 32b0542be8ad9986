// Any-port services (issue 20) end to end: a config with `vip: VIP:*` deployed by the real control
// plane on the tutorial lab; HTTP on two ports of the VIP reaches the backends' listeners on those
// same ports through NAT (the flows keep their destination port), status names the service
// "VIP:*", a port with its own service keeps it, and undeploy leaves nothing behind.
import { describe, expect, it } from 'vitest';
import { httpGet, startHttpServer, tutorialAddresses, tutorialTopology } from '@xdp-lb/netlab';
import { useE2e } from './support.js';

const e2e = useE2e();
const root = process.getuid?.() === 0;

describe.skipIf(!root)('any-port services', () => {
  it('serves every port of the VIP (nat keeps the port), beside a service on one port', async () => {
    const opts = { clients: 1, backends: 2 };
    const a = tutorialAddresses(opts);
    const lab = await e2e.lab(tutorialTopology(opts));
    // each backend also listens on 8080 and 9090, answering "<name>-<port>"
    for (const name of ['http1', 'http2']) {
      for (const port of [8080, 9090]) await startHttpServer(lab.host(name), { port, name: `${name}-${port}` });
    }
    const instance = e2e.instance('anyport');
    await e2e.deploy(lab, {
      instance,
      interfaces: ['eth0:native'],
      snat: { addresses: [a.lb], ports: e2e.snatPorts() },
      services: [
        { vip: `${a.vip}:*`, backends: a.backends },
        { vip: `${a.vip}:9090`, backends: [`${a.backends[0]}`] },
      ],
    });
    const client = lab.host('client1');
    const seen8080 = new Set<string>();
    for (let i = 0; i < 6; i++) seen8080.add((await httpGet(client, `http://${a.vip}:8080/`, { timeoutMs: 3000 })).body.trim());
    expect([...seen8080].every((s) => /^http\d-8080$/.test(s))).toBe(true);
    expect((await httpGet(client, `http://${a.vip}/`, { timeoutMs: 3000 })).body.trim()).toMatch(/^http\d$/);
    // :9090 has its own service, to the first backend only
    for (let i = 0; i < 4; i++)
      expect((await httpGet(client, `http://${a.vip}:9090/`, { timeoutMs: 3000 })).body.trim()).toBe('http1-9090');

    const status = e2e.lb().status(instance);
    const any = status.services.find((s) => s.vip === `${a.vip}:*`);
    expect(any).toMatchObject({ name: `${a.vip}:*/tcp`, protocol: 'tcp' });
    expect(any!.counters.newFlows).toBeGreaterThanOrEqual(7);

    e2e.lb().undeploy(instance);
    expect(e2e.leftovers(instance)).toEqual({ pins: [], state: false });
  });
});
