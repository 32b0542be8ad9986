import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Lab, tutorialTopology, tutorialAddresses, httpGet } from '@xdp-lb/netlab';
import { composeLoadBalancer } from '../src/index.js';

describe('smoke', () => {
  let lab: Lab;
  const a = tutorialAddresses({ clients: 2, backends: 2 });
  beforeAll(async () => {
    process.env.XDP_LB_BPFFS = `/sys/fs/bpf/xlb-test-${process.pid}`;
    process.env.XDP_LB_STATE_DIR = `/tmp/xlb-state-${process.pid}`;
    lab = await Lab.up(tutorialTopology({ clients: 2, backends: 2 }));
  });
  afterAll(async () => {
    try { composeLoadBalancer().undeploy('smoke'); } catch (e) { console.log('undeploy', (e as Error).message); }
    await lab?.destroy();
  });
  it('nat hash', async () => {
    const lb = composeLoadBalancer();
    const r = await lb.deploy({ instance: 'smoke', interfaces: ['eth0:native'], snat: { addresses: [a.lb] }, services: [{ vip: `${a.vip}:80`, backends: a.backends }] }, { netns: lab.host('lb').netns.name });
    console.log(JSON.stringify(r));
    const seen: Record<string, number> = {};
    for (let i = 0; i < 10; i++) {
      for (const c of ['client1', 'client2']) {
        const res = await httpGet(lab.host(c), `http://${a.vip}/`, { timeoutMs: 3000 });
        seen[res.body.trim()] = (seen[res.body.trim()] ?? 0) + 1;
      }
    }
    console.log(seen, JSON.stringify(lb.status('smoke').reasons));
    expect(Object.keys(seen).length).toBeGreaterThan(0);
  });
});
