// A long-lived connection survives every change an operator makes while it runs: one TCP
// connection through the VIP sends a request every 100 ms (netlab's keep-alive client, a raw
// socket that cannot silently reconnect) while the test
//   1. adds a backend,
//   2. removes another backend (not the one serving the connection),
//   3. drains the connection's own backend (new connections must then avoid it),
//   4. re-deploys the program (same instance: atomic link update, pinned conntrack kept).
// The connection never breaks, never times out, and every response comes from the same backend.
// In NAT mode a lost conntrack entry would re-select a backend mid-stream (which answers RST); in
// DSR mode the re-selected backend would too: survival proves flows are kept.
import { describe, expect, it } from 'vitest';
import { toInput } from '@xdp-lb/core';
import { type KeepAliveClient, openKeepAlive, tutorialAddresses, tutorialTopology } from '@xdp-lb/netlab';
import { backendName, httpLoad, useE2e } from './helpers/e2e.js';

const e2e = useE2e();

const addr = tutorialAddresses({ clients: 2, backends: 4 });
const byName = (n: string) => addr.backends[Number(n.replace('http', '')) - 1]!;

interface Case {
  strategy: string;
  mode: 'native' | 'generic';
  forward: 'nat' | 'dsr';
}
const CASES: Case[] = [
  { strategy: 'hash', mode: 'native', forward: 'nat' },
  { strategy: 'round-robin', mode: 'generic', forward: 'dsr' },
];

describe('a long-lived connection survives hot updates and a re-deploy', () => {
  it.each(CASES.map((c) => [`${c.strategy} / ${c.mode} / ${c.forward}`, c] as const))('%s', async (_n, c) => {
    const lab = await e2e.lab(tutorialTopology({ clients: 2, backends: 4, vipOnBackendsLoopback: c.forward === 'dsr' }));
    const lb = e2e.lb();
    const instance = e2e.instance(`ka-${c.forward}`);
    const service = `${addr.vip}:80`;
    const first = await e2e.deploy(lab, {
      instance,
      strategy: c.strategy,
      interfaces: [`eth0:${c.mode}`],
      limits: { conntrackSize: 65536 },
      ...(c.forward === 'nat' ? { snat: { addresses: [addr.lb] } } : {}),
      services: [{ vip: service, forward: c.forward, backends: addr.backends.slice(0, 3) }],
    });
    const firstProg = first.interfaces[0]!.progId;

    const ka: KeepAliveClient = await openKeepAlive(lab.host('client1'), { address: addr.vip, intervalMs: 100, requestTimeoutMs: 1500 });
    let stopped = false;
    try {
      let seen = (await ka.waitForResponses(3)).length;
      const mine = ka.responses()[0]!.body.trim();
      expect(['http1', 'http2', 'http3']).toContain(mine);
      /** A few more responses must arrive after each step, all from `mine`. */
      const keepsGoing = async (step: string) => {
        const rs = await ka.waitForResponses(seen + 3, 5000).catch((e: Error) => {
          throw new Error(`after ${step}: ${e.message}`);
        });
        seen = rs.length;
        expect([...new Set(rs.map((r) => r.body.trim()))], `after ${step}`).toEqual([mine]);
      };

      // 1. add a backend
      await lb.update(instance, { kind: 'backend-add', service, backend: addr.backends[3]! });
      await keepsGoing('backend add');

      // 2. remove another backend (not the one serving the connection)
      const other = ['http1', 'http2', 'http3'].find((n) => n !== mine)!;
      await lb.update(instance, { kind: 'backend-remove', service, backend: byName(other) });
      await keepsGoing(`backend remove ${other}`);

      // 3. drain the connection's own backend: it keeps the connection, gets no new ones
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

      // 4. re-deploy the applied config: same instance, atomic program swap, conntrack kept
      const ctBefore = lb.status(instance).conntrack.entries;
      expect(ctBefore).toBeGreaterThan(0);
      const again = await e2e.deploy(lab, { ...toInput(await lb.config(instance)), instance });
      expect(again.redeploy).toBe(true);
      expect(again.interfaces[0]!.progId).not.toBe(firstProg);
      await keepsGoing('re-deploy');
      const after = lb.status(instance);
      expect(after.interfaces).toEqual([expect.objectContaining({ progId: again.interfaces[0]!.progId, attached: true, mode: c.mode })]);
      expect(after.conntrack.entries).toBeGreaterThanOrEqual(1);
      // The drain survived the re-deploy too.
      const fresh2 = await httpLoad(lab.host('client2'), { address: addr.vip, count: 15 });
      expect(fresh2.errorSamples).toEqual([]);
      expect(fresh2.byBackend[mine]).toBeUndefined();

      const summary = await ka.stop();
      stopped = true;
      expect(summary.closed, JSON.stringify(summary.closed)).toBeUndefined();
      expect(summary.timeouts).toBe(0);
      expect(summary.bodies.map((b) => b.trim())).toEqual([mine]);
      expect(summary.responses.length).toBeGreaterThanOrEqual(15);
      // Every response in order: no request was lost on the way.
      expect(summary.responses.map((r) => r.seq)).toEqual(summary.responses.map((_r, i) => i + 1));
      // The first program is gone: the re-deploy replaced it on the same link.
      expect(lb.status(instance).interfaces[0]!.progId).not.toBe(firstProg);
    } finally {
      if (!stopped) await ka.stop();
    }
    lb.undeploy(instance);
    expect(e2e.leftovers(instance)).toEqual({ pins: [], state: false });
  });
});
