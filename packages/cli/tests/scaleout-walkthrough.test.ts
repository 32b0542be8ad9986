// deploy/README.md's walk from nothing to two LB nodes behind ECMP, as a user types it:
// `node deploy/lab/scaleout.mjs up` (with --bgp where bird2 is installed: the route is then what
// the agents announce), one `lb serve` per node with the files it wrote, HTTP from a client
// through the router to both nodes, then `scaleout.mjs down`. The agents are the CLI bundled from
// source (serve-support), with this file's own pins and state.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, expect, it } from 'vitest';
import { describeLab } from '@xdp-lb/netlab/vitest';
import { exec, httpGet, Lab, LabProcess, listNetns, Netns } from '@xdp-lb/netlab';
import { useAgentEnv, waitFor } from './serve-support.js';

const env = useAgentEnv();
const SCRIPT = fileURLToPath(new URL('../../../deploy/lab/scaleout.mjs', import.meta.url));
const BGP = ['/usr/sbin/bird', '/usr/bin/bird'].some((p) => existsSync(p));

describeLab(
  `deploy/README.md: two LB nodes behind ECMP in the lab${BGP ? ' (BGP through BIRD)' : ' (static ECMP; bird2 not installed)'}`,
  () => {
    const dir = join(env.dir, 'scaleout');
    let lab: { id: string; netns: Record<string, string> } | undefined;
    const agents: LabProcess[] = [];

    afterAll(async () => {
      for (const a of agents) await a.kill('SIGTERM', 3000);
      if (lab && listNetns().some((n) => n.startsWith(`${lab!.id}-`))) {
        await exec([process.execPath, SCRIPT, 'down', '--dir', dir], { check: false, timeoutMs: 60_000 });
        try {
          Lab.destroyById(lab.id);
        } catch {
          /* gone */
        }
      }
    });

    it('scaleout.mjs up builds the lab and writes a config per node', async () => {
      const r = await exec([process.execPath, SCRIPT, 'up', '--dir', dir, '--prefix', 'xlbw', ...(BGP ? ['--bgp'] : [])], {
        check: false,
        timeoutMs: 60_000,
      });
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toMatch(/serve -f .*lb1\.yaml --netns \S+-lb1/);
      lab = JSON.parse(readFileSync(join(dir, 'lab.json'), 'utf8')) as { id: string; netns: Record<string, string> };
      for (const n of [1, 2]) expect(existsSync(join(dir, `lb${n}.yaml`))).toBe(true);
      const cfg = await env.lb().checkConfigFile(join(dir, 'lb1.yaml'), { checkInterfaces: false });
      expect(cfg.services[0]!.forward).toBe('dsr');
      expect(Boolean(cfg.announce?.bird)).toBe(BGP);
    });

    it('one agent per node; the router carries the VIP over both; clients reach both nodes', async () => {
      await env.cliBundle();
      // The lab is the script's own (persistent): `down`, or this file's afterAll, removes it.
      for (const n of [1, 2]) {
        const p = env.spawnServe(['-f', join(dir, `lb${n}.yaml`), '--netns', lab!.netns[`lb${n}`]!, '--metrics', 'off', '--log', 'json']);
        agents.push(p);
      }
      const router = new Netns(lab!.netns.router!);
      const hops = async () => (await router.exec(['ip', 'route', 'show', '198.18.2.10'])).stdout;
      await waitFor(
        'an ECMP route over lb1 and lb2',
        async () => /via 198\.18\.0\.2[\s\S]*via 198\.18\.0\.3/.test(await hops()),
        30_000,
        200,
      );
      const client = new Netns(lab!.netns.client1!);
      // Each connection (a new source port) is a draw of the router's five-tuple hash between the
      // nodes and of Maglev between the backends: 20 connections all on one node or all on one
      // backend is a 1-in-260,000 draw. Connect until both nodes and both backends have had some,
      // up to 60 times (one in 2^58 then).
      const bodies = new Set<string>();
      const carried = () => ['lb1', 'lb2'].map((i) => env.lb().status(i).services[0]!.counters.newFlows);
      for (let i = 0; i < 60 && (i < 20 || bodies.size < 2 || !carried().every((c) => c > 0)); i++) {
        bodies.add((await httpGet(client, 'http://198.18.2.10/')).body.trim());
      }
      expect([...bodies].sort()).toEqual(['http1', 'http2']);
      expect(
        carried().every((c) => c > 0),
        `new flows per node: ${carried().join(', ')}`,
      ).toBe(true);
    });

    it('scaleout.mjs down undeploys the nodes and removes the lab', async () => {
      for (const a of agents) await a.kill('SIGTERM', 5000);
      const r = await exec([process.execPath, SCRIPT, 'down', '--dir', dir], { check: false, timeoutMs: 60_000 });
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toMatch(/undeployed lb1\nundeployed lb2\nremoved lab/);
      expect(listNetns().filter((n) => n.startsWith(`${lab!.id}-`))).toEqual([]);
      expect(existsSync(join(env.bpffs, 'lb1'))).toBe(false);
    });
  },
);
