// A service's strategy changed in the file `lb serve` watches (issue 16): the agent applies it as a
// hot update, not a re-deploy (the program carries every built-in strategy): the same program on
// the link, a long-lived connection keeps its backend, and new connections follow the new
// strategy (round-robin: sequential connections walk its table slot after slot). A third-party
// strategy the program lacks makes the agent re-deploy (a load-time change), conntrack kept.
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { openKeepAlive, tutorialAddresses, tutorialTopology } from '@xdp-lb/netlab';
import { backendName, httpLoad, linkInfo, useAgentEnv } from './support.js';

const env = useAgentEnv();
const addr = tutorialAddresses({ clients: 2, backends: 3 });
const SUBNET_AFFINITY = fileURLToPath(new URL('../../../../deploy/examples/strategies/subnet-affinity', import.meta.url));

describe('lb serve: a service moves to another strategy', () => {
  const instance = env.instance('strat');
  const config = (strategy: string) => ({
    instance,
    interfaces: ['eth0'],
    limits: { conntrackSize: 65536 },
    snat: { addresses: [addr.lb] },
    services: [{ name: 'web', vip: `${addr.vip}:80`, strategy, backends: addr.backends.map((b) => `${b}:80`) }],
  });

  it("hot among the program's strategies; a new third-party one re-deploys; the connection lives through both", async () => {
    const lab = await env.lab(tutorialTopology({ clients: 2, backends: 3 }));
    const t = await env.startAgent(lab, env.writeConfig('strat', config('hash')));
    const linkPin = `${env.bpffs}/${instance}/links/eth0`;
    const prog0 = linkInfo(linkPin).progId;
    const ka = await openKeepAlive(lab.host('client1'), { address: addr.vip, intervalMs: 100, requestTimeoutMs: 1500 });
    try {
      const mine = (await ka.waitForResponses(3))[0]!.body.trim();

      env.writeConfig('strat', config('round-robin'));
      expect(await t.agent.reload('test')).toMatchObject({ ok: true, action: 'updated' });
      expect(linkInfo(linkPin).progId, 'the same program: nothing loaded, nothing re-attached').toBe(prog0);
      expect(env.lb().status(instance).services[0]!.strategy).toBe('round-robin');
      const table = env
        .lb()
        .table(instance, 'web')
        .map((k) => backendName(k!));
      const r = await httpLoad(lab.host('client2'), { address: addr.vip, count: 9, records: true });
      expect(r.errorSamples).toEqual([]);
      const seq = r.records!.map(([, b]) => b);
      const start = table.indexOf(seq[0]!);
      expect(seq).toEqual(seq.map((_b, i) => table[(start + i) % table.length]));

      env.writeConfig('strat', config(SUBNET_AFFINITY));
      expect(await t.agent.reload('test')).toMatchObject({ ok: true, action: 're-deployed' });
      expect(linkInfo(linkPin).progId, 'a new program on the same link').not.toBe(prog0);
      expect(env.lb().status(instance).strategies).toContain(SUBNET_AFFINITY);

      const n = ka.responses().length;
      const after = await ka.waitForResponses(n + 5, 5000);
      expect(new Set(after.map((x) => x.body.trim()))).toEqual(new Set([mine]));
      const s = await ka.stop();
      expect(s.closed, JSON.stringify(s.closed)).toBeUndefined();
      expect(s.timeouts).toBe(0);
    } finally {
      if (ka.process.running) await ka.stop();
    }
  });
});
