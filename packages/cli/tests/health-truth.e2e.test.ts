// Health that tells the truth, as `lb status` shows it: a service whose slot table is gone (what
// the id-reuse defect left; broken here by hand through the pinned maps) is NOT SERVING in the
// table and in `-o json`, with the reason, and the command warns on stderr. What the library's
// status, the metrics, /healthz and the agent's resync say: core-integration's
// health-truth.e2e.test.ts.
import { expect, it } from 'vitest';
import { tutorialAddresses, tutorialTopology } from '@xdp-lb/netlab';
import { describeLab } from '@xdp-lb/netlab/vitest';
import { dropSlotTable, lbInProcess, useE2e } from './helpers/e2e.js';

const e2e = useE2e();
const addr = tutorialAddresses({ clients: 1, backends: 2 });

describeLab('lb status reports a service that cannot serve', () => {
  it('serving false with the reason, a warning on stderr; the other service is fine', async () => {
    const lab = await e2e.lab(tutorialTopology({ clients: 1, backends: 2 }));
    const instance = e2e.instance('truth-status');
    await e2e.deploy(lab, {
      instance,
      interfaces: ['eth0'],
      snat: { addresses: [addr.lb], ports: e2e.snatPorts() },
      services: [
        { name: 'web', vip: `${addr.vip}:80`, backends: addr.backends },
        { name: 'alt', vip: `${addr.vip}:8080`, backends: [addr.backends[0]] },
      ],
    });
    let r = await lbInProcess('status', '-i', instance);
    expect([r.code, r.err]).toEqual([0, '']);
    expect(r.out).not.toContain('NOT SERVING');
    dropSlotTable(instance, e2e.lb().status(instance).services[0]!.id);
    r = await lbInProcess('status', '-i', instance, '-o', 'json');
    expect(r.code).toBe(0);
    const s = JSON.parse(r.out);
    expect(s.services.map((x: { name: string; serving: boolean; problem?: string }) => [x.name, x.serving, x.problem])).toEqual([
      ['web', false, '0 slots: its table is empty, every new flow is dropped (drop_no_backend)'],
      ['alt', true, undefined],
    ]);
    expect(r.err).toBe('lb: warning: service web cannot serve: 0 slots: its table is empty, every new flow is dropped (drop_no_backend)');
    r = await lbInProcess('status', '-i', instance);
    expect(r.out).toContain('  NOT SERVING: 0 slots');
    e2e.lb().undeploy(instance);
  }, 120_000);
});
