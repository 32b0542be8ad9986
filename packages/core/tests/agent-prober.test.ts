// The health checker process on the real kernel: it runs inside the namespace it is given (its
// sockets belong there), and reports TCP and HTTP results as the agent needs them; a checker that
// cannot run says so (inconclusive) instead of failing backends. Lab: two hosts on a bridge,
// 198.18.0.0/24 only; `web` runs the lab's HTTP server.
import { describe, expect, it } from 'vitest';
import { type Lab } from '@xdp-lb/netlab';
import { describeLab, useLab } from '@xdp-lb/netlab/vitest';
import { ProcessProber } from '../src/index.js';

describeLab('ProcessProber', () => {
  const ref = useLab(
    {
      hosts: [
        { name: 'probe', ipv4: '198.18.0.101/24' },
        { name: 'web', ipv4: '198.18.0.11/24', http: true },
      ],
    },
    { prefix: 'xlbp' },
  );
  const inside = (lab: Lab, host: string) => new ProcessProber(`/run/netns/${lab.host(host).netns.name}`);

  it('checks TCP and HTTP from inside the namespace it was given', async () => {
    const p = inside(ref.lab, 'probe');
    try {
      const [tcpOk, refused, timeout, httpOk, wrongStatus] = await Promise.all([
        p.probe({ type: 'tcp', address: '198.18.0.11', port: 80, timeoutMs: 1000 }),
        p.probe({ type: 'tcp', address: '198.18.0.11', port: 81, timeoutMs: 1000 }),
        p.probe({ type: 'tcp', address: '198.18.0.250', port: 80, timeoutMs: 300 }),
        p.probe({ type: 'http', address: '198.18.0.11', port: 80, path: '/health', expectStatus: 200, timeoutMs: 1000 }),
        p.probe({ type: 'http', address: '198.18.0.11', port: 80, path: '/nope', expectStatus: 200, timeoutMs: 1000 }),
      ]);
      expect(tcpOk).toMatchObject({ ok: true });
      expect(refused).toMatchObject({ ok: false, error: 'ECONNREFUSED' });
      expect(timeout).toMatchObject({ ok: false, error: expect.stringMatching(/timeout|EHOSTUNREACH/) });
      expect(timeout.inconclusive).toBeUndefined();
      expect(httpOk).toMatchObject({ ok: true, status: 200 });
      expect(wrongStatus).toMatchObject({ ok: false, status: 404, error: 'status 404' });
      // Loopback of the namespace the checker runs in: only web's has a server on :80.
      expect(await p.probe({ type: 'tcp', address: '127.0.0.1', port: 80, timeoutMs: 500 })).toMatchObject({
        ok: false,
        error: 'ECONNREFUSED',
      });
      const w = inside(ref.lab, 'web');
      try {
        expect(await w.probe({ type: 'tcp', address: '127.0.0.1', port: 80, timeoutMs: 500 })).toMatchObject({ ok: true });
      } finally {
        w.close();
      }
    } finally {
      p.close();
    }
    expect(await p.probe({ type: 'tcp', address: '198.18.0.11', port: 80, timeoutMs: 500 })).toMatchObject({
      ok: false,
      inconclusive: true,
      error: 'checker closed',
    });
  });

  it('is inconclusive, not failing, when it cannot run', async () => {
    const errors: string[] = [];
    const p = new ProcessProber('/run/netns/xlbp-no-such-namespace', (m) => errors.push(m));
    try {
      const r = await p.probe({ type: 'tcp', address: '198.18.0.11', port: 80, timeoutMs: 500 });
      expect(r).toMatchObject({ ok: false, inconclusive: true });
      expect(errors.join('\n')).toMatch(/health checker exited/);
    } finally {
      p.close();
    }
  });
});

describe('ProcessProber in its own namespace', () => {
  it('needs no namespace (null: where the agent runs)', async () => {
    const p = new ProcessProber(null);
    try {
      // Nothing listens on this loopback port of the test's own namespace.
      expect(await p.probe({ type: 'tcp', address: '127.0.0.1', port: 1, timeoutMs: 500 })).toMatchObject({
        ok: false,
        error: 'ECONNREFUSED',
      });
    } finally {
      p.close();
    }
  });
});
