// One writer at a time per instance (core's state/lock.ts), with real `lb` processes (the CLI
// bundled from source): 20 concurrent `lb backend add` of different backends all take effect (on
// main, each printed "added" and 1 of 20 remained); concurrent deploys of one instance all succeed
// one after the other and the last one is what the kernel holds (on main: libbpf errors); a writer
// that waits too long gives up with one line naming the holder's pid and command and changes
// nothing; a second `lb serve` for an instance is refused, and the lock dies with its holder
// (SIGKILL), so the next agent starts.
import { afterEach, beforeAll, expect, it } from 'vitest';
import { lockInstance } from '@xdp-lb/core';
import { exec, type Lab, type LabProcess, tutorialAddresses, tutorialTopology } from '@xdp-lb/netlab';
import { describeLab } from '@xdp-lb/netlab/vitest';
import { probe } from '@xdp-lb/testkit';
import { useAgentEnv, waitFor } from './serve-support.js';

const env = useAgentEnv();
const addr = tutorialAddresses({ clients: 1, backends: 3 });
const VIP = addr.vip;

interface Run {
  code: number;
  out: string;
  err: string;
}

describeLab('one writer per instance', () => {
  let bundle: string;
  let lab: Lab;
  let lbNs: string;
  beforeAll(async () => {
    bundle = await env.cliBundle();
    lab = await env.lab(tutorialTopology({ clients: 1, backends: 3 }));
    lbNs = lab.host('lb').netns.name;
  }, 120_000);
  // Whatever a test left (a failed one too): the next one needs eth0 free.
  afterEach(() => {
    for (const i of env.lb().instances()) env.lb().undeploy(i);
  });

  const lb = async (args: string[], extraEnv: Record<string, string> = {}): Promise<Run> => {
    const r = await exec([process.execPath, bundle, ...args], {
      check: false,
      timeoutMs: 120_000,
      cwd: '/',
      env: { ...process.env, ...extraEnv },
    });
    return { code: r.code ?? -1, out: r.stdout.trim(), err: r.stderr.trim() };
  };
  const deployed = async (instance: string, backends: string[]) => {
    lab.registerPinDir(`${env.bpffs}/${instance}`);
    await env
      .lb()
      .deploy(
        { instance, interfaces: ['eth0'], snat: { addresses: [addr.lb] }, services: [{ vip: `${VIP}:80`, backends }] },
        { netns: lbNs },
      );
  };
  const backendKeys = (instance: string) =>
    env
      .lb()
      .status(instance)
      .services[0]!.backends.map((b) => b.key)
      .sort();

  it('20 concurrent lb backend add: every one that exits 0 is in effect, the others name the lock', async () => {
    const instance = env.instance('conc-add');
    await deployed(instance, [`${addr.backends[0]}:80`]);
    const adds = Array.from({ length: 20 }, (_, i) => `${addr.backends[i % 3]}:${8001 + i}`);
    const runs = await Promise.all(adds.map((b) => lb(['backend', 'add', `${VIP}:80`, b, '-i', instance])));
    const ok = adds.filter((_, i) => runs[i]!.code === 0);
    const waiting = new RegExp(
      `^lb: instance ${instance} is locked: pid \\d+ \\(lb backend add .*\\) holds it since \\S+; waiting up to 30 s$`,
    );
    for (const [i, r] of runs.entries()) {
      const lines = r.err ? r.err.split('\n').filter((l) => !l.startsWith('lb: warning: next hop')) : [];
      if (r.code === 0) expect(r.out).toBe(`added ${adds[i]} (${VIP}:80)`);
      else
        expect(lines.pop()).toMatch(
          new RegExp(
            `^lb: instance ${instance} is locked by another command: pid \\d+ \\(lb .*\\) holds it since \\S+; gave up after \\d+ s \\(XDP_LB_LOCK_TIMEOUT\\)$`,
          ),
        );
      // A writer that has to wait says so once, naming the holder.
      expect(lines.length, r.err).toBeLessThanOrEqual(1);
      for (const l of lines) expect(l).toMatch(waiting);
    }
    expect(runs.filter((r) => r.err).length, 'most of them waited').toBeGreaterThan(5);
    // Under the default 30 s wait, 20 short updates all get their turn.
    expect(
      ok.length,
      runs
        .map((r) => r.err)
        .filter(Boolean)
        .join('\n'),
    ).toBe(20);
    expect(backendKeys(instance)).toEqual([`${addr.backends[0]}:80`, ...ok].sort());
    const st = env.lb().status(instance);
    for (const b of st.services[0]!.backends) expect(b.slots, `${b.key} is in the table`).toBeGreaterThan(0);
  }, 180_000);

  it('a writer that waits too long gives up naming the holder, and changes nothing', async () => {
    const instance = env.instance('conc-wait');
    await deployed(instance, [`${addr.backends[0]}:80`]);
    const lock = await lockInstance(instance);
    try {
      const t0 = Date.now();
      const r = await lb(['backend', 'add', `${VIP}:80`, `${addr.backends[1]}:80`, '-i', instance], { XDP_LB_LOCK_TIMEOUT: '1' });
      expect(r.code).toBe(1);
      const [wait, gaveUp, ...more] = r.err.split('\n');
      expect(more).toEqual([]);
      expect(wait).toMatch(
        new RegExp(`^lb: instance ${instance} is locked: pid ${process.pid} \\(.+\\) holds it since \\S+; waiting up to 1 s$`),
      );
      expect(gaveUp).toMatch(
        new RegExp(
          `^lb: instance ${instance} is locked by another command: pid ${process.pid} \\(.+\\) holds it since \\S+; gave up after 1 s \\(XDP_LB_LOCK_TIMEOUT\\)$`,
        ),
      );
      expect(Date.now() - t0).toBeGreaterThanOrEqual(1000);
      expect(backendKeys(instance)).toEqual([`${addr.backends[0]}:80`]);
      const u = await lb(['undeploy', '-i', instance], { XDP_LB_LOCK_TIMEOUT: '0' });
      expect(u.code).toBe(1);
      expect(u.err).toMatch(/is locked by another command/);
    } finally {
      lock.release();
    }
    const r = await lb(['backend', 'add', `${VIP}:80`, `${addr.backends[1]}:80`, '-i', instance]);
    expect(r.code, r.err).toBe(0);
    expect(backendKeys(instance)).toEqual([`${addr.backends[0]}:80`, `${addr.backends[1]}:80`]);
  }, 60_000);

  it('3 concurrent deploys of one instance: all succeed in turn, and the kernel holds the last', async () => {
    const instance = env.instance('conc-deploy');
    lab.registerPinDir(`${env.bpffs}/${instance}`);
    const sets = [[0], [1], [2]].map((idx) => idx.map((i) => addr.backends[i]!));
    const files = sets.map((backends, i) =>
      env.writeConfig(`conc-deploy-${i}`, {
        instance,
        interfaces: ['eth0'],
        snat: { addresses: [addr.lb] },
        services: [{ vip: `${VIP}:80`, backends }],
      }),
    );
    const runs = await Promise.all(files.map((f) => lb(['deploy', '-f', f, '--netns', lbNs])));
    for (const r of runs) expect(r.code, r.err).toBe(0);
    expect(runs.filter((r) => r.out.startsWith('deployed instance')).length, 'exactly one first deploy').toBe(1);
    const st = env.lb().status(instance);
    const keys = st.services[0]!.backends.map((b) => b.key);
    expect(sets.map((s) => s.map((b) => `${b}:80`))).toContainEqual(keys);
    const to = probe(
      { netns: lbNs, ifindex: st.interfaces[0]!.ifindex, progId: st.interfaces[0]!.progId! },
      { vip: VIP, port: 80, protocol: 'tcp' },
    );
    expect(to.verdict).toMatch(/^(TX|REDIRECT)$/);
  }, 120_000);

  it('a second lb serve for an instance is refused; the lock dies with a killed agent', async () => {
    const instance = env.instance('conc-serve');
    lab.registerPinDir(`${env.bpffs}/${instance}`);
    const file = env.writeConfig('conc-serve', {
      instance,
      interfaces: ['eth0'],
      snat: { addresses: [addr.lb] },
      services: [{ vip: `${VIP}:80`, backends: [addr.backends[0]] }],
    });
    const serving = (p: LabProcess) =>
      waitFor(
        `${p.label} serving`,
        () => {
          if (!p.running) throw new Error(`${p.label} exited: ${p.stderr().slice(-2000)}`);
          return p.stderr().includes('"msg":"serving"');
        },
        30_000,
      );
    const args = ['-f', file, '--netns', lbNs, '--metrics', 'off', '--log', 'json'];
    const first = env.spawnServe(args);
    await serving(first);
    const second = await lb(['serve', ...args]);
    expect(second.code).toBe(1);
    expect(second.err.split('\n').filter((l) => !l.startsWith('{'))).toEqual([
      expect.stringMatching(
        new RegExp(
          `^lb: instance ${instance} is already served by an agent: pid ${first.pid} \\(lb serve -f .*\\) holds it since \\S+; one lb serve per instance$`,
        ),
      ),
    ]);
    await first.kill('SIGKILL', 500);
    const third = env.spawnServe(args);
    await serving(third);
    await third.kill('SIGTERM', 5000);
    await waitFor('agent stopped', () => !third.running);
  }, 120_000);
});
