// `lb serve` as a real process (the CLI bundled from its sources), against the lab:
//   - without capabilities it refuses in one line;
//   - SIGKILLed during load: zero failed requests (the data plane does not need it), its health
//     checker dies with it, and a restarted agent adopts the running data plane with an atomic
//     program swap on the same bpf_link (never re-attached), conntrack kept;
//   - SIGHUP applies a changed file; a broken file is rejected with its errors, the running config
//     stays (maps byte for byte) and the endpoints say so; fixing the file clears it;
//   - it listens on loopback only; pins and state are root-only;
//   - SIGTERM stops it and leaves the data plane forwarding; with --detach-on-exit it undeploys;
//     lb undeploy while it runs is refused.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { instancePaths, parseMetrics } from '@xdp-lb/core';
import { exec, httpGet, type Lab, type LabProcess, openKeepAlive, pidsInNetns, tutorialAddresses, tutorialTopology } from '@xdp-lb/netlab';
import { lbAsNobody, lbInProcess } from './helpers/e2e.js';
import { LoadGen, linkInfo, metric, sleep, snapshotMaps, useAgentEnv, waitFor } from './serve-support.js';

const env = useAgentEnv();
const addr = tutorialAddresses({ clients: 2, backends: 3 });

/** Waits for a JSON log line (stderr) of `proc` whose msg matches; returns it. */
async function logLine(proc: LabProcess, msg: RegExp, after = 0, timeoutMs = 20_000): Promise<Record<string, unknown>> {
  let found: Record<string, unknown> | undefined;
  await waitFor(
    `log line ${msg} from ${proc.label}`,
    () => {
      if (!proc.running) throw new Error(`${proc.label} exited (${JSON.stringify(proc.exitInfo)}): ${proc.stderr().slice(-3000)}`);
      const lines = proc
        .stderr()
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .slice(after);
      found = lines.map((l) => JSON.parse(l) as Record<string, unknown>).find((o) => msg.test(String(o.msg)));
      return found !== undefined;
    },
    timeoutMs,
    25,
  );
  return found!;
}
const logCount = (proc: LabProcess) =>
  proc
    .stderr()
    .split('\n')
    .filter((l) => l.startsWith('{')).length;

describe('lb serve as a process', () => {
  // Every `lb serve` process of this suite runs the CLI bundled from source (spawnServe).
  beforeAll(() => env.cliBundle(), 60_000);
  let lab: Lab;
  let file: string;
  let lbNs: string;
  let metricsUrl = '';
  /** The agent restarted after the SIGKILL: the later steps talk to it. */
  let b: LabProcess;
  const instance = env.instance('proc');
  const paths = () => instancePaths(instance);
  const config = (backends: string[]) => ({
    instance,
    interfaces: ['eth0'],
    limits: { conntrackSize: 65536 },
    snat: { addresses: [addr.lb] },
    services: [
      {
        name: 'web',
        vip: `${addr.vip}:80`,
        options: { tableSize: 1009 },
        backends,
        health: { type: 'tcp', intervalMs: 500, timeoutMs: 300 },
      },
    ],
  });
  const serve = (...extra: string[]) =>
    env.spawnServe(['-f', file, '--netns', lbNs, '--metrics', '127.0.0.1:0', '--log', 'json', ...extra]);
  const serving = async (p: LabProcess) => {
    const l = await logLine(p, /^serving$/);
    metricsUrl = String(l.metrics).replace(/\/metrics$/, '');
    return l;
  };

  it('refuses to run without capabilities, in one line', async () => {
    lab = await env.lab(tutorialTopology({ clients: 2, backends: 3 }));
    lbNs = lab.host('lb').netns.name;
    lab.registerPinDir(`${env.bpffs}/${instance}`);
    file = env.writeConfig('proc', config(addr.backends.slice(0, 2)));
    const r = await lbAsNobody(['serve', '-f', file], { timeoutMs: 20_000 });
    expect(r.code, r.err).toBe(1);
    expect(r.err).toBe('lb: serve: needs CAP_BPF and CAP_NET_ADMIN (run as root)');
    expect(existsSync(paths().stateFile)).toBe(false);
  });

  it('SIGKILLed under load: no request fails; restarted, it adopts the data plane (same link, conntrack kept)', async () => {
    const a = serve();
    const started = await serving(a);
    expect(started.action).toBe('deployed');
    const ka = await openKeepAlive(lab.host('client2'), { address: addr.vip, intervalMs: 100, requestTimeoutMs: 1500 });
    const owner = (await ka.waitForResponses(2))[0]!.body.trim();
    const load = await LoadGen.start(lab.host('client1'), { address: addr.vip, concurrency: 2 });
    await sleep(800);
    const linkPin = join(paths().links, 'eth0');
    const before = linkInfo(linkPin);
    const checker = () => pidsInNetns([lbNs]).get(lbNs) ?? [];
    // The agent starts its checker (nsenter + node) at its first check, up to one interval after
    // `serving`: waited for, not assumed done by now (a slow start on a busy machine).
    await waitFor('the health checker to run inside the LB namespace', () => checker().length > 0, 10_000);

    await a.kill('SIGKILL');
    await waitFor('the health checker to die with the agent', () => checker().length === 0, 3000);
    await sleep(1500); // forwarding on its own
    const whileDead = load.progress();

    b = serve();
    const adopted = await serving(b);
    expect(adopted.action, b.stderr()).toBe('re-deployed');
    const after = linkInfo(linkPin);
    expect(after.id, 'the same bpf_link: never detached or re-attached').toBe(before.id);
    expect(after.progId, 'a new program swapped in atomically').not.toBe(before.progId);
    await sleep(800);
    const s = await load.stop();
    const k = await ka.stop();
    expect(s.errors, JSON.stringify(s.failures.slice(0, 5))).toBe(0);
    expect(s.misdelivered).toBe(0);
    expect(whileDead.ok).toBeGreaterThan(0);
    expect(s.ok, 'requests kept flowing while no agent ran').toBeGreaterThan(whileDead.ok);
    expect(k.closed, JSON.stringify(k.closed)).toBeUndefined();
    expect(k.timeouts).toBe(0);
    expect(k.bodies.map((x) => x.trim())).toEqual([owner]);
    const m = parseMetrics(await (await fetch(`${metricsUrl}/metrics`)).text());
    expect(metric(m, 'xdp_lb_xdp_mode_info', { iface: 'eth0', mode: 'native', requested: 'native' })).toBe(1);

    // Loopback only: every socket the agent (and its checker) listens on.
    const ss = await exec(['ss', '-ltnpH']);
    const mine = ss.stdout.split('\n').filter((l) => l.includes(`pid=${b.pid},`));
    expect(mine.length).toBe(1);
    for (const l of mine) expect(l.split(/\s+/)[3]).toMatch(/^127\.0\.0\.1:\d+$/);
  });

  it('SIGHUP applies a changed file; a broken file is rejected and the running config stays', async () => {
    let mark = logCount(b);
    env.writeConfig('proc', config(addr.backends));
    // Also the watcher would see it; the signal must do it on its own.
    process.kill(b.pid, 'SIGHUP');
    await logLine(b, /^updated/, mark);
    expect(
      env
        .lb()
        .status(instance)
        .services[0]!.backends.map((x) => x.key),
    ).toEqual(addr.backends.map((x) => `${x}:80`));
    const good = await snapshotMaps(instance);

    mark = logCount(b);
    env.writeConfig('proc', 'services:\n  - vip: 198.18.0.10:0\n    backends: []\n    wat: 1\n');
    process.kill(b.pid, 'SIGHUP');
    const rejected = await logLine(b, /^config rejected/, mark);
    expect(rejected).toMatchObject({ level: 'error', reason: 'SIGHUP' });
    const lines = b
      .stderr()
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .slice(mark)
      .map((l) => JSON.parse(l) as { msg: string });
    expect(lines.map((l) => l.msg)).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/interfaces .*expected array/i),
        expect.stringMatching(/services\.0 .*unknown key\(s\) "wat"/),
        expect.stringMatching(/services\.0\.backends .*at least one backend/),
      ]),
    );
    expect(await snapshotMaps(instance)).toEqual(good);
    expect(b.running).toBe(true);
    const hz = await fetch(`${metricsUrl}/healthz`);
    expect(hz.status).toBe(200);
    expect(await hz.json()).toMatchObject({ status: 'ok', lastReload: { ok: false, reason: 'SIGHUP' } });
    let m = parseMetrics(await (await fetch(`${metricsUrl}/metrics`)).text());
    expect(metric(m, 'xdp_lb_agent_last_reload_successful')).toBe(0);
    expect(metric(m, 'xdp_lb_agent_reloads_total', { result: 'error' })).toBe(1);
    const r = await httpGet(lab.host('client1'), `http://${addr.vip}/`);
    expect(r.status).toBe(200);

    // Fixed (back to what runs): the watcher notices, nothing to apply, the error is cleared.
    env.writeConfig('proc', config(addr.backends));
    await waitFor(
      'the rejection to clear',
      async () => {
        m = parseMetrics(await (await fetch(`${metricsUrl}/metrics`)).text());
        return metric(m, 'xdp_lb_agent_last_reload_successful') === 1;
      },
      5000,
      100,
    );
    expect(await snapshotMaps(instance)).toEqual(good);
  });

  it('keeps pins and state root-only', () => {
    const p = paths();
    const mode = (f: string) => statSync(f).mode & 0o777;
    for (const d of [env.bpffs, p.root, p.maps, p.links, p.stateDir]) expect(mode(d).toString(8), d).toBe('700');
    for (const f of [
      p.stateFile,
      ...readdirSync(p.maps).map((n) => join(p.maps, n)),
      ...readdirSync(p.links).map((n) => join(p.links, n)),
      join(p.root, 'layout'),
    ]) {
      expect(mode(f) & 0o077, `${f} is ${mode(f).toString(8)}`).toBe(0);
    }
  });

  it('SIGTERM: stops and leaves the data plane forwarding', async () => {
    const exit = await b.kill('SIGTERM', 5000);
    expect(exit).toEqual({ code: 0, signal: null });
    expect(b.stderr()).toMatch(/"msg":"stopped; the data plane keeps forwarding"/);
    expect(env.lb().status(instance).interfaces[0]).toMatchObject({ attached: true });
    const r = await httpGet(lab.host('client1'), `http://${addr.vip}/`);
    expect(r.status).toBe(200);
  });

  it('lb undeploy under a running agent is refused in one line; --detach-on-exit: SIGTERM undeploys', async () => {
    const c = serve('--detach-on-exit');
    expect((await serving(c)).action).toBe('re-deployed');
    // Before: undeploy removed the agent's lock file and state under it (a second agent could then
    // start), and the agent's next resync deployed again.
    const u = await lbInProcess('undeploy', '-i', instance);
    expect(u.code).toBe(1);
    expect(u.err).toMatch(
      new RegExp(
        `^lb: instance ${instance} is served by an agent: pid ${c.pid} \\(.*serve.*\\); stop the agent first \\(lb serve --detach-on-exit undeploys as it stops\\), then undeploy$`,
      ),
    );
    expect(existsSync(join(paths().stateDir, 'agent.lock'))).toBe(true);
    expect(existsSync(paths().stateFile)).toBe(true);
    const exit = await c.kill('SIGTERM', 5000);
    expect(exit).toEqual({ code: 0, signal: null });
    expect(c.stderr()).toMatch(/"msg":"detached on exit"/);
    expect(existsSync(paths().stateFile)).toBe(false);
    expect(existsSync(paths().root)).toBe(false);
    const x = await lab.host('lb').exec(['ip', '-d', '-j', 'link', 'show', 'dev', 'eth0']);
    expect((JSON.parse(x.stdout) as { xdp?: unknown }[])[0]!.xdp).toBeUndefined();
  });
});
