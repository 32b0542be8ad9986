// A long-lived connection survives every change an operator makes while it runs: one TCP
// connection through the VIP sends a request every 100 ms (netlab's keep-alive client, a raw
// socket that cannot silently reconnect) while the steps below run in order:
//   1. add a backend,
//   2. remove another backend (not the one serving the connection),
//   3. drain the connection's own backend (new connections must then avoid it),
//   4. re-deploy the program (same instance: atomic link update, pinned conntrack kept).
// After each step more responses arrive, all from the same backend; at the end the connection
// never broke, never timed out, and no response was lost. In NAT mode a lost conntrack entry would
// re-select a backend mid-stream (which answers RST); in DSR mode too: survival proves flows are
// kept. Each step is its own test so that one failing step does not hide the others.
import { afterAll, describe, expect, it } from 'vitest';
import { toInput } from '@xdp-lb/core';
import { type KeepAliveClient, type Lab, openKeepAlive, tutorialAddresses, tutorialTopology } from '@xdp-lb/netlab';
import { backendName, httpLoad, useE2e } from './support.js';
import { leanCover } from './strategy-cover.js';

const e2e = useE2e();

const addr = tutorialAddresses({ clients: 2, backends: 4 });
const byName = (n: string) => addr.backends[Number(n.replace('http', '')) - 1]!;
const service = `${addr.vip}:80`;

// Every built-in strategy (the registry's), alternating native/nat and generic/dsr.
const CASES = leanCover([
  { mode: 'native', forward: 'nat' },
  { mode: 'generic', forward: 'dsr' },
]);

describe.each(CASES.map((c) => [`${c.strategy} / ${c.mode} / ${c.forward}`, c] as const))(
  'a long-lived connection survives (%s)',
  (_n, c) => {
    let lab: Lab;
    let ka: KeepAliveClient | undefined;
    let instance: string;
    let firstProg = 0;
    /** The backend serving the long-lived connection, and the one removed in step 2. */
    let mine = '';
    let other = '';
    let seen = 0;

    /** A few more responses must arrive after each step, all from `mine`. */
    async function keepsGoing(step: string): Promise<void> {
      const rs = await ka!.waitForResponses(seen + 3, 5000).catch((e: Error) => {
        throw new Error(`after ${step}: ${e.message}`);
      });
      seen = rs.length;
      expect([...new Set(rs.map((r) => r.body.trim()))], `backends that answered the connection, after ${step}`).toEqual([mine]);
    }

    afterAll(async () => {
      if (ka?.process.running) await ka.stop();
    });

    it('deploys and opens the connection', async () => {
      lab = await e2e.lab(tutorialTopology({ clients: 2, backends: 4, vipOnBackendsLoopback: c.forward === 'dsr' }));
      instance = e2e.instance(`ka-${c.forward}`);
      const r = await e2e.deploy(lab, {
        instance,
        strategy: c.strategy,
        interfaces: [`eth0:${c.mode}`],
        limits: { conntrackSize: 65536 },
        ...(c.forward === 'nat' ? { snat: { addresses: [addr.lb] } } : {}),
        services: [{ vip: service, forward: c.forward, backends: addr.backends.slice(0, 3) }],
      });
      firstProg = r.interfaces[0]!.progId;
      ka = await openKeepAlive(lab.host('client1'), { address: addr.vip, intervalMs: 100, requestTimeoutMs: 1500 });
      seen = (await ka.waitForResponses(3)).length;
      mine = ka.responses()[0]!.body.trim();
      expect(['http1', 'http2', 'http3']).toContain(mine);
      other = ['http1', 'http2', 'http3'].find((n) => n !== mine)!;
      await keepsGoing('connect');
    });

    it('1. adding a backend', async () => {
      await e2e.lb().update(instance, { kind: 'backend-add', service, backend: addr.backends[3]! });
      await keepsGoing('backend add');
    });

    it('2. removing another backend', async () => {
      await e2e.lb().update(instance, { kind: 'backend-remove', service, backend: byName(other) });
      await keepsGoing(`backend remove ${other}`);
    });

    it('3. draining its own backend; new connections avoid the drained backend', async () => {
      const lb = e2e.lb();
      await lb.update(instance, { kind: 'backend-drain', service, backend: byName(mine) });
      await keepsGoing(`backend drain ${mine}`);
      const s = lb.status(instance);
      expect(s.services[0]!.backends.map((b) => [backendName(b.key), b.state]).sort()).toEqual(
        ['http1', 'http2', 'http3', 'http4'].filter((n) => n !== other).map((n) => [n, n === mine ? 'draining' : 'active']),
      );
      const fresh = await httpLoad(lab.host('client2'), { address: addr.vip, count: 30 });
      expect(fresh.errorSamples).toEqual([]);
      expect(fresh.ok).toBe(30);
      expect(fresh.byBackend[mine], `new connections after the drain: ${JSON.stringify(fresh.byBackend)}`).toBeUndefined();
      expect(fresh.byBackend[other], 'the removed backend').toBeUndefined();
      await keepsGoing('new connections');
    });

    it('4. a re-deploy of the program (atomic link update, conntrack kept)', async () => {
      const lb = e2e.lb();
      expect(lb.status(instance).conntrack.entries).toBeGreaterThan(0);
      const again = await e2e.deploy(lab, { ...toInput(await lb.config(instance)), instance });
      expect(again.redeploy).toBe(true);
      expect(again.interfaces[0]!.progId).not.toBe(firstProg);
      await keepsGoing('re-deploy');
      const after = lb.status(instance);
      expect(after.interfaces).toEqual([expect.objectContaining({ progId: again.interfaces[0]!.progId, attached: true, mode: c.mode })]);
      // The drain and the removal survived the re-deploy: new connections still avoid both.
      const fresh = await httpLoad(lab.host('client2'), { address: addr.vip, count: 15 });
      expect(fresh.errorSamples).toEqual([]);
      expect(fresh.byBackend[mine]).toBeUndefined();
      expect(fresh.byBackend[other]).toBeUndefined();
      await keepsGoing('new connections after the re-deploy');
    });

    it('the connection never broke and always reached the same backend', async () => {
      const summary = await ka!.stop();
      expect(summary.closed, JSON.stringify(summary.closed)).toBeUndefined();
      expect(summary.timeouts).toBe(0);
      expect(summary.bodies.map((b) => b.trim())).toEqual([mine]);
      expect(summary.responses.length).toBeGreaterThanOrEqual(15);
      // Every response, in order: no request was lost on the way.
      expect(summary.responses.map((r) => r.seq)).toEqual(summary.responses.map((_r, i) => i + 1));
    });

    it('undeploy leaves nothing behind', () => {
      e2e.lb().undeploy(instance);
      expect(e2e.leftovers(instance)).toEqual({ pins: [], state: false });
    });
  },
);
