// Frames the kernel itself sent, captured inside our own lab (AF_PACKET, lab-scripts/capture.py):
// the verifier must accept every one, the parser/builder must round-trip them byte for byte, and
// the builder's own checksums must equal the kernel's. Run with NETLAB_UPDATE_FIXTURES=1 to
// refresh tests/fixtures/kernel-frames.json, which the root-free packet tests use.
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';
import {
  buildFrame,
  httpGet,
  parseFrame,
  ping,
  sendFrames,
  summarizeFrame,
  udpRequests,
  verifyChecksums,
  type LabSpec,
} from '../src/index.js';
import { describeLab, labToolsSupport, useLab } from '../src/vitest.js';

const FIXTURE = fileURLToPath(new URL('./fixtures/kernel-frames.json', import.meta.url));

const spec: LabSpec = {
  hosts: [
    { name: 'a', ipv4: '198.18.0.101/24', ipv6: '2001:db8:18::101/64' },
    { name: 'b', ipv4: '198.18.0.11/24', ipv6: '2001:db8:18::11/64', http: true, udpEcho: true },
  ],
};

describeLab(
  'frames the kernel sent',
  () => {
    const env = useLab(spec);

    it('are accepted by the verifier and rebuilt byte for byte', async () => {
      const a = env.host('a');
      const b = env.host('b');
      const cap = await b.capture({ iface: 'eth0' });
      expect(await ping(a, '198.18.0.11')).toBe(true); // ARP + ICMP echo
      await a.exec(['ping', '-n', '-c', '1', '-W', '2', '-R', '198.18.0.11'], { check: false }); // IPv4 options
      expect(await ping(a, '198.18.0.11', { size: 2000 })).toBe(true); // fragments
      expect(await ping(a, '2001:db8:18::11')).toBe(true); // ND + ICMPv6
      expect((await httpGet(a, 'http://198.18.0.11/')).body).toBe('b\n'); // TCP
      expect((await httpGet(a, 'http://[2001:db8:18::11]/')).body).toBe('b\n');
      expect((await udpRequests(a, { address: '198.18.0.11' }))[0]).toMatchObject({ ok: true, reply: 'b' });
      expect((await udpRequests(a, { address: '2001:db8:18::11' }))[0]).toMatchObject({ ok: true, reply: 'b' });
      // UDP without a checksum (SO_NO_CHECK), legal over IPv4 only.
      await a.exec([
        'python3',
        '-c',
        "import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.setsockopt(socket.SOL_SOCKET, 11, 1); s.sendto(b'no checksum', ('198.18.0.11', 7000))",
      ]);
      // The last frame sent: stop capturing once the capture has printed it (a fixed pause could end
      // the capture before a busy machine let it read the socket; the checks below judge the frame).
      await cap.waitFor((f) => f.dir === 'in' && f.data.includes('no checksum'));
      const frames = await cap.stop();
      expect(frames.length).toBeGreaterThan(20);

      const kinds = new Map<string, { what: string; dir: string; hex: string }>();
      for (const f of frames) {
        expect(verifyChecksums(f.data), summarizeFrame(f.data)).toEqual([]);
        const parsed = parseFrame(f.data);
        expect(buildFrame(parsed).equals(f.data), summarizeFrame(f.data)).toBe(true);
        // Recomputed by the builder: the same lengths and checksums as the kernel's. (Not for
        // fragments, whose L4 checksum covers bytes this frame lacks, nor for UDP sent without one.)
        const fragment = parsed.ipv4 && (parsed.ipv4.mf || parsed.ipv4.fragOffset > 0);
        if (!fragment && parsed.udp?.checksum !== 0) {
          expect(buildFrame(parsed, { recompute: true }).equals(f.data), summarizeFrame(f.data)).toBe(true);
        }
        const what = `${f.dir} ${kindOf(f.data)}`;
        if (!kinds.has(what)) kinds.set(what, { what, dir: f.dir, hex: f.data.toString('hex') });
      }
      for (const k of ['ipv4 options', 'ipv4 fragment', 'udp zero checksum', 'tcp syn', 'ipv6 udp', 'icmp6', 'arp']) {
        expect(
          [...kinds.keys()].some((x) => x.includes(k)),
          `captured a ${k} frame; have: ${[...kinds.keys()].join(' | ')}`,
        ).toBe(true);
      }
      if (process.env['NETLAB_UPDATE_FIXTURES']) {
        writeFileSync(FIXTURE, `${JSON.stringify([...kinds.values()], null, 1)}\n`);
      }
    });

    it('cross a veth unchanged when injected raw, VLAN tag and bad checksums included', async () => {
      const a = env.host('a');
      const b = env.host('b');
      const crafted = [
        buildFrame({
          eth: { src: a.mac, dst: b.mac },
          vlan: { id: 7, pcp: 3 },
          ipv4: { src: '198.18.7.101', dst: '198.18.7.11' },
          udp: { sport: 1234, dport: 7000 },
          payload: 'tagged',
        }),
        buildFrame({
          eth: { src: a.mac, dst: b.mac },
          ipv4: { src: '198.18.0.101', dst: '198.18.0.11', checksum: 'bad' },
          tcp: { sport: 1, dport: 80, flags: 'S', checksum: 'bad' },
        }),
      ];
      const cap = await b.capture({ iface: 'eth0', direction: 'in' });
      expect(await sendFrames(a, crafted)).toBe(2);
      for (const want of crafted) await cap.waitFor((f) => f.data.equals(want));
      await cap.stop();
      expect(verifyChecksums(crafted[1] as Buffer).map((p) => p.layer)).toEqual(['ipv4', 'tcp']);
    });
  },
  labToolsSupport(),
);

/** A coarse label, so the fixture keeps one frame of each kind. */
function kindOf(data: Buffer): string {
  const f = parseFrame(data);
  const parts: string[] = [];
  if (f.vlan) parts.push('vlan');
  if (f.arp) parts.push(`arp op ${f.arp.op}`);
  if (f.ipv4) {
    parts.push('ipv4');
    if (f.ipv4.options.length) parts.push('ipv4 options');
    if (f.ipv4.mf || f.ipv4.fragOffset) parts.push(`ipv4 fragment ${f.ipv4.fragOffset ? 'later' : 'first'}`);
  }
  if (f.ipv6) parts.push('ipv6');
  if (f.tcp) {
    const fl = f.tcp.flags;
    parts.push(
      `tcp ${fl.syn ? 'syn' : ''}${fl.ack ? 'ack' : ''}${fl.fin ? 'fin' : ''}${fl.psh ? 'psh' : ''}${f.payload.length ? ' data' : ''}`,
    );
  }
  if (f.udp) parts.push(f.udp.checksum === 0 ? 'udp zero checksum' : 'udp');
  if (f.ipv6 && f.udp) parts.push('ipv6 udp');
  if (f.icmp) parts.push(`icmp ${f.icmp.type}`);
  if (f.icmp6) parts.push(`icmp6 ${f.icmp6.type}`);
  return parts.join(' / ');
}
