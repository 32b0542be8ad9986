// Health that tells the truth: a service that cannot take a new flow (its slot table gone: what
// the id-reuse defect left; or its table naming no active backend) was "ok" in the status, in the
// metrics and in /healthz while every new connection was dropped. The data plane is broken here
// by hand, through its pinned maps, the way that defect broke it; then the library's status,
// xdp_lb_service_up, /healthz and the agent's resync (which rewrites the maps) are checked.
// (How `lb status` shows it, the warning included: the CLI's health-truth.e2e.test.ts.)
import { join } from 'node:path';
import { afterEach, beforeAll, expect, it } from 'vitest';
import { Abi, instancePaths } from '@xdp-lb/core';
import { BpfMap } from '@xdp-lb/native';
import { type Lab, tutorialAddresses, tutorialTopology } from '@xdp-lb/netlab';
import { describeLab } from '@xdp-lb/netlab/vitest';
import { dropSlotTable, metric, useAgentEnv, waitFor } from './support.js';

const env = useAgentEnv();
const addr = tutorialAddresses({ clients: 1, backends: 2 });

/** Marks a backend draining in lb_backends behind the control plane's back. */
function drainInKernel(instance: string, beId: number): void {
  const m = BpfMap.fromPinned(join(instancePaths(instance).maps, Abi.MAPS.backends));
  try {
    const v = Abi.decodeBackend(m.lookup(Abi.u32(beId)) as Buffer);
    m.update(Abi.u32(beId), Abi.encodeBackend({ ...v, state: Abi.BE_DRAINING }));
  } finally {
    m.dispose();
  }
}

describeLab('a service that cannot serve is reported', () => {
  let lab: Lab;
  beforeAll(async () => {
    lab = await env.lab(tutorialTopology({ clients: 1, backends: 2 }));
  }, 120_000);
  afterEach(() => {
    for (const i of env.lb().instances()) env.lb().undeploy(i);
  });
  const config = (instance: string) => ({
    instance,
    interfaces: ['eth0'],
    snat: { addresses: [addr.lb] },
    services: [
      { name: 'web', vip: `${addr.vip}:80`, backends: addr.backends },
      { name: 'alt', vip: `${addr.vip}:8080`, backends: [addr.backends[0]] },
    ],
  });

  it('status: serving false with the reason; the other service is fine', async () => {
    const instance = env.instance('truth-status');
    lab.registerPinDir(`${env.bpffs}/${instance}`);
    await env.lb().deploy(config(instance), { netns: lab.host('lb').netns.name });
    const serving = () =>
      env
        .lb()
        .status(instance)
        .services.map((s) => [s.name, s.serving, s.problem]);
    expect(serving()).toEqual([
      ['web', true, undefined],
      ['alt', true, undefined],
    ]);
    const [web, alt] = env.lb().status(instance).services;
    dropSlotTable(instance, web!.id);
    expect(serving()).toEqual([
      ['web', false, '0 slots: its table is empty, every new flow is dropped (drop_no_backend)'],
      ['alt', true, undefined],
    ]);
    drainInKernel(instance, alt!.backends[0]!.id);
    expect(env.lb().status(instance).services[1]!.problem).toBe(
      'no backend in rotation in the data plane (its table names a backend that is not active)',
    );
  }, 60_000);

  it('the agent: xdp_lb_service_up 0 and /healthz 503 naming the service', async () => {
    const instance = env.instance('truth-agent');
    const file = env.writeConfig('truth-agent', config(instance));
    const t = await env.startAgent(lab, file, { resyncMs: 0 });
    try {
      expect(metric(await t.scrape(), 'xdp_lb_service_up', { service: 'web' })).toBe(1);
      expect((await t.get('/healthz')).status).toBe(200);
      dropSlotTable(instance, env.lb().status(instance).services[0]!.id);
      // Scrapes and /healthz read the kernel each time: no resync needed to see it.
      const m = await t.scrape();
      expect(metric(m, 'xdp_lb_service_up', { service: 'web' })).toBe(0);
      expect(metric(m, 'xdp_lb_service_up', { service: 'alt' })).toBe(1);
      const h = await t.get('/healthz');
      expect(h.status).toBe(503);
      expect(JSON.parse(h.body)).toEqual(
        expect.objectContaining({ status: 'unavailable', notServing: [{ service: 'web', problem: expect.stringMatching(/^0 slots/) }] }),
      );
    } finally {
      await t.agent.stop();
    }
  }, 60_000);

  it("the agent's resync rewrites the maps of a service that cannot serve", async () => {
    const instance = env.instance('truth-resync');
    const file = env.writeConfig('truth-resync', config(instance));
    const t = await env.startAgent(lab, file, { resyncMs: 300 });
    try {
      dropSlotTable(instance, env.lb().status(instance).services[0]!.id);
      await waitFor('the resync repairs the service', () => env.lb().status(instance).services[0]!.serving, 10_000);
      expect(
        t.logs.some((l) => l.msg.startsWith('service cannot serve although the applied config says it can') && l.service === 'web'),
        t.logText(),
      ).toBe(true);
      expect(metric(await t.scrape(), 'xdp_lb_service_up', { service: 'web' })).toBe(1);
      expect((await t.get('/healthz')).status).toBe(200);
    } finally {
      await t.agent.stop();
    }
  }, 60_000);
});
