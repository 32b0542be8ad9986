// Deploy's own job for IPv6: bpf_fib_lookup() for IPv6 answers only when the ingress interface
// forwards IPv6, so deploy must turn it on (and keep router advertisements working with
// accept_ra=2), then undeploy must put both back. This lab leaves forwarding OFF on the LB.
import { describe, expect, it } from 'vitest';
import { httpGet, tutorialAddresses, tutorialTopology } from '@xdp-lb/netlab';
import { useE2e } from './support.js';

const e2e = useE2e();
const root = process.getuid?.() === 0;

describe.skipIf(!root)("IPv6 forwarding is deploy's job", () => {
  it('turns IPv6 forwarding on for an IPv6 service, serves HTTP over IPv6, and restores it on undeploy', async () => {
    const opts = { clients: 1, backends: 2, ipv6: true, lbForwarding: false };
    const a = tutorialAddresses(opts);
    const lab = await e2e.lab(tutorialTopology(opts));
    const lb = lab.host('lb');
    const sysctl = async (k: string) => (await lb.exec(['sysctl', '-n', k])).stdout.trim();
    await lb.sysctl({ 'net.ipv6.conf.eth0.accept_ra': 1 });
    expect(await sysctl('net.ipv6.conf.eth0.forwarding')).toBe('0');

    const instance = e2e.instance('v6fwd');
    await e2e.deploy(lab, {
      instance,
      interfaces: ['eth0:native'],
      snat: { addresses: [a.lb6!], ports: e2e.snatPorts() },
      services: [{ vip: `[${a.vip6}]:80`, backends: a.backends6!.map((b) => `[${b}]`) }],
    });
    expect(await sysctl('net.ipv6.conf.eth0.forwarding')).toBe('1');
    expect(await sysctl('net.ipv6.conf.eth0.accept_ra')).toBe('2');
    const served = new Set<string>();
    for (let i = 0; i < 6; i++) served.add((await httpGet(lab.host('client1'), `http://[${a.vip6}]/`, { timeoutMs: 3000 })).body.trim());
    expect([...served].every((s) => /^http\d$/.test(s))).toBe(true);

    e2e.lb().undeploy(instance);
    expect(await sysctl('net.ipv6.conf.eth0.forwarding')).toBe('0');
    expect(await sysctl('net.ipv6.conf.eth0.accept_ra')).toBe('1');
    expect(e2e.leftovers(instance)).toEqual({ pins: [], state: false });
  });
});
