// The lab on the real kernel: building and tearing down leaves nothing behind, hosts reach each
// other, the per-interface settings are what the spec says, multi-NIC routing works.
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  BPFFS_ROOT,
  Lab,
  Netns,
  gcStale,
  httpGet,
  listNetns,
  openKeepAlive,
  pidsInNetns,
  ping,
  tutorialTopology,
  udpRequest,
  udpRequests,
  type LabHost,
  type LabSpec,
} from '../src/index.js';
import { checkPinDir } from '../src/netns/pins.js';
import { processAlive } from '../src/netns/procfs.js';
import { describeLab, labToolsSupport, useLab } from '../src/vitest.js';

async function eventually(check: () => boolean, timeoutMs = 3000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > end) throw new Error('condition not reached in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}

const sysctl = async (host: LabHost | Netns, key: string): Promise<string> => (await host.exec(['sysctl', '-n', key])).stdout.trim();

describeLab(
  'Lab',
  () => {
    describe('up and down', () => {
      it('leaves no namespace, process, pin dir or manifest behind, and destroy is idempotent', async () => {
        const lab = await Lab.up(tutorialTopology({ clients: 2, backends: 2 }));
        const mine = listNetns().filter((n) => n.startsWith(`${lab.id}-`));
        expect(mine.sort()).toEqual(['client1', 'client2', 'http1', 'http2', 'lb', 'sw'].map((h) => `${lab.id}-${h}`));
        expect(Lab.list().map((m) => m.id)).toContain(lab.id);
        // Something running in each backend, one process the lab did not start, and a pin dir made
        // from inside a host (nsenter keeps /sys/fs/bpf the host's: visible from out here).
        const stray = await lab.host('client1').exec(['sh', '-c', 'setsid sleep 300 >/dev/null 2>&1 < /dev/null & echo $!']);
        const pinDir = `${BPFFS_ROOT}/${lab.id}-probe`;
        await lab.host('lb').exec(['mkdir', pinDir]);
        expect(existsSync(pinDir)).toBe(true);
        lab.registerPinDir(pinDir);
        const pids = [...pidsInNetns(mine).values()].flat();
        expect(pids).toContain(Number(stray.stdout.trim()));
        expect(pids.length).toBeGreaterThanOrEqual(3);

        await lab.destroy();
        expect(lab.destroyed).toBe(true);
        expect(listNetns().filter((n) => n.startsWith(lab.id))).toEqual([]);
        expect(existsSync(pinDir)).toBe(false);
        expect(Lab.list().map((m) => m.id)).not.toContain(lab.id);
        await eventually(() => pids.every((p) => !processAlive(p)));
        await lab.destroy();
        lab.destroySync();
      });

      it('cleans up after itself when building fails half way', async () => {
        const before = new Set(listNetns());
        const bad: LabSpec = {
          hosts: [
            { name: 'a', ipv4: '198.18.0.1/24' },
            { name: 'b', ipv4: '198.18.0.2/24', setup: [['false']] },
          ],
        };
        await expect(Lab.up(bad)).rejects.toThrow(/false exited with 1/);
        expect(listNetns().filter((n) => !before.has(n) && n.startsWith(`xlb${process.pid}-`))).toEqual([]);
      });

      it('keeps persistent labs until asked, and finds them by id', async () => {
        const lab = await Lab.up(
          {
            hosts: [
              { name: 'a', ipv4: '198.18.0.1/24', http: true },
              { name: 'b', ipv4: '198.18.0.2/24' },
            ],
          },
          { persistent: true },
        );
        try {
          expect(Lab.list().find((m) => m.id === lab.id)?.persistent).toBe(true);
          expect(gcStale().runs).not.toContain(lab.id);
          const again = Lab.attach(lab.id);
          expect(again.host('a').ipv4).toBe('198.18.0.1');
          expect((await httpGet(again.host('b'), 'http://198.18.0.1/')).body).toBe('a\n');
        } finally {
          Lab.destroyById(lab.id);
        }
        expect(listNetns().filter((n) => n.startsWith(lab.id))).toEqual([]);
        expect(() => Lab.attach(lab.id)).toThrow(/no lab/);
      });

      it('manages standalone namespaces', async () => {
        const ns = await Netns.createUnique('solo');
        expect(ns.name).toMatch(new RegExp(`^xlb${process.pid}-[0-9a-f]{4}-solo$`));
        expect((await ns.exec(['ip', '-br', 'link', 'show', 'lo'])).stdout).toContain('UP');
        const p = ns.spawn(['sleep', '300']);
        await eventually(() => ns.pids().includes(p.pid)); // once nsenter has entered
        await ns.delete();
        expect(ns.exists()).toBe(false);
        await expect(p.exited).resolves.toMatchObject({ signal: 'SIGKILL' });
      });
    });

    describe('two hosts', () => {
      const env = useLab({
        hosts: [
          { name: 'a', ipv4: '198.18.0.1/24', ipv6: '2001:db8:18::1/64', http: true, udpEcho: true },
          { name: 'b', ipv4: '198.18.0.2/24', ipv6: '2001:db8:18::2/64', http: { port: 8080 } },
        ],
      });

      it('ping each other over IPv4 and IPv6', async () => {
        expect(await ping(env.host('a'), '198.18.0.2')).toBe(true);
        expect(await ping(env.host('b'), '198.18.0.1')).toBe(true);
        expect(await ping(env.host('a'), '2001:db8:18::2')).toBe(true);
        expect(await ping(env.host('a'), '198.18.0.99', { timeoutMs: 1000 })).toBe(false);
      });

      it('talk HTTP to each other', async () => {
        const r = await httpGet(env.host('a'), 'http://198.18.0.2:8080/info');
        expect(r.status).toBe(200);
        expect(JSON.parse(r.body)).toMatchObject({ name: 'b', remoteAddress: '198.18.0.1', localPort: 8080 });
        expect((await httpGet(env.host('b'), 'http://[2001:db8:18::1]/')).body).toBe('a\n');
        expect((await httpGet(env.host('b'), 'http://198.18.0.1/big?bytes=3000000')).bytes).toBe(3_000_000);
        expect((await httpGet(env.host('b'), 'http://198.18.0.1/nope')).status).toBe(404);
        await expect(httpGet(env.host('b'), 'http://198.18.0.1:81/', { timeoutMs: 2000 })).rejects.toThrow(/curl exit 7/);
      });

      it('hold a long-lived connection', async () => {
        const ka = await openKeepAlive(env.host('b'), { address: '198.18.0.1', intervalMs: 10 });
        await ka.waitForResponses(20);
        const s = await ka.stop();
        expect(s.closed).toBeUndefined();
        expect(s.bodies).toEqual(['a\n']);
        expect(s.responses.length).toBeGreaterThanOrEqual(20);
      });

      it('exchange UDP', async () => {
        expect(await udpRequest(env.host('b'), { address: '198.18.0.1' })).toBe('a');
        const replies = await udpRequests(env.host('b'), { address: '2001:db8:18::1', count: 3 });
        expect(replies.map((r) => r.ok && r.reply)).toEqual(['a', 'a', 'a']);
        expect(new Set(replies.map((r) => r.localPort)).size).toBe(3); // a new source port each time
        await expect(udpRequest(env.host('a'), { address: '198.18.0.2', timeoutMs: 500 })).rejects.toThrow(/timeout/);
      });

      it('have deterministic MACs and TX checksum offload off on both veth ends', async () => {
        const a = env.host('a');
        expect(a.mac).toBe('02:00:c6:12:00:01');
        // Not /sys/class/net: nsenter keeps the host's /sys, so that shows the root namespace's devices.
        expect(JSON.parse((await a.exec(['ip', '-j', 'link', 'show', 'eth0'])).stdout)[0].address).toBe('02:00:c6:12:00:01');
        for (const [ns, dev] of [
          [a.netns, 'eth0'],
          [env.lab.switchNs, 'a-eth0'],
        ] as const) {
          const features = (await ns.exec(['ethtool', '-k', dev])).stdout;
          expect(features, `${ns.name} ${dev}`).toMatch(/^tx-checksumming: off/m);
        }
      });

      it('own what they spawn', async () => {
        const p = env.host('a').spawn(['sleep', '300']);
        expect(env.lab.processes()).toContain(p);
        await p.kill();
        expect(env.lab.processes()).not.toContain(p);
      });
    });

    describe('the tutorial topology with direct server return', () => {
      const env = useLab(
        tutorialTopology({ clients: 1, backends: 2, vipOnBackendsLoopback: true, clientsRouteVipVia: 'lb', udpEcho: true }),
      );

      it('puts xdp_pass in native mode on the LB peer only', async () => {
        const links = JSON.parse((await env.lab.switchNs.exec(['ip', '-j', 'link', 'show'])).stdout) as Array<{
          ifname: string;
          xdp?: { mode: number; prog?: { name: string } };
        }>;
        const withXdp = links.filter((l) => l.xdp).map((l) => [l.ifname, l.xdp?.mode, l.xdp?.prog?.name]);
        expect(withXdp).toEqual([['lb-eth0', 1, 'xdp_pass']]); // mode 1: native (driver)
      });

      it('turns forwarding on for the LB, globally and on eth0', async () => {
        const lb = env.host('lb');
        for (const key of [
          'net.ipv4.ip_forward',
          'net.ipv4.conf.eth0.forwarding',
          'net.ipv6.conf.all.forwarding',
          'net.ipv6.conf.eth0.forwarding',
        ]) {
          expect(await sysctl(lb, key), key).toBe('1');
        }
        expect(await sysctl(env.host('http1'), 'net.ipv4.ip_forward')).toBe('0');
      });

      it('gives backends the VIP on lo with arp_ignore/arp_announce, and clients a route via the LB', async () => {
        const http1 = env.host('http1');
        expect((await http1.exec(['ip', '-4', '-br', 'addr', 'show', 'lo'])).stdout).toContain('198.18.0.10/32');
        expect(await sysctl(http1, 'net.ipv4.conf.all.arp_ignore')).toBe('1');
        expect(await sysctl(http1, 'net.ipv4.conf.all.arp_announce')).toBe('2');
        expect((await env.host('client1').exec(['ip', 'route', 'get', '198.18.0.10'])).stdout).toMatch(/via 198\.18\.0\.2 dev eth0/);
        // The VIP stays the LB's on the wire: only the LB answers ARP for it.
        const neigh = await env.host('client1').exec(['sh', '-c', 'ping -c1 -W1 198.18.0.10 >/dev/null; ip neigh show 198.18.0.2']);
        expect(neigh.stdout).toContain(env.host('lb').mac);
      });

      it('has every backend answer with its own name', async () => {
        for (const [i, ip] of ['198.18.0.11', '198.18.0.12'].entries()) {
          expect((await httpGet(env.host('client1'), `http://${ip}/`)).body).toBe(`http${i + 1}\n`);
        }
      });

      it('answers UDP from the address asked (a VIP on lo included)', async () => {
        // http2 asks the VIP, which it holds itself: the reply must come from the VIP, not eth0.
        expect(await udpRequest(env.host('http2'), { address: '198.18.0.10' })).toBe('http2');
        expect(await udpRequest(env.host('client1'), { address: '198.18.0.11' })).toBe('http1');
      });
    });

    describe('multi-NIC', () => {
      const env = useLab({
        bridges: [{ name: 'br0' }, { name: 'br1' }],
        hosts: [
          { name: 'c', bridge: 'br0', ipv4: '198.18.1.2/24', routes: [{ to: '198.18.2.0/24', via: '198.18.1.1' }] },
          {
            name: 'r',
            forwarding: true,
            xdpPassPeer: true,
            interfaces: [
              { bridge: 'br0', ipv4: '198.18.1.1/24' },
              { bridge: 'br1', ipv4: '198.18.2.1/24' },
            ],
          },
          { name: 's', bridge: 'br1', ipv4: '198.18.2.2/24', routes: [{ to: 'default', via: '198.18.2.1' }], http: true },
        ],
      });

      it('routes between two bridges through a forwarding host', async () => {
        const r = env.host('r');
        expect(r.interfaces.map((i) => [i.name, i.bridge, i.peer, i.ipv4])).toEqual([
          ['eth0', 'br0', 'r-eth0', '198.18.1.1'],
          ['eth1', 'br1', 'r-eth1', '198.18.2.1'],
        ]);
        expect(await sysctl(r, 'net.ipv4.conf.eth1.forwarding')).toBe('1');
        const res = await httpGet(env.host('c'), 'http://198.18.2.2/info');
        expect(JSON.parse(res.body)).toMatchObject({ name: 's', remoteAddress: '198.18.1.2' });
        const links = (await env.lab.switchNs.exec(['ip', '-br', 'link'])).stdout;
        expect(links).toMatch(/r-eth0@\S+\s+UP/);
        expect(links).toMatch(/r-eth1@\S+\s+UP/);
      });

      it('adds bridges and interfaces at run time', async () => {
        await env.lab.addBridge({ name: 'br2' });
        const iface = await env.lab.addInterface('s', { bridge: 'br2', ipv4: '198.18.3.1/24' });
        expect(iface).toMatchObject({ name: 'eth1', peer: 's-eth1', ipv4: '198.18.3.1', mac: '02:00:c6:12:03:01' });
        expect((await env.host('s').exec(['ip', '-4', '-br', 'addr', 'show', 'eth1'])).stdout).toContain('198.18.3.1/24');
        await expect(env.lab.addInterface('s', { bridge: 'br9' })).rejects.toThrow(/no bridge br9/);
      });
    });

    it('only ever removes pin dirs below /sys/fs/bpf', () => {
      expect(() => checkPinDir('/tmp/x')).toThrow(/not below \/sys\/fs\/bpf/);
      expect(() => checkPinDir('/sys/fs/bpf/../../../etc')).toThrow();
      expect(() => checkPinDir('/sys/fs/bpf')).toThrow();
      expect(checkPinDir('/sys/fs/bpf/xdp-lb/x/')).toBe('/sys/fs/bpf/xdp-lb/x');
    });
  },
  labToolsSupport(),
);
