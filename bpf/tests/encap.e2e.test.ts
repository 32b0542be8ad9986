// The encapsulating modes end to end (issue 20), with the real control plane: ipip, ip6ip6 and gue
// (IPv4 and IPv6 backends) on the tutorial lab, the backend decapsulating with
// bpf/progs/xdp_decap.bpf.o (gue: UDP port 6080, limits.guePort's default) and holding the VIPs on
// loopback. Every link has MTU 1500, so a full-size client packet no longer fits once the LB adds
// its outer header (ipip 20 bytes, ip6ip6 40, gue 28 / 48): path MTU discovery through the LB. A
// 300 kB upload (the client's full-size segments cross the tunnel) completes only if the LB answers
// with ICMP fragmentation needed / packet too big and the client's TCP shrinks its segments
// (before, they were dropped: a black hole; the upload itself takes ~20 ms here); a 300 kB download
// (the backend answers directly) completes too, and the backend sees the client's own address.
// Mixed families too: an IPv4 VIP over ip6ip6 to the backend's IPv6 address (4in6) and an IPv6
// VIP over ipip to its IPv4 one (6in4).
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BpfLink, BpfObject, ifNameToIndex, inNetns } from '@xdp-lb/native';
import { httpGet, type Lab, type LabProcess, startHttpServer, tutorialAddresses, tutorialTopology } from '@xdp-lb/netlab';
import { e2eSkipReason, useLbE2e } from './harness/e2e.js';

if (e2eSkipReason) console.warn(`[bpf pmtu e2e] skipped: ${e2eSkipReason}`);

const e2e = useLbE2e();
const DECAP = fileURLToPath(new URL('../obj/xdp_decap.bpf.o', import.meta.url));
const SINK_PORT = 9000; // ipip / ip6ip6
const GUE_SINK_PORT = 9001;
const GUE_HTTP_PORT = 8080;
const MIXED_SINK_PORT = 9002; // 4in6 (ip6ip6 from an IPv4 VIP), 6in4 (ipip from an IPv6 VIP)
const MIXED_HTTP_PORT = 8082;
const UPLOAD = 300_000;

/** A TCP sink on the backend: counts what a connection sends and answers the count. */
const sink = (
  port: number,
) => `require('net').createServer((s) => { let n = 0; s.on('data', (d) => (n += d.length)); s.on('end', () => s.end(String(n))); s.on('error', () => {}); })
  .listen(${port}, '::', () => console.log('{"event":"listening"}'));`;
/** The client: sends UPLOAD bytes, half-closes, prints the sink's count. */
const upload = (
  address: string,
  port: number,
) => `const s = require('net').connect(${port}, '${address}', () => { s.end(Buffer.alloc(${UPLOAD}, 120)); });
  let r = ''; s.on('data', (d) => (r += d)); s.on('end', () => { console.log(r); process.exit(0); }); s.on('error', (e) => { console.error(e.message); process.exit(1); });`;

describe.skipIf(e2eSkipReason !== null)('ipip, ip6ip6 and gue with xdp_decap on the backend; path MTU discovery through them', () => {
  const topo = { clients: 1, backends: 1, ipv6: true, vipOnBackendsLoopback: true };
  const addr = tutorialAddresses(topo);
  let lab: Lab;
  let instance: string;
  let decap: BpfObject | undefined;
  const links: BpfLink[] = [];
  const sinks: LabProcess[] = [];

  beforeAll(async () => {
    lab = await e2e.lab(tutorialTopology(topo));
    decap = BpfObject.open(DECAP);
    await decap.load();
    const be = lab.host('http1');
    links.push(inNetns(be.netns.path, () => BpfLink.attachXdp(decap!.program('xdp_decap'), ifNameToIndex('eth0'), { mode: 'drv' })));
    for (const port of [SINK_PORT, GUE_SINK_PORT, MIXED_SINK_PORT]) {
      const proc = be.spawn([process.execPath, '-e', sink(port)], { label: `sink :${port}` });
      sinks.push(proc);
      await proc.waitForLine(/"event":"listening"/, { timeoutMs: 10_000 });
    }
    sinks.push(await startHttpServer(be, { port: GUE_HTTP_PORT }));
    sinks.push(await startHttpServer(be, { port: MIXED_HTTP_PORT }));
    instance = e2e.instance('pmtuenc');
    await e2e.deploy(lab, {
      instance,
      strategy: 'hash',
      interfaces: ['eth0:native'],
      snat: { addresses: [addr.lb] },
      limits: { encapSource4: '198.19.0.0', encapSource6: '2001:db8:ffff::' },
      services: [
        { name: 'web4', vip: `${addr.vip}:80`, forward: 'ipip', backends: addr.backends },
        { name: 'sink4', vip: `${addr.vip}:${SINK_PORT}`, forward: 'ipip', backends: addr.backends },
        { name: 'web6', vip: `[${addr.vip6}]:80`, forward: 'ip6ip6', backends: addr.backends6!.map((b) => `[${b}]`) },
        { name: 'sink6', vip: `[${addr.vip6}]:${SINK_PORT}`, forward: 'ip6ip6', backends: addr.backends6!.map((b) => `[${b}]`) },
        { name: 'gue4', vip: `${addr.vip}:${GUE_HTTP_PORT}`, forward: 'gue', backends: addr.backends },
        { name: 'guesink4', vip: `${addr.vip}:${GUE_SINK_PORT}`, forward: 'gue', backends: addr.backends },
        { name: 'gue6', vip: `[${addr.vip6}]:${GUE_HTTP_PORT}`, forward: 'gue', backends: addr.backends6!.map((b) => `[${b}]`) },
        { name: 'guesink6', vip: `[${addr.vip6}]:${GUE_SINK_PORT}`, forward: 'gue', backends: addr.backends6!.map((b) => `[${b}]`) },
        { name: 'web46', vip: `${addr.vip}:${MIXED_HTTP_PORT}`, forward: 'ip6ip6', backends: addr.backends6!.map((b) => `[${b}]`) },
        { name: 'sink46', vip: `${addr.vip}:${MIXED_SINK_PORT}`, forward: 'ip6ip6', backends: addr.backends6!.map((b) => `[${b}]`) },
        { name: 'web64', vip: `[${addr.vip6}]:${MIXED_HTTP_PORT}`, forward: 'ipip', backends: addr.backends },
        { name: 'sink64', vip: `[${addr.vip6}]:${MIXED_SINK_PORT}`, forward: 'ipip', backends: addr.backends },
      ],
    });
  });
  afterAll(async () => {
    for (const s of sinks) await s.kill('SIGKILL');
    for (const l of links) l.dispose();
    decap?.dispose();
  });

  it.each([
    ['ipip', () => addr.vip, SINK_PORT],
    ['ip6ip6', () => addr.vip6!, SINK_PORT],
    ['gue (IPv4)', () => addr.vip, GUE_SINK_PORT],
    ['gue (IPv6)', () => addr.vip6!, GUE_SINK_PORT],
    ['4in6 (ip6ip6, IPv4 VIP)', () => addr.vip, MIXED_SINK_PORT],
    ['6in4 (ipip, IPv6 VIP)', () => addr.vip6!, MIXED_SINK_PORT],
  ] as const)(
    '%s: a 300 kB upload completes after ICMP too-big from the LB',
    async (_m, vip, port) => {
      // the path MTU an earlier case learnt for the same VIP (ip6ip6's 1460 fits 6in4's 1480) is forgotten
      for (const fam of ['-4', '-6']) await lab.host('client1').exec(['ip', fam, 'route', 'flush', 'cache'], { check: false });
      const before = e2e.lb().status(instance).reasons.icmp_too_big ?? 0;
      const r = await lab.host('client1').exec([process.execPath, '-e', upload(vip(), port)], { timeoutMs: 20_000, check: false });
      expect(r.stdout.trim()).toBe(String(UPLOAD));
      expect((e2e.lb().status(instance).reasons.icmp_too_big ?? 0) - before, 'ICMP too-big sent by the LB').toBeGreaterThan(0);
    },
    30_000,
  );

  it.each([
    ['ipip', () => addr.vip, 80],
    ['ip6ip6', () => `[${addr.vip6!}]`, 80],
    ['gue (IPv4)', () => addr.vip, GUE_HTTP_PORT],
    ['gue (IPv6)', () => `[${addr.vip6!}]`, GUE_HTTP_PORT],
    ['4in6 (ip6ip6, IPv4 VIP)', () => addr.vip, MIXED_HTTP_PORT],
    ['6in4 (ipip, IPv6 VIP)', () => `[${addr.vip6!}]`, MIXED_HTTP_PORT],
  ] as const)('%s: a 300 kB download completes; the backend sees the client, answers from the VIP', async (_m, host, port) => {
    const r = await httpGet(lab.host('client1'), `http://${host()}:${port}/big?bytes=300000`, { timeoutMs: 15_000 });
    expect(r.status).toBe(200);
    expect(r.bytes).toBe(300_000);
    const info = JSON.parse((await httpGet(lab.host('client1'), `http://${host()}:${port}/info`, { timeoutMs: 5000 })).body) as {
      remoteAddress: string;
      localAddress: string;
    };
    expect([addr.clients[0], addr.clients6![0]]).toContain(info.remoteAddress);
    expect(info.localAddress).toBe(host().replace(/^\[|\]$/g, '')); // the VIP, brackets aside
  });

  it('the counters: nothing dropped as too big (every client packet was DF or IPv6)', () => {
    const r = e2e.lb().status(instance).reasons;
    for (const k of ['drop_too_big', 'drop_error', 'drop_no_route']) expect(r[k] ?? 0, k).toBe(0);
  });
});
