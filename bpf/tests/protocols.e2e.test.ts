// Protocol coverage end to end (issue 8), with the real control plane deploying into lab namespaces:
//   1. IPv6 HTTP through the LB in nat (NAT66) and dsr, and the encapsulating modes: ip6ip6 (IPv6)
//      and ipip (IPv4), the backends decapsulating with bpf/progs/xdp_decap.bpf.o (this kernel has
//      no ipip module) and answering clients directly; each backend sees the peer each mode promises.
//   2. Path MTU discovery through NAT, IPv4 and IPv6: the client sits behind a router whose link
//      towards it has MTU 1280 while everything else has 1500, so the backend's full-size responses
//      are refused by the router, whose "fragmentation needed" / "packet too big" goes to the VIP;
//      the LB must translate it for the backend, which then resends smaller segments: a 200 kB
//      response arrives.
//   3. Jumbo frames: native XDP on an interface with MTU 9000 is refused before anything is
//      attached; generic mode is accepted and carries large responses over jumbo frames.
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BpfLink, BpfObject, ifNameToIndex, inNetns } from '@xdp-lb/native';
import { httpGet, type Lab, tutorialAddresses, tutorialTopology, udpRequest } from '@xdp-lb/netlab';
import { e2eSkipReason, useLbE2e } from './harness/e2e.js';

if (e2eSkipReason) console.warn(`[bpf protocols e2e] skipped: ${e2eSkipReason}`);

const e2e = useLbE2e();
const DECAP = fileURLToPath(new URL('../obj/xdp_decap.bpf.o', import.meta.url));

interface Info {
  name: string;
  remoteAddress: string;
  localAddress: string;
}
const info = async (lab: Lab, url: string): Promise<Info> =>
  JSON.parse((await httpGet(lab.host('client1'), url, { timeoutMs: 5000 })).body) as Info;

describe.skipIf(e2eSkipReason !== null)('IPv6 (nat, dsr, ip6ip6) and ipip HTTP through the LB', () => {
  const topo = { clients: 1, backends: 2, ipv6: true, vipOnBackendsLoopback: true, udpEcho: true };
  const addr = tutorialAddresses(topo);
  const VIP6_NAT = '2001:db8:18::20';
  const VIP6_ENCAP = '2001:db8:18::30';
  const VIP4_ENCAP = '198.18.0.30';
  let lab: Lab;
  let instance: string;
  let decap: BpfObject | undefined;
  const links: BpfLink[] = [];

  beforeAll(async () => {
    lab = await e2e.lab(tutorialTopology(topo));
    const lb = lab.host('lb');
    for (const a of [`${VIP6_NAT}/128`, `${VIP6_ENCAP}/128`, `${VIP4_ENCAP}/32`]) await lb.addAddress(a, 'eth0');
    decap = BpfObject.open(DECAP);
    await decap.load();
    for (const name of ['http1', 'http2']) {
      const h = lab.host(name);
      await h.addAddress(`${VIP6_ENCAP}/128`);
      await h.addAddress(`${VIP4_ENCAP}/32`);
      links.push(inNetns(h.netns.path, () => BpfLink.attachXdp(decap!.program('xdp_decap'), ifNameToIndex('eth0'), { mode: 'drv' })));
    }
    instance = e2e.instance('proto6');
    const b6 = addr.backends6!;
    await e2e.deploy(lab, {
      instance,
      strategy: 'hash',
      interfaces: ['eth0:native'],
      snat: { addresses: [addr.lb, addr.lb6!] },
      limits: { encapSource4: '198.19.0.0', encapSource6: '2001:db8:ffff::' },
      services: [
        { name: 'nat6', vip: `[${VIP6_NAT}]:80`, forward: 'nat', backends: b6 },
        { name: 'dsr6', vip: `[${addr.vip6}]:80`, forward: 'dsr', backends: b6 },
        { name: 'ip6ip6', vip: `[${VIP6_ENCAP}]:80`, forward: 'ip6ip6', backends: b6 },
        { name: 'ipip', vip: `${VIP4_ENCAP}:80`, forward: 'ipip', backends: addr.backends },
        { name: 'udp4', vip: `${addr.vip}:7000`, protocol: 'udp', forward: 'nat', backends: addr.backends },
        { name: 'udp6', vip: `[${VIP6_NAT}]:7000`, protocol: 'udp', forward: 'nat', backends: b6 },
      ],
    });
  });
  afterAll(() => {
    for (const l of links) l.dispose();
    decap?.dispose();
  });

  const backendNames = ['http1', 'http2'];

  it('nat (NAT66): the backend sees the SNAT address, the client gets the answer', async () => {
    for (let i = 0; i < 4; i++) {
      const r = await info(lab, `http://[${VIP6_NAT}]/info`);
      expect(backendNames).toContain(r.name);
      expect(r.remoteAddress).toBe(addr.lb6);
      expect(addr.backends6).toContain(r.localAddress);
    }
  });

  it('dsr: the backend sees the client and answers from the VIP', async () => {
    for (let i = 0; i < 4; i++) {
      const r = await info(lab, `http://[${addr.vip6}]/info`);
      expect(backendNames).toContain(r.name);
      expect(r.remoteAddress).toBe(addr.clients6![0]);
      expect(r.localAddress).toBe(addr.vip6);
    }
  });

  it('ip6ip6: decapsulated by the backend, which sees the client and answers from the VIP', async () => {
    for (let i = 0; i < 4; i++) {
      const r = await info(lab, `http://[${VIP6_ENCAP}]/info`);
      expect(backendNames).toContain(r.name);
      expect(r.remoteAddress).toBe(addr.clients6![0]);
      expect(r.localAddress).toBe(VIP6_ENCAP);
    }
  });

  it('ipip: the same over IPv4', async () => {
    for (let i = 0; i < 4; i++) {
      const r = await info(lab, `http://${VIP4_ENCAP}/info`);
      expect(backendNames).toContain(r.name);
      expect(r.remoteAddress).toBe(addr.clients[0]);
      expect(r.localAddress).toBe(VIP4_ENCAP);
    }
  });

  it('a larger response over each mode (many segments, the checksums right end to end)', async () => {
    for (const url of [
      `http://[${VIP6_NAT}]/big?bytes=300000`,
      `http://[${addr.vip6}]/big?bytes=300000`,
      `http://[${VIP6_ENCAP}]/big?bytes=300000`,
      `http://${VIP4_ENCAP}/big?bytes=300000`,
    ]) {
      const r = await httpGet(lab.host('client1'), url, { timeoutMs: 10_000 });
      expect(r.status, url).toBe(200);
      expect(r.bytes, url).toBe(300000);
    }
  });

  it('fragmented UDP datagrams (4,000 bytes, fragmented by the client) through nat, IPv4 and IPv6', async () => {
    const before = e2e.lb().status(instance).reasons.fragment ?? 0;
    for (const address of [addr.vip, VIP6_NAT]) {
      for (let i = 0; i < 3; i++) {
        const reply = await udpRequest(lab.host('client1'), { address, payload: 'u'.repeat(4000), timeoutMs: 3000 });
        expect(backendNames).toContain(reply);
      }
    }
    // 3 fragments per datagram at MTU 1500, for each of the 6
    expect((e2e.lb().status(instance).reasons.fragment ?? 0) - before).toBeGreaterThanOrEqual(18);
  });

  it('the counters: new flows on every service, nothing dropped', () => {
    const s = e2e.lb().status(instance);
    for (const svc of s.services) expect(svc.counters.newFlows, svc.name).toBeGreaterThan(0);
    const r = s.reasons;
    for (const k of ['drop_error', 'drop_no_route', 'drop_too_big', 'drop_snat_stale', 'drop_fragment']) expect(r[k] ?? 0, k).toBe(0);
  });
});

describe.skipIf(e2eSkipReason !== null)('path MTU discovery through nat (a 1280-byte hop between the LB and the client)', () => {
  const VIP4 = '198.18.0.10';
  const VIP6 = '2001:db8:18::10';
  let lab: Lab;
  let instance: string;

  beforeAll(async () => {
    lab = await e2e.lab({
      bridges: [{ name: 'br0' }, { name: 'br1' }],
      hosts: [
        {
          name: 'client1',
          interfaces: [{ bridge: 'br1', ipv4: '198.18.1.100/24', ipv6: '2001:db8:19::100/64' }],
          routes: [
            { to: '198.18.0.0/24', via: '198.18.1.1' },
            { to: '2001:db8:18::/64', via: '2001:db8:19::1' },
          ],
        },
        {
          name: 'r',
          forwarding: true,
          interfaces: [
            { bridge: 'br0', ipv4: '198.18.0.1/24', ipv6: '2001:db8:18::1/64' },
            { bridge: 'br1', ipv4: '198.18.1.1/24', ipv6: '2001:db8:19::1/64', mtu: 1280 },
          ],
        },
        {
          name: 'lb',
          forwarding: true,
          xdpPassPeer: true,
          ipv4: ['198.18.0.2/24', `${VIP4}/32`],
          ipv6: ['2001:db8:18::2/64', `${VIP6}/128`],
          routes: [
            { to: '198.18.1.0/24', via: '198.18.0.1' },
            { to: '2001:db8:19::/64', via: '2001:db8:18::1' },
          ],
        },
        { name: 'http1', ipv4: '198.18.0.11/24', ipv6: '2001:db8:18::11/64', http: true },
      ],
    });
    instance = e2e.instance('pmtu');
    await e2e.deploy(lab, {
      instance,
      strategy: 'hash',
      interfaces: ['eth0:native'],
      snat: { addresses: ['198.18.0.2', '2001:db8:18::2'] },
      services: [
        { name: 'web4', vip: `${VIP4}:80`, forward: 'nat', backends: ['198.18.0.11'] },
        { name: 'web6', vip: `[${VIP6}]:80`, forward: 'nat', backends: ['2001:db8:18::11'] },
      ],
    });
  });

  it.each([
    ['IPv4', `http://${VIP4}/big?bytes=200000`],
    ['IPv6', `http://[${VIP6}]/big?bytes=200000`],
  ] as const)('%s: the backend learns the smaller MTU through the LB and the large response arrives', async (_f, url) => {
    const before = e2e.lb().status(instance).reasons.icmp_relayed ?? 0;
    const r = await httpGet(lab.host('client1'), url, { timeoutMs: 15_000 });
    expect(r.status).toBe(200);
    expect(r.bytes).toBe(200000);
    expect((e2e.lb().status(instance).reasons.icmp_relayed ?? 0) - before, 'errors relayed to the backend').toBeGreaterThan(0);
  });
});

describe.skipIf(e2eSkipReason !== null)('jumbo frames (MTU 9000)', () => {
  // (no xdp_pass on the LB's bridge-side peer: native XDP cannot go on a jumbo veth; generic mode needs none)
  const topo = { clients: 1, backends: 1, lbXdpPassPeer: false };
  const addr = tutorialAddresses(topo);
  let lab: Lab;

  beforeAll(async () => {
    const spec = tutorialTopology(topo);
    for (const h of spec.hosts) h.mtu = 9000;
    lab = await e2e.lab(spec);
  });

  const config = (instance: string, mode: string) => ({
    instance,
    strategy: 'hash',
    interfaces: [`eth0:${mode}`],
    snat: { addresses: [addr.lb] },
    services: [{ vip: `${addr.vip}:80`, forward: 'nat', backends: addr.backends }],
  });

  it('native mode is refused before anything is attached, with the reason', async () => {
    const instance = e2e.instance('jumbo');
    await expect(e2e.deploy(lab, config(instance, 'native'))).rejects.toThrow(/MTU 9000.*one page.*generic/);
    expect(e2e.lb().instances()).not.toContain(instance);
  });

  it('generic mode carries jumbo frames', async () => {
    const instance = e2e.instance('jumbo');
    await e2e.deploy(lab, config(instance, 'generic'));
    const r = await httpGet(lab.host('client1'), `http://${addr.vip}/big?bytes=500000`, { timeoutMs: 10_000 });
    expect(r.status).toBe(200);
    expect(r.bytes).toBe(500000);
    e2e.lb().undeploy(instance);
  });
});
