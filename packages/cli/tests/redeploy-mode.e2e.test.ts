// A re-deploy that changes an interface's XDP mode (native -> generic and back) used to keep the
// old mode and report success. A bpf_link cannot change mode, so deploy re-attaches: detach, then
// attach in the new mode, with a warning that says it is not atomic; status shows the new mode,
// conntrack is kept (the maps are pinned), and the program forwards. 'auto' keeps what it got.
import { expect, it } from 'vitest';
import { type Lab, tutorialAddresses, tutorialTopology } from '@xdp-lb/netlab';
import { describeLab } from '@xdp-lb/netlab/vitest';
import { useE2e } from './helpers/e2e.js';
import { probe } from './helpers/probe.js';

const e2e = useE2e();
const addr = tutorialAddresses({ clients: 1, backends: 2 });

describeLab('re-deploy with another XDP mode', () => {
  it('native -> generic -> auto -> native: re-attached with a warning, forwarding, conntrack kept', async () => {
    const lab: Lab = await e2e.lab(tutorialTopology({ clients: 1, backends: 2 }));
    const instance = e2e.instance('mode');
    const ports = e2e.snatPorts();
    const cfg = (mode: string) => ({
      instance,
      interfaces: [{ name: 'eth0', mode }],
      snat: { addresses: [addr.lb], ports },
      services: [{ vip: `${addr.vip}:80`, backends: addr.backends }],
    });
    const check = (mode: string) => {
      const st = e2e.lb().status(instance);
      expect(st.interfaces.map((i) => [i.name, i.mode, i.attached])).toEqual([['eth0', mode, true]]);
      const r = probe({ netns: lab.host('lb').netns.name, ifindex: st.interfaces[0]!.ifindex, progId: st.interfaces[0]!.progId! }, { vip: addr.vip, port: 80, protocol: 'tcp' });
      expect(r.verdict).toMatch(/^(TX|REDIRECT)$/);
      return e2e.lb().status(instance).conntrack.entries;
    };
    try {
      const first = await e2e.deploy(lab, cfg('native'));
      expect(first.warnings.filter((w) => /re-attached/.test(w))).toEqual([]);
      const ct = check('native');
      expect(ct).toBeGreaterThan(0);
      const gen = await e2e.deploy(lab, cfg('generic'));
      expect(gen.interfaces.map((i) => i.mode)).toEqual(['generic']);
      expect(gen.warnings).toContainEqual(expect.stringMatching(/^interface eth0: XDP mode native -> generic: re-attached \(detach, then attach: not atomic/));
      expect(check('generic')).toBeGreaterThan(ct); // the first probe's entry is still there
      const auto = await e2e.deploy(lab, cfg('auto'));
      expect(auto.warnings.filter((w) => /re-attached/.test(w))).toEqual([]);
      check('generic');
      const back = await e2e.deploy(lab, cfg('native'));
      expect(back.warnings).toContainEqual(expect.stringMatching(/XDP mode generic -> native: re-attached/));
      check('native');
    } finally {
      e2e.lb().undeploy(instance);
    }
  }, 120_000);
});
