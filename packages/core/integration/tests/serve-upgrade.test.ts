// Upgrades: an instance's pinned maps carry the map layout they were created with (a one-entry
// map pinned next to them, `<bpffs>/<instance>/layout`, written at the first deploy). Pins of
// another layout are never reused, written into nor misread: a re-deploy, a hot update, `lb status`
// and an agent that would adopt them all refuse with one clear line and leave everything as it
// was. Pins from before the stamp existed are layout 1 (the only one there was) and are refused
// the same way by this build (layout 7, since lb_ft4). The instance keeps forwarding throughout.
// Layout 6 is layout 7 without lb_ft4 (the flow table), layout 4 is layout 6 with lb_svc.strategy
// as padding, layout 3 is layout 4 without lb_ct_syn (the half-open table), layout 2 is layout 3
// without lb_addr_slots: an agent's restart (its deploy) upgrades each in place, under an open
// connection that never notices.
import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Abi, Agent, createLogger, instancePaths } from '@xdp-lb/core';
import { BpfMap } from '@xdp-lb/native';
import { httpGet, type Lab, openKeepAlive, tutorialAddresses, tutorialTopology } from '@xdp-lb/netlab';
import { linkInfo, type LogLine, snapshotMaps, useAgentEnv } from './support.js';

const env = useAgentEnv();
const addr = tutorialAddresses({ clients: 1, backends: 2 });

describe('pinned maps of another layout are refused, never misread', () => {
  let lab: Lab;
  const instance = env.instance('upgrade');
  const stamp = () => join(instancePaths(instance).root, 'layout');
  const config = (backends: string[]) => ({
    instance,
    interfaces: ['eth0'],
    limits: { conntrackSize: 16384 },
    snat: { addresses: [addr.lb] },
    services: [{ name: 'web', vip: `${addr.vip}:80`, options: { tableSize: 1009 }, backends }],
  });
  const setStamp = (v: number | null) => {
    const m = BpfMap.fromPinned(stamp());
    try {
      if (v === null) return;
      const b = Buffer.alloc(4);
      b.writeUInt32LE(v);
      m.update(Buffer.alloc(4), b);
    } finally {
      m.dispose();
    }
  };
  const conntrackKeys = async () => {
    const m = BpfMap.fromPinned(join(instancePaths(instance).maps, Abi.MAPS.ct));
    try {
      return (await m.lookupBatch()).keys.map((k) => (k as Buffer).toString('hex'));
    } finally {
      m.dispose();
    }
  };
  const readStamp = () => {
    const m = BpfMap.fromPinned(stamp());
    try {
      return (m.lookup(Buffer.alloc(4)) as Buffer).readUInt32LE(0);
    } finally {
      m.dispose();
    }
  };

  it('a deploy stamps the pins with the layout it wrote', async () => {
    lab = await env.lab(tutorialTopology({ clients: 1, backends: 2 }));
    lab.registerPinDir(`${env.bpffs}/${instance}`);
    await env.lb().deploy(config(addr.backends), { netns: lab.host('lb').netns.name });
    expect(readStamp()).toBe(Abi.LAYOUT_VERSION);
  });

  it.each([
    ['a newer layout', () => setStamp(Abi.LAYOUT_VERSION + 1), Abi.LAYOUT_VERSION + 1],
    ['no stamp (pins from before the stamp: layout 1)', () => rmSync(stamp()), 1],
  ] as const)('%s: re-deploy, hot update and the agent refuse; nothing changes', async (_what, mess, found) => {
    const lb = env.lb();
    const link = join(instancePaths(instance).links, 'eth0');
    const before = { maps: await snapshotMaps(instance), prog: linkInfo(link).progId };
    mess();
    const lbNs = lab.host('lb').netns.name;
    const message = new RegExp(
      `^instance ${instance}: its pinned maps \\(.*\\) have layout v${found}, this xdp-lb uses layout v${Abi.LAYOUT_VERSION}; they cannot be reused: run "lb undeploy --instance ${instance}" first`,
    );
    await expect(lb.deploy(config(addr.backends), { netns: lbNs })).rejects.toThrow(message);
    await expect(lb.update(instance, { kind: 'backend-remove', service: 'web', backend: addr.backends[1]! })).rejects.toThrow(message);
    expect(() => lb.status(instance)).toThrow(message);
    const agent = new Agent(lb);
    await expect(agent.start({ file: env.writeConfig('upgrade', config(addr.backends)), netns: lbNs, metrics: null })).rejects.toThrow(
      message,
    );
    expect({ maps: await snapshotMaps(instance), prog: linkInfo(link).progId }).toEqual(before);
    expect((await httpGet(lab.host('client1'), `http://${addr.vip}/`)).status).toBe(200);
  });

  it('the right stamp again: deploys (a re-deploy keeps the stamp)', async () => {
    // Recreate the stamp as the deploy that made these pins would have.
    const m = BpfMap.create({ type: 2, keySize: 4, valueSize: 4, maxEntries: 1, name: 'lb_layout' });
    const v = Buffer.alloc(4);
    v.writeUInt32LE(Abi.LAYOUT_VERSION);
    m.update(Buffer.alloc(4), v);
    m.pin(stamp());
    m.dispose();
    const r = await env.lb().deploy(config(addr.backends), { netns: lab.host('lb').netns.name });
    expect(r.redeploy).toBe(true);
    expect(readStamp()).toBe(Abi.LAYOUT_VERSION);
  });

  it.each([
    [2, ['lb_addr_slots', 'lb_ct_syn', 'lb_ft4']],
    [3, ['lb_ct_syn', 'lb_ft4']],
    [4, ['lb_ft4']],
    [6, ['lb_ft4']],
  ] as const)(
    'layout v%i pins (without %j): refused by a hot update and status with what to run; an agent restart upgrades them in place, the open connection never notices',
    async (v, missing) => {
      const lb = env.lb();
      const lbNs = lab.host('lb').netns.name;
      const ka = await openKeepAlive(lab.host('client1'), { address: addr.vip, intervalMs: 100, requestTimeoutMs: 1500 });
      try {
        await ka.waitForResponses(3);
        const owner = ka.responses()[0]!.body.trim();
        // What a deployment of the older build pinned: the same maps but the missing ones. (The
        // running program keeps its own reference to them: it still forwards.)
        const pins = missing.map((m) => join(instancePaths(instance).maps, m));
        for (const pin of pins) rmSync(pin);
        setStamp(v);
        const link = join(instancePaths(instance).links, 'eth0');
        const linkId = linkInfo(link).id;
        const ct = await conntrackKeys();
        expect(ct.length).toBeGreaterThan(0);
        const message = new RegExp(
          `^instance ${instance}: its pinned maps \\(.*\\) have layout v${v}, this xdp-lb uses layout v${Abi.LAYOUT_VERSION}: run "lb deploy" with its config \\(or restart lb serve\\) to upgrade them in place \\(conntrack is kept\\)$`,
        );
        await expect(lb.update(instance, { kind: 'backend-remove', service: 'web', backend: addr.backends[1]! })).rejects.toThrow(message);
        expect(() => lb.status(instance)).toThrow(message);

        const logs: LogLine[] = [];
        const agent = new Agent(lb);
        await agent.start({
          file: env.writeConfig('upgrade', config(addr.backends)),
          netns: lbNs,
          metrics: null,
          log: createLogger({ format: 'json', level: 'info', write: (l) => logs.push(JSON.parse(l) as LogLine) }),
        });
        await agent.stop();
        expect(
          logs.find((l) => l.msg.startsWith('re-deployed')),
          JSON.stringify(logs),
        ).toMatchObject({ upgradedFromLayout: v });
        expect(readStamp()).toBe(Abi.LAYOUT_VERSION);
        for (const pin of pins) expect(existsSync(pin), pin).toBe(true);
        expect(linkInfo(link).id, 'the same link: the program was swapped on it').toBe(linkId);
        const after = new Set(await conntrackKeys());
        expect(
          ct.filter((k) => !after.has(k)),
          'conntrack kept',
        ).toEqual([]);
        expect(lb.status(instance).services[0]!.backends.length).toBe(2);
        // The upgraded program finds the VIP through the new table: the connection carries on and
        // new ones are served.
        const n = ka.responses().length;
        await ka.waitForResponses(n + 5, 5000);
        expect((await httpGet(lab.host('client1'), `http://${addr.vip}/`)).status).toBe(200);
        const s = await ka.stop();
        expect(s.closed, JSON.stringify(s.closed)).toBeUndefined();
        expect(s.timeouts).toBe(0);
        expect(new Set(s.bodies.map((b) => b.trim()))).toEqual(new Set([owner]));
      } finally {
        if (ka.process.running) await ka.stop();
      }
    },
  );
});
