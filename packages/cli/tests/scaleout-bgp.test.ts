// Scale-out with BGP (issue 9): the VIP route on the router is learned over BGP from BIRD 2 on
// each LB node, and each node's BIRD announces it only while its agent says so (announce.bird:
// "enable/disable xdp_lb_vips" on the control socket). The BIRD configs are deploy/bgp's
// templates, rendered for the lab. Two LB nodes: lb1's agent is a real `lb serve` process (the CLI
// bundled from source, signals), lb2's runs in this process (the library's Agent).
//   1. Both nodes announce once healthy (after their first round of checks); the router's BIRD
//      merges the two routes into one ECMP route in its kernel.
//   2. SIGUSR1 drains lb1 (withdrawn, its data plane still forwarding): the route loses lb1 and
//      established DSR connections carry on through lb2, answered by the same backends; SIGUSR2
//      brings lb1 back.
//   3. lb2 loses its way to every backend (blackhole routes in its namespace): its checks fail
//      and it withdraws; when the way is back it announces again. The drain file does the same.
//   4. A stopped agent leaves the announcement (the data plane keeps forwarding too).
// Skipped, with the reason, where bird2 is not installed (scripts/bootstrap.sh installs it).
import { existsSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Agent, birdCommands, createLogger } from '@xdp-lb/core';
import { describeLab } from '@xdp-lb/netlab/vitest';
import { type KeepAliveClient, type Lab, type LabProcess, openKeepAlive } from '@xdp-lb/netlab';
import {
  backendAddress,
  BIRD,
  birdConfig,
  birdSocket,
  type LogLine,
  nodeConfig,
  scaleoutTopology,
  startBird,
  useAgentEnv,
  VIP,
  vipNextHops,
  waitFor,
} from './serve-support.js';

const env = useAgentEnv();
const BACKENDS = [1, 2].map(backendAddress);

/** Waits for a log line (the agent logs JSON to stderr) matching `re`. */
async function logged(p: LabProcess, re: RegExp): Promise<void> {
  await waitFor(
    `${re} in the log of ${p.label}`,
    () => {
      if (!p.running) throw new Error(`${p.label} exited: ${p.stderr().slice(-2000)}`);
      return p
        .stderr()
        .split('\n')
        .some((l) => re.test(l));
    },
    20_000,
    50,
  );
}

/** The scale-out lab's node config (testkit's nodeConfig) with web alone, health-checked, announced through BIRD. */
function nodeFile(instance: string, socket: string, drainFile: string): Record<string, unknown> {
  const base = nodeConfig(instance, BACKENDS);
  const [web] = base.services as Record<string, unknown>[];
  return {
    ...base,
    services: [{ ...web, health: { type: 'http', path: '/health', intervalMs: 250, timeoutMs: 200, rise: 2, fall: 2 } }],
    announce: { bird: { socket, protocol: 'xdp_lb_vips' }, intervalMs: 250, drainFile },
  };
}

(BIRD ? describeLab : describe.skip)(
  `scale-out over BGP: BIRD 2 on two LB nodes and a router${BIRD ? '' : ' [skipped: bird2 is not installed (apt-get install bird2)]'}`,
  () => {
    let lab: Lab;
    const sock = (host: string) => birdSocket(env.dir, host);
    const drainFile = (n: number) => join(env.dir, `drain-lb${n}`);
    const inst: Record<number, string> = {};
    let serve1: LabProcess;
    let agent2: Agent;
    const logs2: LogLine[] = [];
    const clients: KeepAliveClient[] = [];

    afterAll(async () => {
      for (const c of clients) if (c.process.running) await c.stop();
      await agent2?.stop();
    });

    const hops = () => vipNextHops(lab.host('router'));
    const waitHops = async (want: number[], what: string, timeoutMs = 20_000) => {
      await waitFor(
        `${what}: router's next hops to the VIP ${JSON.stringify(want)} (now ${JSON.stringify(await hops())})`,
        async () => JSON.stringify(await hops()) === JSON.stringify(want),
        timeoutMs,
        100,
      ).catch(async (e: Error) => {
        const r = await birdCommands(sock('router'), ['show protocols', 'show route']).catch((x: Error) => [x.message]);
        throw new Error(
          `${e.message}\nrouter BIRD: ${JSON.stringify(r)}\nlb1 agent: ${serve1?.stderr().slice(-2000)}\nlb2 agent: ${logs2
            .slice(-10)
            .map((l) => JSON.stringify(l))
            .join('\n')}`,
        );
      });
    };

    it('starts BIRD on the router and on each node from deploy/bgp', async () => {
      lab = await env.lab(scaleoutTopology({ lbs: 2, backends: 2, clients: 2 }));
      // bird -p in startBird: the rendered templates parse.
      for (const h of ['router', 'lb1', 'lb2']) await startBird(lab, env.dir, h, birdConfig(h, 2));
      for (const h of ['router', 'lb1', 'lb2']) await waitFor(`BIRD's socket on ${h}`, () => existsSync(sock(h)), 10_000);
      // BIRD alone announces nothing: the VIP protocol starts disabled.
      const [p] = await birdCommands(sock('lb1'), ['show protocols xdp_lb_vips']);
      expect(p!.lines.find((l) => l.code === 1002)?.text).toMatch(/xdp_lb_vips\s+Static\s+master4\s+down/);
      expect(await hops()).toEqual([]);
    });

    it('1. both nodes announce once healthy; the router installs one ECMP route over them', async () => {
      for (const n of [1, 2]) inst[n] = env.instance(`bgp${n}`);
      await env.cliBundle();
      const f1 = env.writeConfig('lb1', nodeFile(inst[1]!, sock('lb1'), drainFile(1)));
      lab.registerPinDir(`${env.bpffs}/${inst[1]}`);
      serve1 = env.spawnServe(['-f', f1, '--netns', lab.host('lb1').netns.name, '--metrics', 'off', '--log', 'json']);
      await logged(serve1, /"msg":"serving"/);

      const f2 = env.writeConfig('lb2', nodeFile(inst[2]!, sock('lb2'), drainFile(2)));
      lab.registerPinDir(`${env.bpffs}/${inst[2]}`);
      agent2 = new Agent(env.lb());
      await agent2.start({
        file: f2,
        netns: lab.host('lb2').netns.name,
        metrics: { host: '127.0.0.1', port: 0 },
        resyncMs: 0,
        log: createLogger({ format: 'json', level: 'debug', write: (l) => logs2.push(JSON.parse(l) as LogLine) }),
      });
      await waitHops([1, 2], 'both nodes healthy');
      expect(serve1.stderr()).toMatch(/"msg":"announcing the VIPs"/);
      expect(agent2.status().announce).toMatchObject({ announced: true, healthy: true, draining: undefined, prefixes: [`${VIP}/32`] });
      const m = await (await fetch(`http://127.0.0.1:${agent2.status().metrics!.port}/metrics`)).text();
      expect(m).toMatch(/^xdp_lb_announce_up\{method="bird"\} 1$/m);
      // Traffic through the learned route: long connections from two clients, over both nodes. The
      // router hashes each five-tuple to a node, so eight connections all land on one node once in
      // 128 runs (seen in CI): open more, eight at a time, until both carry some (at most 32).
      const carried = () => [1, 2].map((n) => env.lb().status(inst[n]!).services[0]!.counters.packets);
      while (clients.length < 32 && (clients.length === 0 || !carried().every((p) => p > 0))) {
        const batch: KeepAliveClient[] = [];
        for (let i = 0; i < 8; i++)
          batch.push(
            await openKeepAlive(lab.host(i % 2 ? 'client2' : 'client1'), { address: VIP, intervalMs: 100, requestTimeoutMs: 3000 }),
          );
        clients.push(...batch);
        await Promise.all(batch.map((c) => c.waitForResponses(3)));
      }
      expect(
        carried().every((p) => p > 0),
        `web packets per node: ${carried().join(', ')} over ${clients.length} connections`,
      ).toBe(true);
    });

    it('2. SIGUSR1 drains lb1: withdrawn, connections carry on through lb2; SIGUSR2 brings it back', async () => {
      const mine = clients.map((c) => c.responses()[0]!.body.trim());
      const counts = clients.map((c) => c.responses().length);
      process.kill(serve1.pid, 'SIGUSR1');
      await waitHops([2], 'lb1 drained');
      await logged(serve1, /"msg":"withdrawing the VIPs".*draining \(SIGUSR1\)/);
      await Promise.all(clients.map((c, i) => c.waitForResponses(counts[i]! + 8, 10_000)));
      for (const [i, c] of clients.entries())
        expect([...new Set(c.responses().map((r) => r.body.trim()))], `connection ${i}`).toEqual([mine[i]]);
      // lb1's data plane still forwards (a drain moves traffic by routing only), but gets none now.
      const s1 = env.lb().status(inst[1]!);
      expect(s1.interfaces[0]!.attached).toBe(true);
      const before = s1.services[0]!.counters.packets;
      await new Promise((r) => setTimeout(r, 400));
      expect(env.lb().status(inst[1]!).services[0]!.counters.packets).toBe(before);

      process.kill(serve1.pid, 'SIGUSR2');
      await waitHops([1, 2], 'lb1 undrained');
      for (const [i, c] of clients.entries()) {
        const n = c.responses().length;
        await c.waitForResponses(n + 5, 10_000);
        const s = c.events().filter((e) => e.event === 'closed' || e.event === 'timeout');
        expect(s, `connection ${i}: breaks or timeouts`).toEqual([]);
        expect([...new Set(c.responses().map((r) => r.body.trim()))], `connection ${i}`).toEqual([mine[i]]);
      }
    });

    it('3. lb2 withdraws when it cannot reach any backend, and announces again when it can; the drain file drains', async () => {
      const lb2 = lab.host('lb2');
      await lb2.exec(['ip', '-batch', '-'], { input: BACKENDS.map((b) => `route add blackhole ${b}/32`).join('\n') });
      await waitHops([1], 'lb2 lost its backends');
      expect(agent2.status().announce).toMatchObject({ announced: false, healthy: false, reason: 'no healthy backend in web' });
      await lb2.exec(['ip', '-batch', '-'], { input: BACKENDS.map((b) => `route del blackhole ${b}/32`).join('\n') });
      await waitHops([1, 2], 'lb2 reaches its backends again');

      writeFileSync(drainFile(2), '');
      await waitHops([1], 'lb2 drained by its drain file');
      expect(agent2.status().announce?.draining).toBe(`drain file ${drainFile(2)}`);
      rmSync(drainFile(2));
      await waitHops([1, 2], 'drain file removed');
    });

    it('4. a stopped agent leaves the announcement (the data plane keeps forwarding too)', async () => {
      await agent2.stop();
      await new Promise((r) => setTimeout(r, 1000));
      expect(await hops()).toEqual([1, 2]);
      await serve1.kill('SIGTERM', 5000);
      expect(serve1.exitInfo?.code).toBe(0);
      expect(await hops()).toEqual([1, 2]);
      for (const [i, c] of clients.entries()) {
        const s = await c.stop();
        expect(s.closed, `connection ${i}`).toBeUndefined();
        expect(s.timeouts, `connection ${i}: timeouts`).toBe(0);
      }
      for (const n of [1, 2]) env.lb().undeploy(inst[n]!);
    });
  },
);
