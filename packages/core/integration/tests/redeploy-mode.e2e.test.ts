// A re-deploy that changes an interface's XDP mode (native -> generic and back) used to keep the
// old mode and report success. A bpf_link cannot change mode, so deploy re-attaches: detach, then
// attach in the new mode, with a warning that says it is not atomic; status shows the new mode,
// conntrack is kept (the maps are pinned), and the program forwards. 'auto' keeps what it got.
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { Abi, instancePaths } from '@xdp-lb/core';
import { BpfMap } from '@xdp-lb/native';
import { type Lab, tutorialAddresses, tutorialTopology } from '@xdp-lb/netlab';
import { describeLab } from '@xdp-lb/netlab/vitest';
import { useE2e, probe } from './support.js';

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
      services: [
        { vip: `${addr.vip}:80`, backends: addr.backends },
        { vip: `${addr.vip}:53`, protocol: 'udp', backends: addr.backends },
      ],
    });
    const check = (mode: string) => {
      const st = e2e.lb().status(instance);
      expect(st.interfaces.map((i) => [i.name, i.mode, i.attached])).toEqual([['eth0', mode, true]]);
      const target = { netns: lab.host('lb').netns.name, ifindex: st.interfaces[0]!.ifindex, progId: st.interfaces[0]!.progId! };
      expect(probe(target, { vip: addr.vip, port: 80, protocol: 'tcp' }).verdict).toMatch(/^(TX|REDIRECT)$/);
      // A UDP flow is tracked at once (a TCP SYN starts half-open, outside the conntrack table).
      expect(probe(target, { vip: addr.vip, port: 53, protocol: 'udp' }).verdict).toMatch(/^(TX|REDIRECT)$/);
      return e2e.lb().status(instance).conntrack.entries;
    };
    try {
      const first = await e2e.deploy(lab, cfg('native'));
      expect(first.warnings.filter((w) => /re-attached/.test(w))).toEqual([]);
      const ct = check('native');
      expect(ct).toBeGreaterThan(0);
      const gen = await e2e.deploy(lab, cfg('generic'));
      expect(gen.interfaces.map((i) => i.mode)).toEqual(['generic']);
      expect(gen.warnings).toContainEqual(
        expect.stringMatching(/^interface eth0: XDP mode native -> generic: re-attached \(detach, then attach: not atomic/),
      );
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

describeLab('re-deploy with another table size', () => {
  const pinnedMax = (instance: string, name: string) => {
    const m = BpfMap.fromPinned(join(instancePaths(instance).maps, name));
    try {
      return m.maxEntries;
    } finally {
      m.dispose();
    }
  };

  it('limits.conntrackSize 65536 -> 16384 -> 131072: a new table each time, the flows copied, forwarding', async () => {
    const lab: Lab = await e2e.lab(tutorialTopology({ clients: 1, backends: 2 }));
    const instance = e2e.instance('ctsize');
    const ports = e2e.snatPorts();
    const cfg = (conntrackSize: number) => ({
      instance,
      interfaces: ['eth0'],
      limits: { conntrackSize },
      snat: { addresses: [addr.lb], ports },
      services: [{ vip: `${addr.vip}:53`, protocol: 'udp', backends: addr.backends }],
    });
    // UDP flows: tracked in the conntrack table from their first packet (TCP SYNs start half-open).
    const flows = () => {
      const st = e2e.lb().status(instance);
      for (let i = 0; i < 20; i++) {
        const r = probe(
          { netns: lab.host('lb').netns.name, ifindex: st.interfaces[0]!.ifindex, progId: st.interfaces[0]!.progId! },
          { vip: addr.vip, port: 53, protocol: 'udp' },
        );
        expect(r.verdict).toMatch(/^(TX|REDIRECT)$/);
      }
      return e2e.lb().status(instance).conntrack.entries;
    };
    try {
      await e2e.deploy(lab, cfg(65536));
      const before = flows();
      expect(before).toBeGreaterThanOrEqual(20);
      for (const [from, to] of [
        [65536, 16384],
        [16384, 131072],
      ] as const) {
        const r = await e2e.deploy(lab, cfg(to));
        expect(r.warnings).toContainEqual(
          expect.stringMatching(new RegExp(`^limits\\.conntrackSize ${from} -> ${to}: a new table, \\d+ entries copied into it`)),
        );
        // The NAT table holds established and half-open flows: conntrackSize + conntrackSize / 8.
        expect(r.warnings).toContainEqual(
          expect.stringMatching(new RegExp(`^the NAT table ${from * 1.125} -> ${to * 1.125}: a new table`)),
        );
        expect(r.warnings).toContainEqual(
          expect.stringMatching(new RegExp(`^limits\\.halfOpenSize ${from / 8} -> ${to / 8}: a new table`)),
        );
        expect(pinnedMax(instance, Abi.MAPS.ct)).toBe(to);
        expect(pinnedMax(instance, Abi.MAPS.snat)).toBe(to * 1.125);
        expect(pinnedMax(instance, Abi.MAPS.ctSyn)).toBe(to / 8);
        const st = e2e.lb().status(instance);
        expect(st.conntrack.max).toBe(to);
        expect(st.conntrack.entries, 'the tracked flows were copied').toBeGreaterThanOrEqual(before);
        expect(flows()).toBeGreaterThan(st.conntrack.entries - 1);
        expect(readdirSync(instancePaths(instance).maps).filter((f) => f.endsWith('_new'))).toEqual([]);
      }
    } finally {
      e2e.lb().undeploy(instance);
    }
  }, 120_000);

  it('adding NAT to an instance deployed without it sizes its NAT table to conntrackSize + halfOpenSize', async () => {
    const lab: Lab = await e2e.lab(tutorialTopology({ clients: 1, backends: 2 }));
    const instance = e2e.instance('natsize');
    const dsr = {
      instance,
      interfaces: ['eth0'],
      limits: { conntrackSize: 65536 },
      services: [{ vip: `${addr.vip}:80`, forward: 'dsr', backends: addr.backends }],
    };
    try {
      await e2e.deploy(lab, dsr);
      expect(pinnedMax(instance, Abi.MAPS.snat)).toBe(4096);
      const nat = {
        ...dsr,
        snat: { addresses: [addr.lb], ports: e2e.snatPorts() },
        services: [{ vip: `${addr.vip}:80`, backends: addr.backends }],
      };
      const r = await e2e.deploy(lab, nat);
      expect(r.warnings).toContainEqual(expect.stringMatching(/^the NAT table 4096 -> 73728: a new table/));
      expect(pinnedMax(instance, Abi.MAPS.snat)).toBe(73728);
      await e2e.deploy(lab, dsr); // back to DSR only: the NAT table is kept as it is
      expect(pinnedMax(instance, Abi.MAPS.snat)).toBe(73728);
    } finally {
      e2e.lb().undeploy(instance);
    }
  }, 60_000);
});
