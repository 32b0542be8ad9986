// Active health checks through the agent, on the real kernel: the lab's tutorial topology (one
// client, the LB, three web backends), the agent in this process with its checker running inside
// the LB's namespace, HTTP load from the client the whole time.
//   - a backend whose server is stopped is out of rotation within interval x fall; requests fail
//     only inside that window (and only some of them), none after it;
//   - restarted, it is back in rotation after `rise` good checks and takes new flows again;
//   - every backend failing its checks (a wrong path: 404) keeps the service in rotation (fail
//     open), reported by /healthz and the metrics; fixing the file brings them back.
import { describe, expect, it } from 'vitest';
import { type Lab, type LabProcess, tutorialAddresses, tutorialTopology } from '@xdp-lb/netlab';
import { LoadGen, metric, sleep, type TestAgent, useAgentEnv, waitFor } from './support.js';

const env = useAgentEnv();
const addr = tutorialAddresses({ clients: 1, backends: 3 });
const HEALTH = { type: 'http', path: '/health', intervalMs: 300, timeoutMs: 200, rise: 2, fall: 3 } as const;
const SLACK_MS = 500;

describe('health checks take a stopped backend out and bring it back', () => {
  let lab: Lab;
  let t: TestAgent;
  let file: string;
  const instance = env.instance('health');
  const config = (health: object) => ({
    instance,
    interfaces: ['eth0'],
    limits: { conntrackSize: 65536 },
    snat: { addresses: [addr.lb] },
    services: [{ name: 'web', vip: `${addr.vip}:80`, options: { tableSize: 1009 }, backends: addr.backends, health }],
  });
  const http2 = `${addr.backends[1]}:80`;
  const inRotation = async (backend: string) => metric(await t.scrape(), 'xdp_lb_backend_in_rotation', { service: 'web', backend });

  it('starts with every backend checked and up', async () => {
    lab = await env.lab(tutorialTopology({ clients: 1, backends: 3 }));
    file = env.writeConfig('health', config(HEALTH));
    t = await env.startAgent(lab, file);
    await waitFor('first checks', () => t.agent.status().health.every((h) => h.checked && h.up), 5000);
    expect(
      t.agent
        .status()
        .health.map((h) => h.backend)
        .sort(),
    ).toEqual(addr.backends.map((a) => `${a}:80`));
  });

  it('stopped: out within interval x fall, failures only inside the window; restarted: back after rise', async () => {
    const load = await LoadGen.start(lab.host('client1'), { address: addr.vip, concurrency: 4, records: true });
    await sleep(1000);
    const server = lab.processes().find((p) => p.label === 'http2 http :80') as LabProcess;
    expect(server, 'the lab server of http2').toBeDefined();
    const tStop = Date.now();
    await server.kill('SIGKILL');
    const outMs = await waitFor('http2 out of rotation', async () => (await inRotation(http2)) === 0, 5000);
    const tOut = Date.now();
    const m = await t.scrape();
    expect(metric(m, 'xdp_lb_backend_up', { service: 'web', backend: http2 })).toBe(0);
    expect(t.agent.status().health.find((h) => h.backend === http2)).toMatchObject({
      up: false,
      lastError: expect.stringMatching(/ECONNREFUSED/),
    });
    await sleep(2000);

    await lab.host('http2').startHttpServer();
    const tRestart = Date.now();
    const backMs = await waitFor('http2 back in rotation', async () => (await inRotation(http2)) === 1, 5000);
    const tBack = Date.now();
    // Keep the load on until http2 has been given new flows again (under a loaded CI machine the
    // client may send few requests in a fixed pause), at least 1.5 s.
    const flows0 = metric(await t.scrape(), 'xdp_lb_backend_new_flows_total', { service: 'web', backend: http2 }) ?? 0;
    await sleep(1500);
    await waitFor(
      'http2 takes new flows again',
      async () => (metric(await t.scrape(), 'xdp_lb_backend_new_flows_total', { service: 'web', backend: http2 }) ?? 0) > flows0,
      8000,
    ).catch((e: Error) => {
      // What the data plane did meanwhile (drops by reason, each backend's state and counters).
      const st = env.lb().status(instance);
      const reasons = Object.entries(st.reasons).filter(([, n]) => n > 0);
      throw new Error(
        `${e.message} (log: ${t.logText().slice(-3000)}) (new flows of http2 before: ${flows0}; reasons ${JSON.stringify(reasons)}; backends ${JSON.stringify(st.services[0]!.backends.map((b) => [b.key, b.id, b.state, b.slots, b.counters]))})`,
      );
    });
    await sleep(300);
    const s = await load.stop();

    const rel = (wall: number) => wall - s.startedAt;
    const after = s.records!.filter((r) => r.t0 > rel(tOut) + 50);
    // The window: requests under way at the stop or started before the backend was out.
    const inWindow = s.records!.filter((r) => r.t1 >= rel(tStop) && r.t0 <= rel(tOut) + 50);
    const report = `out after ${outMs} ms, back after ${backMs} ms; ${s.sent} requests, ${s.errors} failed (${inWindow.length} in the window); failures: ${JSON.stringify(s.failures.slice(0, 5))}\n${t.logText()}`;
    console.log(report.split('\n')[0]);
    expect(outMs, report).toBeLessThanOrEqual(HEALTH.intervalMs * HEALTH.fall + SLACK_MS);
    expect(backMs, report).toBeLessThanOrEqual(HEALTH.intervalMs * HEALTH.rise + SLACK_MS);
    expect(s.misdelivered, report).toBe(0);
    // Failures happen only between the stop and the rebuild of the table, and only on the flows
    // the stopped backend got: bounded by the window's requests. A failure ends after the stop (a
    // request under way at the stop may have started any time before it: its start says nothing
    // when the machine is slow) and starts before the backend was out.
    for (const f of s.failures) expect(f.t1, `failure before the stop: ${JSON.stringify(f)}; ${report}`).toBeGreaterThanOrEqual(rel(tStop));
    for (const f of s.failures)
      expect(f.t0, `failure after the backend was out: ${JSON.stringify(f)}; ${report}`).toBeLessThanOrEqual(rel(tOut) + 50);
    expect(s.errors, report).toBeLessThanOrEqual(Math.ceil(inWindow.length * 0.6));
    expect(
      after.filter((r) => !r.ok),
      report,
    ).toEqual([]);
    // Out of rotation: no new flow went to http2 until it was back.
    const whileOut = s.records!.filter((r) => r.t0 > rel(tOut) + 50 && r.t1 < rel(tRestart));
    expect(whileOut.length, report).toBeGreaterThan(50);
    expect(
      whileOut.filter((r) => r.backend === 'http2'),
      report,
    ).toEqual([]);
    // Back: it takes new flows again.
    const back = s.records!.filter((r) => r.t0 > rel(tBack) + 50);
    expect(back.filter((r) => r.backend === 'http2').length, report).toBeGreaterThan(0);
    expect(
      back.every((r) => r.ok),
      report,
    ).toBe(true);
    const down = t.logs.find((l) => l.msg.startsWith('backend down') && l.backend === http2);
    expect(down, 'a log line says why the backend went down').toMatchObject({
      level: 'warn',
      service: 'web',
      reason: expect.stringMatching(/3 failed checks in a row/),
    });
    expect(
      t.logs.find((l) => l.msg.startsWith('backend up') && l.backend === http2),
      'a log line says why it came back',
    ).toMatchObject({ reason: expect.stringMatching(/2 good checks in a row/) });
  });

  it('every backend failing its checks: the service stays in rotation (fail open) and says so', async () => {
    writeAndWait(config({ ...HEALTH, path: '/nope' }));
    await waitFor('every backend down by health', () => t.agent.status().health.every((h) => !h.up), 5000);
    await waitFor('fail open applied', () => t.agent.status().failOpen.includes('web'), 2000);
    const m = await t.scrape();
    for (const b of addr.backends) {
      expect(metric(m, 'xdp_lb_backend_up', { service: 'web', backend: `${b}:80` })).toBe(0);
      expect(metric(m, 'xdp_lb_backend_in_rotation', { service: 'web', backend: `${b}:80` })).toBe(1);
    }
    const hz = await t.get('/healthz');
    expect(hz.status).toBe(200);
    expect(JSON.parse(hz.body)).toMatchObject({ status: 'ok', failOpen: ['web'] });
    const load = await LoadGen.start(lab.host('client1'), { address: addr.vip, concurrency: 2 });
    await sleep(700);
    const s = await load.stop();
    expect(s.errors, JSON.stringify(s.failures.slice(0, 3))).toBe(0);
    expect(Object.keys(s.byBackend).sort()).toEqual(['http1', 'http2', 'http3']);
    expect(t.logs.some((l) => l.level === 'error' && /fail open/.test(l.msg))).toBe(true);

    writeAndWait(config(HEALTH));
    await waitFor('every backend up again', () => t.agent.status().health.every((h) => h.up), 5000);
    await waitFor('fail open over', () => t.agent.status().failOpen.length === 0, 2000);
  });

  function writeAndWait(cfg: object): void {
    env.writeConfig('health', cfg);
  }
});
