// Hot reconfiguration under load, through the agent: while one client runs short HTTP connections
// without pause and another holds six long-lived keep-alive connections, 50 cycles of
//   add a backend -> drain another -> (its last short flows end) -> remove it
// are applied by rewriting the config file (most through agent.reload(), every fifth through the
// file watcher alone), with two program re-deploys on the way (a load-time setting changed in the
// file: atomic link update, conntrack kept; and a forced one). Backends http1 and http2 are never
// touched; http3 and http4 take turns. The proof: zero failed or misdelivered short requests, and
// every keep-alive connection on http1/http2 answered every request, in order, from its backend.
import { describe, expect, it } from 'vitest';
import { type KeepAliveClient, type Lab, openKeepAlive, tutorialAddresses, tutorialTopology } from '@xdp-lb/netlab';
import { LoadGen, linkInfo, sleep, type TestAgent, useAgentEnv, waitFor } from './support.js';

const env = useAgentEnv();
const addr = tutorialAddresses({ clients: 2, backends: 4 });
const CYCLES = Number(process.env.XDP_LB_SOAK_CYCLES ?? 50);
const STABLE = ['http1', 'http2'];

describe(`hot reconfiguration under load (${CYCLES} cycles of add/drain/remove, two re-deploys)`, () => {
  const instance = env.instance('hot');
  const byName = (n: string) => `${addr.backends[Number(n.slice(4)) - 1]}:80`;
  const config = (backends: { name: string; state?: 'draining' }[], tcpTimeoutSec = 300) => ({
    instance,
    interfaces: ['eth0'],
    limits: { conntrackSize: 65536, tcpTimeoutSec },
    // ~400 new connections a second per stable backend through one SNAT address, each port held
    // snatReuseSec (65 s) after its connection: ~26k ports per (SNAT address, backend) pair, more
    // than the default 10,000 (docs/operations.md "SNAT ports"). Everything below the host's
    // ephemeral range.
    snat: { addresses: [addr.lb], ports: '1024-32767' },
    // A Maglev table of 4099 slots (plenty for 4 backends): each change rewrites it whole, and the
    // default 65537 slots cost ~250 ms per change, which would only slow the 150 changes down.
    services: [
      {
        name: 'web',
        vip: `${addr.vip}:80`,
        options: { tableSize: 4099 },
        backends: backends.map((b) => ({ address: byName(b.name), ...(b.state ? { state: b.state } : {}) })),
      },
    ],
  });

  it('keeps every connection on live backends', async () => {
    const lab: Lab = await env.lab(tutorialTopology({ clients: 2, backends: 4 }));
    let timeout = 300;
    let present = ['http1', 'http2', 'http3'];
    const file = env.writeConfig('hot', config(present.map((name) => ({ name }))));
    const t: TestAgent = await env.startAgent(lab, file);
    const linkPin = `${env.bpffs}/${instance}/links/eth0`;
    const link0 = linkInfo(linkPin);

    const kas: KeepAliveClient[] = [];
    for (let i = 0; i < 6; i++)
      kas.push(await openKeepAlive(lab.host('client2'), { address: addr.vip, intervalMs: 100, requestTimeoutMs: 1500 }));
    const owners = await Promise.all(kas.map(async (k) => (await k.waitForResponses(1))[0]!.body.trim()));
    const load = await LoadGen.start(lab.host('client1'), { address: addr.vip, concurrency: 3 });

    let n = 0;
    const apply = async (backends: { name: string; state?: 'draining' }[], how: 'reload' | 'watch', expectAction?: string) => {
      n++;
      const before = t.agent.status().lastReload?.time ?? 0;
      env.writeConfig('hot', config(backends, timeout));
      if (how === 'watch') {
        await waitFor(`the watcher to apply change ${n}`, () => (t.agent.status().lastReload?.time ?? 0) > before, 5000, 10);
        expect(t.agent.status().lastReload, t.logText()).toMatchObject({ ok: true });
      } else {
        const r = await t.agent.reload('test');
        expect(r, `change ${n}: ${JSON.stringify(r)}`).toMatchObject({ ok: true, ...(expectAction ? { action: expectAction } : {}) });
      }
    };

    const started = Date.now();
    for (let c = 0; c < CYCLES; c++) {
      const how = c % 5 === 4 ? 'watch' : 'reload';
      const gone = present[2]!;
      const next = gone === 'http3' ? 'http4' : 'http3';
      await apply(
        [...present, next].map((name) => ({ name })),
        how,
      );
      await apply(
        [...present, next].map((name) => ({ name, ...(name === gone ? { state: 'draining' as const } : {}) })),
        how,
      );
      // The drained backend's last short flows end before it is removed (its flows would then be
      // re-balanced mid-connection): every request started before the drain applied has ended.
      // Waited for, not a fixed pause: a request slowed past any pause by a busy machine would
      // fail here and prove nothing about hot reconfiguration.
      await load.settledSince(Date.now());
      present = ['http1', 'http2', next];
      if (c === Math.floor(CYCLES / 2)) timeout = 301; // a load-time setting: the agent re-deploys
      await apply(
        present.map((name) => ({ name })),
        how,
        c === Math.floor(CYCLES / 2) && how === 'reload' ? 're-deployed' : undefined,
      );
    }
    // No new flow met a backend being drained: the tables without it are swapped in before its
    // state says draining (a table that still names it is never read with it draining).
    const reasons = env.lb().status(instance).reasons;
    expect(reasons.drop_no_backend ?? 0, JSON.stringify(reasons)).toBe(0);
    const forced = await t.agent.reload('forced re-deploy', { redeploy: true });
    expect(forced).toMatchObject({ ok: true, action: 're-deployed' });
    const cyclesMs = Date.now() - started;
    await sleep(500);
    const s = await load.stop();
    const summaries = await Promise.all(kas.map((k) => k.stop()));

    const report = `${CYCLES} cycles (${n} changes) in ${cyclesMs} ms; snat_exhausted ${reasons.drop_snat_exhausted ?? 0}, snat_reclaimed ${reasons.snat_reclaimed ?? 0}; ${s.sent} short requests, ${s.errors} failed, ${s.misdelivered} misdelivered; by backend ${JSON.stringify(s.byBackend)}; keep-alive owners ${owners.join(',')}; failures ${JSON.stringify(s.failures.slice(0, 5))}`;
    console.log(report);
    expect(s.errors, `${report}\n${t.logText().slice(-5000)}`).toBe(0);
    expect(s.misdelivered).toBe(0);
    expect(s.sent).toBeGreaterThan(1000);
    for (const name of ['http1', 'http2', 'http3', 'http4']) expect(s.byBackend[name], `${name} took new flows`).toBeGreaterThan(0);
    summaries.forEach((k, i) => {
      if (!STABLE.includes(owners[i]!)) return;
      const what = `keep-alive ${i} on ${owners[i]}`;
      expect(k.closed, `${what}: ${JSON.stringify(k.closed)}`).toBeUndefined();
      expect(k.timeouts, what).toBe(0);
      expect(
        k.bodies.map((b) => b.trim()),
        what,
      ).toEqual([owners[i]]);
      expect(
        k.responses.map((r) => r.seq),
        what,
      ).toEqual(k.responses.map((_r, j) => j + 1));
      expect(k.responses.length, what).toBeGreaterThan(cyclesMs / 100 / 2);
    });
    // Re-deploys swapped the program on the same link: never re-attached.
    const link1 = linkInfo(linkPin);
    expect(link1.id).toBe(link0.id);
    expect(link1.progId).not.toBe(link0.progId);
    expect(t.logs.filter((l) => l.msg.startsWith('re-deployed')).length).toBeGreaterThanOrEqual(2);
  }, 180_000);
});
