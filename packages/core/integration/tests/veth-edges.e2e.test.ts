// Native XDP on veth as the kernel makes it by default (issue 15 #4, #6): nothing on the LB's veth
// peer (no XDP program: veth would drop every XDP_TX'd frame), TX checksum offload ON everywhere
// (local senders' frames carry partial checksums, which native XDP_TX would forward unfinished), TX
// VLAN offload on (a tag crosses the pair as metadata, outside the frame the program reads).
//   - doctor explains what native mode on the veth needs; deploy prepares the peer (xdp_pass,
//     tx/txvlan off), says so (its result, the status' devices), and HTTP is served in nat and
//     dsr; undeploy puts the peer back as it was;
//   - a frame never changes VLAN through the LB: a tagged UDP datagram to a NAT VIP reaches the
//     backend with its tag; a QinQ one is passed to the LB's host, never forwarded;
//   - auto attaches generic on a veth; a veth whose peer xdp-lb cannot enter is refused in native
//     mode with the cause and --mode generic.
// (This kernel has no 802.1Q module, so no VLAN sub-interface: tagged frames are injected raw.)
// The library's doctor and status are what `lb doctor -o json` and `lb status` print; how the CLI
// renders the status' device lines is its render-status.test.ts.
import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildFrame, httpGet, type Lab, parseFrame, sendFrames, startCapture, tutorialAddresses, tutorialTopology } from '@xdp-lb/netlab';
import { useE2e } from './support.js';

const e2e = useE2e();
const topo = { clients: 1, backends: 2, lbXdpPassPeer: false, vipOnBackendsLoopback: true, udpEcho: { port: 7000 } };
const addr = tutorialAddresses(topo);

describe('native XDP on a veth left as the kernel makes it', () => {
  let lab: Lab;
  const peerFeatures = async (): Promise<Record<string, string>> => {
    const r = await lab.switchNs.exec(['ethtool', '-k', lab.host('lb').interfaces[0]!.peer]);
    return Object.fromEntries(
      [...r.stdout.matchAll(/^(tx-checksumming|tx-vlan-offload|tx-vlan-stag-hw-insert): (on|off)/gm)].map((m) => [m[1]!, m[2]!]),
    );
  };
  const peerXdp = async (): Promise<boolean> =>
    /\bxdp\b/.test((await lab.switchNs.exec(['ip', 'link', 'show', 'dev', lab.host('lb').interfaces[0]!.peer])).stdout);

  const doctorDetail = async (iface: string): Promise<{ status: string; detail: string }> => {
    const report = await e2e.lb().doctor({ interfaces: [iface], netns: lab.host('lb').netns.name });
    return report.checks.find((c) => c.id === `interface:${iface}`)!;
  };

  /** A tagged and a QinQ UDP datagram to the NAT service VIP:7000/udp, captured at the backends. */
  const vlanCheck = async (label: string): Promise<void> => {
    const client = lab.host('client1');
    const lbMac = lab.host('lb').interfaces[0]!.mac;
    const udpPacket = (marker: string) =>
      buildFrame({ ipv4: { src: addr.clients[0]!, dst: addr.vip }, udp: { sport: 41001, dport: 7000 }, payload: marker }).subarray(14);
    const datagram = (marker: string, tags: 'single' | 'qinq') =>
      buildFrame({
        eth: { src: client.interfaces[0]!.mac, dst: lbMac, ...(tags === 'qinq' ? { type: 0x88a8 } : {}) },
        ...(tags === 'qinq' ? { vlan: { id: 10, type: 0x8100 } } : { vlan: { id: 100 } }),
        ...(tags === 'qinq'
          ? { payload: Buffer.concat([Buffer.from([0x00, 0x64, 0x08, 0x00]), udpPacket(marker)]) }
          : { ipv4: { src: addr.clients[0]!, dst: addr.vip }, udp: { sport: 41000, dport: 7000 }, payload: marker }),
      });
    const single = `vlan-single-100-${label}`;
    const qinq = `vlan-qinq-10-100-${label}`;
    const caps = await Promise.all(['http1', 'http2'].map((h) => startCapture(lab.host(h), { direction: 'in' })));
    try {
      expect(await sendFrames(client, [datagram(single, 'single'), datagram(qinq, 'qinq')])).toBe(2);
      await new Promise((r) => setTimeout(r, 500));
    } finally {
      await Promise.all(caps.map((c) => c.stop()));
    }
    const frames = caps.flatMap((c) => c.frames().map((f) => f.data));
    const carrying = (m: string) => frames.filter((f) => f.includes(Buffer.from(m)));
    expect(carrying(single).length, 'the tagged datagram reached one backend').toBe(1);
    const f = parseFrame(carrying(single)[0]!);
    expect(f.vlan?.id, 'with its tag').toBe(100);
    expect(f.udp?.dport).toBe(7000);
    expect(carrying(qinq), 'QinQ: passed to the LB host, never forwarded').toEqual([]);
  };

  beforeAll(async () => {
    const spec = tutorialTopology(topo);
    // The kernel's default: TX checksum offload on (netlab turns it off unless asked).
    lab = await e2e.lab({ ...spec, hosts: spec.hosts.map((h) => ({ ...h, txChecksumOffload: true })) });
  });

  it('starts as the kernel makes a veth: no XDP on the peer, offloads on', async () => {
    expect(await peerXdp()).toBe(false);
    expect(await peerFeatures()).toEqual({ 'tx-checksumming': 'on', 'tx-vlan-offload': 'on', 'tx-vlan-stag-hw-insert': 'on' });
  });

  it('doctor explains what native mode on this veth needs and what deploy does', async () => {
    const detail = await doctorDetail('eth0');
    expect(detail.status).toBe('ok');
    expect(detail.detail).toContain(
      `veth, peer ${lab.host('lb').interfaces[0]!.peer} in netns ${lab.switchNs.name} (no XDP program; tx, txvlan, tx-vlan-stag-hw-insert on)`,
    );
    expect(detail.detail).toContain('deploy does that (xdp_pass when the peer has none, costing TCP retransmits');
  });

  for (const forward of ['nat', 'dsr'] as const) {
    describe(forward, () => {
      let instance: string;
      let links: string[] = [];
      beforeAll(async () => {
        instance = e2e.instance(`veth-${forward}`);
        const r = await e2e.deploy(lab, {
          instance,
          strategy: 'hash',
          interfaces: ['eth0:native'],
          ...(forward === 'nat' ? { snat: { addresses: [addr.lb], ports: e2e.snatPorts() } } : {}),
          services: [
            { vip: `${addr.vip}:80`, forward, backends: addr.backends },
            { vip: `${addr.vip}:7000`, protocol: 'udp', forward: 'nat', backends: addr.backends.map((b) => `${b}:7000`) },
          ].filter((s) => forward === 'nat' || s.forward === 'dsr'),
        });
        expect(r.interfaces[0]?.mode).toBe('native');
        links = r.links;
      });
      afterAll(() => {
        if (e2e.lb().instances().includes(instance)) e2e.lb().undeploy(instance);
      });

      it('prepared the peer: xdp_pass, TX checksum and VLAN offload off, and said so', async () => {
        expect(links.join('\n')).toMatch(
          /eth0's veth peer \S+ \(netns \S+\): tx, txvlan, tx-vlan-stag-hw-insert off, xdp_pass attached \(program \d+\); restored at undeploy/,
        );
        expect(await peerXdp()).toBe(true);
        expect(await peerFeatures()).toEqual({ 'tx-checksumming': 'off', 'tx-vlan-offload': 'off', 'tx-vlan-stag-hw-insert': 'off' });
        const peer = lab.host('lb').interfaces[0]!.peer;
        // The status (`lb status`: "device <peer> (netns <ns>): ... (deploy's change, undone at undeploy)").
        expect(e2e.lb().status(instance).devices).toEqual([
          { netns: lab.switchNs.name, dev: peer, features: ['tx', 'txvlan', 'tx-vlan-stag-hw-insert'] },
          { netns: lab.switchNs.name, dev: peer, xdpPass: expect.any(Number) },
        ]);
      });

      it('serves HTTP through the VIP (checksums complete, frames delivered)', async () => {
        const seen = new Set<string>();
        for (let i = 0; i < 12; i++) seen.add((await httpGet(lab.host('client1'), `http://${addr.vip}/`, { timeoutMs: 3000 })).body.trim());
        expect([...seen].sort()).toEqual(['http1', 'http2']);
      });

      // Once, in the nat pass: the VLAN handling does not depend on the forwarding mode, and a
      // test defined only there leaves no unexplained skip in the dsr pass.
      if (forward === 'nat')
        it('keeps a frame on its VLAN: tagged in, tagged out; QinQ is passed, not forwarded', () => vlanCheck('native'));
    });
  }

  it('undeploy put the peer back: no XDP program, offloads on', async () => {
    expect(await peerXdp()).toBe(false);
    expect(await peerFeatures()).toEqual({ 'tx-checksumming': 'on', 'tx-vlan-offload': 'on', 'tx-vlan-stag-hw-insert': 'on' });
  });

  it('auto attaches in generic mode on a veth: no XDP on the peer, VLANs kept there too', async () => {
    const instance = e2e.instance('veth-auto');
    const r = await e2e.deploy(lab, {
      instance,
      strategy: 'hash',
      interfaces: ['eth0:auto'],
      snat: { addresses: [addr.lb], ports: e2e.snatPorts() },
      services: [
        { vip: `${addr.vip}:80`, forward: 'dsr', backends: addr.backends },
        { vip: `${addr.vip}:7000`, protocol: 'udp', forward: 'nat', backends: addr.backends.map((b) => `${b}:7000`) },
      ],
    });
    try {
      expect(r.interfaces[0]?.mode).toBe('generic');
      expect(await peerXdp()).toBe(false);
      expect(await peerFeatures()).toEqual({ 'tx-checksumming': 'on', 'tx-vlan-offload': 'off', 'tx-vlan-stag-hw-insert': 'off' });
      expect((await httpGet(lab.host('client1'), `http://${addr.vip}/`, { timeoutMs: 3000 })).status).toBe(200);
      await vlanCheck('generic'); // generic mode too: a tag kept, QinQ passed
    } finally {
      e2e.lb().undeploy(instance);
    }
  });

  it('a veth whose peer is in a namespace without a name: native refused in one line, generic deploys', async () => {
    // The peer goes into a namespace only a process holds (no /run/netns name): xdp-lb cannot enter it.
    const holder = spawn('unshare', ['--net', 'sleep', '30'], { stdio: 'ignore' });
    try {
      await new Promise((r) => setTimeout(r, 300));
      const lbHost = lab.host('lb');
      await lbHost.exec(['ip', 'link', 'add', 'xv0', 'type', 'veth', 'peer', 'name', 'xv1', 'netns', String(holder.pid)]);
      await lbHost.exec(['ip', 'link', 'set', 'xv0', 'up']);
      const doc = await doctorDetail('xv0');
      expect(doc.status).toBe('warn');
      expect(doc.detail).toMatch(
        /veth; its peer is in network namespace nsid \d+, which has no \/run\/netns name xdp-lb can enter: native mode is refused/,
      );
      const instance = e2e.instance('veth-lost');
      const svc = [{ vip: `${addr.vip}:80`, forward: 'dsr', backends: addr.backends }];
      await expect(e2e.deploy(lab, { instance, strategy: 'hash', interfaces: ['xv0:native'], services: svc })).rejects.toThrow(
        /^interface xv0 is a veth whose peer xdp-lb cannot prepare \(its peer is in network namespace nsid \d+, which has no \/run\/netns name xdp-lb can enter\): native XDP on veth needs an XDP program on the peer and its TX checksum offload off; use --mode generic \(or xv0:generic\)$/,
      );
      expect(e2e.lb().instances()).not.toContain(instance);
      const r = await e2e.deploy(lab, { instance, strategy: 'hash', interfaces: ['xv0:generic'], services: svc });
      expect(r.interfaces[0]?.mode).toBe('generic');
      expect(r.warnings.join('\n')).toMatch(/interface xv0 is a veth whose peer xdp-lb cannot prepare/);
      e2e.lb().undeploy(instance);
    } finally {
      holder.kill('SIGKILL');
    }
  });
});
