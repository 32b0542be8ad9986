// The `lb` command end to end, against a real lab: every command's happy path and its clear
// failure. Most commands run in-process (buildProgram/run with a capturing Io); the ones whose
// process-level behaviour matters (exit codes, output streams, privileges, a persistent lab that
// outlives the command) run as the built binary, `node packages/cli/dist/main.js`
// (`npx nx run cli:build` first). Commands reach the lab's LB host with `--netns`; pins and state
// go to this file's own XDP_LB_BPFFS / XDP_LB_STATE_DIR.
//
// One instance lives through the happy paths in order: deploy from flags, status, stats, backend
// add/weight/drain/activate/remove, service add/remove, config dump -> check -> deploy -f (a no-op
// re-deploy), undeploy. Then a fresh deploy from a file, the failures (each leaving nothing
// behind), and the lab commands.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { httpGet, type Lab, Lab as LabClass, listNetns, tutorialAddresses, tutorialTopology } from '@xdp-lb/netlab';
import { type CliResult, XDP_PASS_OBJ, backendName, httpLoad, lbBinary, lbInProcess, useE2e, xdpInterfaces } from './helpers/e2e.js';

const e2e = useE2e();
const addr = tutorialAddresses({ clients: 2, backends: 3 });
const VIP = `${addr.vip}:80`;
const [B1, B2, B3] = addr.backends as [string, string, string];

let lab: Lab;
let ns: string;
const tmp = mkdtempSync(join(tmpdir(), 'xlb-e2e-cli-'));

/** Exactly one line on stderr. */
const oneLine = (r: CliResult) => {
  expect(r.err.split('\n'), r.err).toHaveLength(1);
  return r.err;
};

/** Short connections from client1; returns responses per backend name. */
async function spread(count: number): Promise<Record<string, number>> {
  const r = await httpLoad(lab.host('client1'), { address: addr.vip, count });
  expect(r.errorSamples).toEqual([]);
  expect(r.ok).toBe(count);
  return r.byBackend;
}

beforeAll(async () => {
  lab = await e2e.lab(tutorialTopology({ clients: 2, backends: 3 }));
  ns = lab.host('lb').netns.name;
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('lb: the happy path of every command, on one instance', () => {
  const instance = e2e.instance('cli');
  let dump = '';

  it('deploy from flags (the built binary): SNAT defaults to the interface address', async () => {
    lab.registerPinDir(`${e2e.bpffs}/${instance}`);
    const r = await lbBinary([
      'deploy',
      '--netns',
      ns,
      '--instance',
      instance,
      '--iface',
      'eth0',
      '--mode',
      'generic',
      '--strategy',
      'round-robin',
      '--vip',
      VIP,
      '--backend',
      B1,
      '--backend',
      B2,
      '--conntrack-size',
      '65536',
      '--snat-ports',
      e2e.snatPorts(),
    ]);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    // and the device change deploy made (the veth peer's TX VLAN offload: docs/operations.md)
    expect(r.out).toMatch(
      new RegExp(
        `^deployed instance ${instance}\\n  eth0 \\(ifindex \\d+\\): generic XDP, program \\d+\\n  eth0's veth peer \\S+ \\(netns \\S+\\): txvlan, tx-vlan-stag-hw-insert off; restored at undeploy$`,
      ),
    );
    const cfg = JSON.parse((await lbInProcess('config', 'dump', '--instance', instance, '-o', 'json')).out);
    expect(cfg.snat.addresses).toEqual([addr.lb]);
    expect(cfg.interfaces).toEqual([{ name: 'eth0', mode: 'generic' }]);
    expect(await spread(6)).toEqual({ http1: 3, http2: 3 });
  });

  it('status (binary): -o json parses and agrees with the traffic; the table shows the mode obtained', async () => {
    const r = await lbBinary(['status', '--instance', instance, '-o', 'json']);
    expect(r.code).toBe(0);
    const s = JSON.parse(r.out);
    expect(s.instance).toBe(instance);
    expect(s.strategy).toBe('round-robin');
    expect(s.netns).toBe(ns);
    expect(s.interfaces).toEqual([expect.objectContaining({ name: 'eth0', mode: 'generic', requestedMode: 'generic', attached: true })]);
    expect(s.services[0].counters.newFlows).toBe(6);
    expect(s.services[0].counters.packets).toBeGreaterThan(0);
    expect(s.services[0].backends.map((b: { key: string; counters: { newFlows: number } }) => [b.key, b.counters.newFlows])).toEqual([
      [`${B1}:80`, 3],
      [`${B2}:80`, 3],
    ]);
    const t = await lbInProcess('status', '--instance', instance);
    expect(t.code).toBe(0);
    expect(t.out).toMatch(/^eth0\s+\d+\s+generic\s+generic\s+\d+\s+yes$/m);
    expect(t.out).toContain(`${B1}:80`);
  });

  it('stats --count 1 -o json: one JSON line of rates per service and backend', async () => {
    const r = await lbInProcess('stats', '--instance', instance, '--count', '1', '--interval', '0.2', '-o', 'json');
    expect(r.code).toBe(0);
    const lines = r.out.split('\n');
    expect(lines).toHaveLength(1);
    const st = JSON.parse(lines[0]!);
    expect(typeof st.time).toBe('string');
    expect(st.services).toHaveLength(1);
    expect(st.services[0]).toEqual(
      expect.objectContaining({ pps: expect.any(Number), bps: expect.any(Number), flowsPerSec: expect.any(Number) }),
    );
    expect(st.services[0].backends.map((b: { backend: string; state: string }) => [b.backend, b.state])).toEqual([
      [`${B1}:80`, 'active'],
      [`${B2}:80`, 'active'],
    ]);
  });

  it('backend add: the new backend takes new flows at once', async () => {
    const r = await lbInProcess('backend', 'add', VIP, B3, '--instance', instance);
    expect(r.code).toBe(0);
    expect(r.out).toContain(`added ${B3}`);
    expect(await spread(6)).toEqual({ http1: 2, http2: 2, http3: 2 });
  });

  it('backend weight: new flows follow the weights', async () => {
    const r = await lbInProcess('backend', 'weight', VIP, B3, '3', '--instance', instance);
    expect(r.code).toBe(0);
    const s = JSON.parse((await lbInProcess('status', '--instance', instance, '-o', 'json')).out);
    expect(s.services[0].backends.map((b: { weight: number }) => b.weight)).toEqual([1, 1, 3]);
    expect(await spread(10)).toEqual({ http1: 2, http2: 2, http3: 6 });
    expect((await lbInProcess('backend', 'weight', VIP, B3, '0', '--instance', instance)).code).toBe(2);
  });

  // Regression (fixed in fd9fd82): the `weight` action did not await its update, so the command
  // returned (exit 0, no output) before the weight applied, and a failing update was an unhandled
  // rejection with a stack trace instead of one line.
  it('backend weight of an unknown backend (binary): exit 1, one line', async () => {
    const r = await lbBinary(['backend', 'weight', VIP, '198.18.0.99', '2', '--instance', instance]);
    expect(r.code).toBe(1);
    expect(oneLine(r)).toMatch(/^lb: .*no backend 198\.18\.0\.99/);
  });

  it('backend drain and activate: a drained backend gets no new flows until activated', async () => {
    expect((await lbInProcess('backend', 'drain', VIP, B1, '--instance', instance)).code).toBe(0);
    const s = JSON.parse((await lbInProcess('status', '--instance', instance, '-o', 'json')).out);
    expect(s.services[0].backends.map((b: { state: string }) => b.state)).toEqual(['draining', 'active', 'active']);
    const drained = await spread(8);
    expect(drained.http1).toBeUndefined();
    expect((await lbInProcess('backend', 'activate', VIP, B1, '--instance', instance)).code).toBe(0);
    expect(Object.keys(await spread(10)).sort()).toEqual(['http1', 'http2', 'http3']);
  });

  it('backend remove: the removed backend gets nothing; removing an unknown one fails in one line', async () => {
    expect((await lbInProcess('backend', 'remove', VIP, B2, '--instance', instance)).code).toBe(0);
    const s = JSON.parse((await lbInProcess('status', '--instance', instance, '-o', 'json')).out);
    expect(s.services[0].backends.map((b: { key: string }) => backendName(b.key))).toEqual(['http1', 'http3']);
    expect((await spread(8)).http2).toBeUndefined();
    const bad = await lbInProcess('backend', 'remove', VIP, '198.18.0.99', '--instance', instance);
    expect(bad.code).toBe(1);
    expect(oneLine(bad)).toMatch(/^lb: .*no backend 198\.18\.0\.99/);
  });

  it('service add and remove: a second VIP port is balanced, then passed to the host again', async () => {
    const add = await lbInProcess(
      'service',
      'add',
      '--vip',
      `${addr.vip}:8080`,
      '--backend',
      `${B1}:80`,
      '--backend',
      `${B3}:80`,
      '--name',
      'alt',
      '--instance',
      instance,
    );
    expect(add.err).toBe('');
    expect(add.code).toBe(0);
    const r = await httpGet(lab.host('client2'), `http://${addr.vip}:8080/`, { timeoutMs: 3000 });
    expect(['http1', 'http3']).toContain(r.body.trim());
    const s = JSON.parse((await lbInProcess('status', '--instance', instance, '-o', 'json')).out);
    expect(s.services.map((x: { name: string }) => x.name)).toEqual([`${VIP}/tcp`, 'alt']);

    const rm = await lbInProcess('service', 'remove', 'alt', '--instance', instance);
    expect(rm.code).toBe(0);
    // Not balanced any more: the LB host (which holds the VIP, nothing listening on 8080) refuses.
    await expect(httpGet(lab.host('client2'), `http://${addr.vip}:8080/`, { timeoutMs: 2000 })).rejects.toThrow(/curl exit 7/);
    expect(Object.keys(await spread(4)).sort()).toEqual(['http1', 'http3']);
    const last = await lbInProcess('service', 'remove', VIP, '--instance', instance);
    expect(last.code).toBe(1);
    expect(oneLine(last)).toMatch(/last one: undeploy instead/);
  });

  it('config dump round-trips: dump -> config check -> deploy -f of the dump is a no-op re-deploy', async () => {
    const d = await lbInProcess('config', 'dump', '--instance', instance);
    expect(d.code).toBe(0);
    dump = d.out;
    const file = join(tmp, 'dump.yaml');
    writeFileSync(file, `${dump}\n`);
    const check = await lbInProcess('config', 'check', file, '--netns', ns);
    expect(check.code).toBe(0);
    expect(check.out).toBe(`${file}: ok (1 service(s), 2 backend(s), strategy round-robin)`);
    const before = JSON.parse((await lbInProcess('status', '--instance', instance, '-o', 'json')).out);

    const again = await lbInProcess('deploy', '-f', file, '--netns', ns);
    expect(again.err).toBe('');
    expect(again.code).toBe(0);
    expect(again.out).toMatch(new RegExp(`^re-deployed instance ${instance}`));
    expect((await lbInProcess('config', 'dump', '--instance', instance)).out).toBe(dump);
    const after = JSON.parse((await lbInProcess('status', '--instance', instance, '-o', 'json')).out);
    expect(after.services.map((s: { backends: unknown }) => s.backends)).toEqual(
      before.services.map((s: { backends: { counters: unknown }[] }) =>
        s.backends.map((b) => expect.objectContaining({ ...b, counters: expect.anything() })),
      ),
    );
    expect(after.conntrack.entries).toBeGreaterThan(0); // kept across the re-deploy
    expect(Object.keys(await spread(4)).sort()).toEqual(['http1', 'http3']);
  });

  it('undeploy removes every trace; a second undeploy fails in one line', async () => {
    const r = await lbInProcess('undeploy', '--instance', instance);
    expect(r.code).toBe(0);
    expect(r.out).toBe(`undeployed instance ${instance} (detached from eth0)`);
    expect(e2e.leftovers(instance)).toEqual({ pins: [], state: false });
    expect(await xdpInterfaces(lab.host('lb'))).toEqual([]);
    const again = await lbInProcess('undeploy', '--instance', instance);
    expect(again.code).toBe(1);
    expect(oneLine(again)).toBe(`lb: instance ${instance} is not deployed`);
  });
});

describe('lb deploy -f: a fresh deploy from a file (the built binary)', () => {
  it("deploys the file's services, weights and states; undeploy removes it", async () => {
    const instance = e2e.instance('file');
    lab.registerPinDir(`${e2e.bpffs}/${instance}`);
    const file = join(tmp, 'lb.yaml');
    writeFileSync(
      file,
      [
        `instance: ${instance}`,
        'strategy: random',
        'interfaces:',
        '  - name: eth0',
        '    mode: native',
        'limits:',
        '  conntrackSize: 65536',
        'snat:',
        `  addresses: [${addr.lb}]`,
        `  ports: ${e2e.snatPorts()}`,
        'services:',
        '  - name: web',
        `    vip: ${VIP}`,
        '    backends:',
        `      - ${B1}`,
        `      - address: ${B2}`,
        '        weight: 2',
        `      - address: ${B3}`,
        '        state: draining',
        '',
      ].join('\n'),
    );
    const r = await lbBinary(['deploy', '-f', file, '--netns', ns, '-o', 'json']);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    const res = JSON.parse(r.out);
    expect(res).toEqual(expect.objectContaining({ instance, redeploy: false }));
    expect(res.interfaces).toEqual([expect.objectContaining({ name: 'eth0', mode: 'native' })]);
    const s = JSON.parse((await lbInProcess('status', '--instance', instance, '-o', 'json')).out);
    expect(s.strategy).toBe('random');
    expect(s.services[0].name).toBe('web');
    expect(s.services[0].backends.map((b: { weight: number; state: string }) => [b.weight, b.state])).toEqual([
      [1, 'active'],
      [2, 'active'],
      [1, 'draining'],
    ]);
    const seen = await spread(20);
    expect(seen.http3, 'a backend deployed as draining').toBeUndefined();
    expect((seen.http1 ?? 0) + (seen.http2 ?? 0)).toBe(20);
    const u = await lbBinary(['undeploy', '--instance', instance]);
    expect(u.code).toBe(0);
    expect(e2e.leftovers(instance)).toEqual({ pins: [], state: false });
    expect(await xdpInterfaces(lab.host('lb'))).toEqual([]);
  });
});

describe('lb: clear failures', () => {
  const flags = (instance: string, ...more: string[]) => ['--netns', ns, '--instance', instance, '--vip', VIP, '--backend', B1, ...more];

  it("a bad flag: exit 2, the error and the command's help", async () => {
    const r = await lbBinary(['deploy', '--iface', 'eth0', '--colour', 'red']);
    expect(r.code).toBe(2);
    expect(r.out).toBe('');
    expect(r.err).toMatch(/error: unknown option '--colour'/);
    expect(r.err).toMatch(/Usage: lb deploy \[options\]/);
  });

  it('an unknown strategy: exit 1, one line, nothing deployed', async () => {
    const instance = e2e.instance('bad-strat');
    const r = await lbBinary(['deploy', ...flags(instance, '--iface', 'eth0', '--strategy', 'fastest')]);
    expect(r.code).toBe(1);
    expect(oneLine(r)).toMatch(/^lb: strategy {2}unknown strategy "fastest"/);
    expect(e2e.leftovers(instance)).toEqual({ pins: [], state: false });
  });

  it('a missing interface: exit 1, one line naming it, nothing deployed', async () => {
    const instance = e2e.instance('bad-if');
    const r = await lbBinary(['deploy', ...flags(instance, '--iface', 'eth9', '--forward', 'dsr')]);
    expect(r.code).toBe(1);
    expect(oneLine(r)).toMatch(/^lb: interfaces\.0 {2}no interface named "eth9"/);
    expect(e2e.leftovers(instance)).toEqual({ pins: [], state: false });
  });

  // The SNAT address defaults to the interface's own: a missing interface must not add a second,
  // derived complaint about SNAT (fixed in 4cdc5a6).
  it('a missing interface with the default forward mode: still one line', async () => {
    const instance = e2e.instance('bad-if-nat');
    const r = await lbBinary(['deploy', ...flags(instance, '--iface', 'eth9')]);
    expect(r.code).toBe(1);
    expect(r.err.split('\n')[0]).toMatch(/^lb: interfaces\.0 {2}no interface named "eth9"/);
    expect(oneLine(r)).toMatch(/eth9/);
    expect(e2e.leftovers(instance)).toEqual({ pins: [], state: false });
  });

  it('not root: exit 1, one line naming the missing capabilities', async () => {
    for (const argv of [['deploy', '--iface', 'lo', '--vip', VIP, '--backend', B1, '--forward', 'dsr'], ['status'], ['undeploy']]) {
      const r = await lbBinary(argv, { asNobody: true });
      expect(r.code, argv.join(' ')).toBe(1);
      expect(oneLine(r)).toMatch(new RegExp(`^lb: ${argv[0]}: needs CAP_BPF and CAP_NET_ADMIN`));
    }
  });

  it('offload mode: refused as not supported before anything is loaded (exit 1, one line, nothing attached)', async () => {
    const instance = e2e.instance('offload');
    lab.registerPinDir(`${e2e.bpffs}/${instance}`);
    const r = await lbBinary(['deploy', ...flags(instance, '--iface', 'eth0', '--mode', 'offload')]);
    expect(r.code).toBe(1);
    expect(oneLine(r)).toMatch(/offload \(hw\) mode is not supported: .*use native$/);
    expect(e2e.leftovers(instance)).toEqual({ pins: [], state: false });
    expect(await xdpInterfaces(lab.host('lb'))).toEqual([]);
  });

  it('an interface with another XDP program: refused (exit 1, one line); --force replaces it with a warning', async () => {
    const lbHost = lab.host('lb');
    await lbHost.exec(['ip', 'link', 'set', 'dev', 'eth0', 'xdpgeneric', 'obj', XDP_PASS_OBJ, 'sec', 'xdp']);
    expect(await xdpInterfaces(lbHost)).toEqual(['eth0']);
    const instance = e2e.instance('foreign');
    lab.registerPinDir(`${e2e.bpffs}/${instance}`);

    const refused = await lbBinary(['deploy', ...flags(instance, '--iface', 'eth0', '--mode', 'generic')]);
    expect(refused.code).toBe(1);
    expect(oneLine(refused)).toMatch(/^lb: interface eth0 already has XDP program \d+ \(.*\): refusing to replace it; use --force/);
    expect(e2e.leftovers(instance)).toEqual({ pins: [], state: false });
    const still = await lbHost.exec(['ip', '-d', 'link', 'show', 'dev', 'eth0']);
    expect(still.stdout).toMatch(/xdpgeneric/);

    const forced = await lbBinary([
      'deploy',
      ...flags(instance, '--iface', 'eth0', '--mode', 'generic', '--snat-ports', e2e.snatPorts(), '--force'),
    ]);
    expect(forced.code).toBe(0);
    expect(oneLine(forced)).toMatch(/^lb: warning: replacing XDP program \d+ on eth0: detach then attach, not atomic/);
    const s = JSON.parse((await lbInProcess('status', '--instance', instance, '-o', 'json')).out);
    expect(s.interfaces[0].attached).toBe(true);
    expect(await spread(3)).toEqual({ http1: 3 });

    expect((await lbInProcess('undeploy', '--instance', instance)).code).toBe(0);
    expect(await xdpInterfaces(lbHost)).toEqual([]);
    expect(e2e.leftovers(instance)).toEqual({ pins: [], state: false });
  });
});

describe('lb lab (the built binary)', () => {
  let id: string | undefined;
  afterAll(() => {
    if (id && LabClass.list().some((m) => m.id === id)) LabClass.destroyById(id);
  });

  it('up -o json, status, down: a persistent lab outlives the command and is removed by down', async () => {
    const up = await lbBinary(['lab', 'up', '--clients', '1', '--backends', '1', '-o', 'json'], { timeoutMs: 60_000 });
    expect(up.code, up.err).toBe(0);
    const info = JSON.parse(up.out) as { id: string; hosts: { name: string; netns: string; ipv4: string }[] };
    id = info.id;
    expect(info.hosts.map((h) => h.name).sort()).toEqual(['client1', 'http1', 'lb']);
    for (const h of info.hosts) expect(listNetns()).toContain(h.netns);
    // The lab works after the command exited: its backend answers its client.
    const r = await httpGet(LabClass.attach(id).host('client1'), `http://${info.hosts.find((h) => h.name === 'http1')!.ipv4}/`, {
      timeoutMs: 3000,
    });
    expect(r.body.trim()).toBe('http1');

    const st = await lbBinary(['lab', 'status', '-o', 'json']);
    expect(st.code).toBe(0);
    expect((JSON.parse(st.out) as { id: string }[]).map((m) => m.id)).toContain(id);
    const table = await lbBinary(['lab', 'status']);
    expect(table.out).toMatch(new RegExp(`^${id}\\s+client1 lb http1$`, 'm'));

    const down = await lbBinary(['lab', 'down', id]);
    expect(down.code).toBe(0);
    expect(down.out).toBe(`removed lab ${id}`);
    expect(listNetns().filter((n) => n.startsWith(`${id}-`))).toEqual([]);
    expect((JSON.parse((await lbBinary(['lab', 'status', '-o', 'json'])).out) as { id: string }[]).map((m) => m.id)).not.toContain(id);
  });

  it('down of an unknown lab: exit 1, one line', async () => {
    const r = await lbBinary(['lab', 'down', 'xlb1-ffff']);
    expect(r.code).toBe(1);
    expect(oneLine(r)).toMatch(/^lb: .*xlb1-ffff/);
  });
});
