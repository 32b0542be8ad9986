// A way back from every state an operator can be left in. A damaged state file made every command
// fail with raw JSON or TypeErrors that did not name the file, lb undeploy included; a deploy
// interrupted by Ctrl-C left pins and an attached program behind, printed nothing, and lb status
// said "not deployed". Now: the file is named with the way out (lb undeploy --force), which
// removes the instance from its pins alone; pins without a state file are reported and removed by
// lb undeploy; and an interrupt during a deploy is said and the deploy finishes first.
import { existsSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeAll, expect, it } from 'vitest';
import { Abi, instancePaths, lockInstance } from '@xdp-lb/core';
import { BpfMap } from '@xdp-lb/native';
import { type Lab, LabProcess, tutorialAddresses, tutorialTopology } from '@xdp-lb/netlab';
import { describeLab } from '@xdp-lb/netlab/vitest';
import { lbInProcess, xdpInterfaces } from './helpers/e2e.js';
import { probe } from '@xdp-lb/testkit';
import { useAgentEnv, waitFor } from './serve-support.js';

const env = useAgentEnv();
const addr = tutorialAddresses({ clients: 1, backends: 2 });

describeLab('recovery', () => {
  let lab: Lab;
  let lbNs: string;
  beforeAll(async () => {
    await env.cliBundle();
    lab = await env.lab(tutorialTopology({ clients: 1, backends: 2 }));
    lbNs = lab.host('lb').netns.name;
  }, 120_000);
  afterEach(() => {
    for (const i of env.lb().instances()) env.lb().undeploy(i, { force: true });
  });

  const config = (instance: string) => ({
    instance,
    interfaces: ['eth0'],
    snat: { addresses: [addr.lb] },
    services: [{ vip: `${addr.vip}:80`, backends: addr.backends }],
  });
  const deploy = async (instance: string) => {
    lab.registerPinDir(`${env.bpffs}/${instance}`);
    return env.lb().deploy(config(instance), { netns: lbNs });
  };
  const stateFile = (instance: string) => join(env.stateDir, instance, 'state.json');

  it('a damaged state file is named by every command, and lb undeploy --force removes the instance', async () => {
    const instance = env.instance('damaged');
    await deploy(instance);
    writeFileSync(stateFile(instance), '{"layout": 1, "instance": "');
    const named = new RegExp(
      `^lb: state file ${stateFile(instance).replace(/[.]/g, '\\.')} is damaged \\(.+\\): lb undeploy --force --instance ${instance} removes the instance from its pins alone$`,
    );
    for (const argv of [['status'], ['config', 'dump'], ['backend', 'drain', `${addr.vip}:80`, addr.backends[0]!], ['undeploy']]) {
      const r = await lbInProcess(...argv, '-i', instance);
      expect(r.code, argv.join(' ')).toBe(1);
      expect(r.err.split('\n'), argv.join(' ')).toHaveLength(1);
      expect(r.err).toMatch(named);
    }
    expect(await xdpInterfaces(lab.host('lb'))).toEqual(['eth0']);
    const r = await lbInProcess('undeploy', '--force', '-i', instance);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toBe(`undeployed instance ${instance} (detached from eth0)`);
    expect(r.err).toMatch(
      /^lb: warning: damaged state file \S+ ignored: the sysctls \(forwarding\) and device settings .* it recorded are left as they are/,
    );
    expect(await xdpInterfaces(lab.host('lb'))).toEqual([]);
    expect(env.lb().instances()).not.toContain(instance);
  }, 60_000);

  it('pins without a state file: status says so; lb undeploy removes them', async () => {
    const instance = env.instance('orphan');
    await deploy(instance);
    rmSync(stateFile(instance)); // what a deploy of an older version, killed, left
    const st = await lbInProcess('status', '-i', instance);
    expect(st.code).toBe(1);
    expect(st.err).toBe(
      `lb: instance ${instance} is not deployed, but pins of it remain under ${env.bpffs}/${instance} (an interrupted deploy): the next lb deploy or lb undeploy of it rolls them back`,
    );
    const r = await lbInProcess('undeploy', '-i', instance);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toBe(`undeployed instance ${instance} (detached from eth0)`);
    expect(await xdpInterfaces(lab.host('lb'))).toEqual([]);
  }, 60_000);

  // A first deploy SIGKILLed at each of its steps (XDP_LB_CRASH_AT, lifecycle/crash-point.ts):
  // before, the next deploy refused (the orphan link holds the interface) and lb undeploy was
  // needed by hand. Now the next writer rolls it back by itself, says so in one line, and goes on.
  const killedFirstDeploy = async (instance: string, step: string) => {
    lab.registerPinDir(`${env.bpffs}/${instance}`);
    const file = env.writeConfig(instance, config(instance));
    const p = new LabProcess([process.execPath, await env.cliBundle(), 'deploy', '-f', file, '--netns', lbNs], {
      label: `lb deploy (crash at ${step})`,
      env: { ...process.env, XDP_LB_CRASH_AT: step },
    });
    const exit = await p.exited;
    expect(exit.signal, `${step}: ${p.stderr()}`).toBe('SIGKILL');
    expect(existsSync(join(env.stateDir, instance, 'intent.json')), `${step}: its intent is left`).toBe(true);
    return file;
  };
  const rolledBack = (instance: string) =>
    new RegExp(
      `^lb: warning: a first deploy of instance ${instance} \\(pid \\d+, since \\S+\\) was interrupted: rolled back \\((detached from eth0, )?pins removed(, sysctls restored)?\\)$`,
      'm',
    );

  for (const step of ['deploy:intent', 'deploy:loaded', 'deploy:filled', 'deploy:attached']) {
    it(`a first deploy killed at ${step}: the next deploy rolls it back, says so, and deploys`, async () => {
      const instance = env.instance(`k${step.split(':')[1]!.slice(0, 4)}`);
      const file = await killedFirstDeploy(instance, step);
      const r = await lbInProcess('deploy', '-f', file, '--netns', lbNs);
      expect(r.code, r.err).toBe(0);
      expect(r.err).toMatch(rolledBack(instance));
      if (step === 'deploy:attached') expect(r.err).toMatch(/rolled back \(detached from eth0, pins removed/);
      expect(existsSync(join(env.stateDir, instance, 'intent.json'))).toBe(false);
      const s = env.lb().status(instance);
      const out = probe(
        { netns: lbNs, ifindex: s.interfaces[0]!.ifindex, progId: s.interfaces[0]!.progId! },
        { vip: addr.vip, port: 80, protocol: 'tcp' },
      );
      expect(out.verdict).toMatch(/^(TX|REDIRECT)$/);
    }, 60_000);
  }

  it('a first deploy killed once attached: a hot update rolls it back and says the instance is not deployed', async () => {
    const instance = env.instance('kupd');
    await killedFirstDeploy(instance, 'deploy:attached');
    expect(await xdpInterfaces(lab.host('lb'))).toEqual(['eth0']);
    const r = await lbInProcess('backend', 'add', `${addr.vip}:80`, addr.backends[0]!, '-i', instance);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(
      new RegExp(
        `^lb: instance ${instance} is not deployed: a first deploy of instance ${instance} \\(pid \\d+, since \\S+\\) was interrupted: rolled back \\(detached from eth0, pins removed(, sysctls restored)?\\)$`,
      ),
    );
    expect(await xdpInterfaces(lab.host('lb'))).toEqual([]);
    expect(existsSync(`${env.bpffs}/${instance}`)).toBe(false);
    expect(existsSync(join(env.stateDir, instance))).toBe(false);
  }, 60_000);

  it('a first deploy killed once attached: lb undeploy rolls it back and says so', async () => {
    const instance = env.instance('kund');
    await killedFirstDeploy(instance, 'deploy:attached');
    const r = await lbInProcess('undeploy', '-i', instance);
    expect(r.code, r.err).toBe(0);
    expect(r.err).toMatch(rolledBack(instance));
    expect(r.out).toBe(`undeployed instance ${instance} (detached from eth0)`);
    expect(await xdpInterfaces(lab.host('lb'))).toEqual([]);
    expect(existsSync(join(env.stateDir, instance))).toBe(false);
  }, 60_000);

  it('a re-deploy changing the conntrack size, killed once attached: the next deploy completes it', async () => {
    const instance = env.instance('kresize');
    await deploy(instance);
    const before = env.lb().status(instance).conntrack.max;
    const file = env.writeConfig(instance, { ...config(instance), limits: { conntrackSize: 32768 } });
    const p = new LabProcess([process.execPath, await env.cliBundle(), 'deploy', '-f', file, '--netns', lbNs], {
      label: 'lb deploy (crash at deploy:attached)',
      env: { ...process.env, XDP_LB_CRASH_AT: 'deploy:attached' },
    });
    expect((await p.exited).signal, p.stderr()).toBe('SIGKILL');
    // The new program runs on the link, the pins still name the old table and the state the old
    // config: neither whole. The next deploy of the file finishes the change.
    expect(env.lb().status(instance).conntrack.max).toBe(before);
    const r = await lbInProcess('deploy', '-f', file, '--netns', lbNs);
    expect(r.code, r.err).toBe(0);
    const s = env.lb().status(instance);
    expect(s.conntrack.max).toBe(32768);
    expect(
      readdirSync(instancePaths(instance).maps).filter((n) => n.endsWith('_new')),
      'no half-migrated table pin is left',
    ).toEqual([]);
    const out = probe(
      { netns: lbNs, ifindex: s.interfaces[0]!.ifindex, progId: s.interfaces[0]!.progId! },
      { vip: addr.vip, port: 80, protocol: 'tcp' },
    );
    expect(out.verdict).toMatch(/^(TX|REDIRECT)$/);
    expect(existsSync(join(env.stateDir, instance, 'intent.json'))).toBe(false);
  }, 60_000);

  it('a change interrupted between its map writes and its state: the next one rewrites every map', async () => {
    const instance = env.instance('intent');
    lab.registerPinDir(`${env.bpffs}/${instance}`);
    const two = {
      ...config(instance),
      services: [
        { vip: `${addr.vip}:80`, backends: addr.backends },
        { vip: `${addr.vip}:443`, backends: addr.backends },
      ],
    };
    await env.lb().deploy(two, { netns: lbNs });
    expect(existsSync(join(env.stateDir, instance, 'intent.json')), 'a completed deploy leaves no intent').toBe(false);
    // What a `lb backend ...` killed half-way leaves: its intent, and maps that are neither the old
    // state nor the new (here: the second service's table gone).
    const svc443 = env.lb().status(instance).services[1]!;
    const tables = BpfMap.fromPinned(join(instancePaths(instance).maps, Abi.MAPS.tables));
    tables.delete(Abi.u32(svc443.id));
    tables.dispose();
    writeFileSync(
      join(env.stateDir, instance, 'intent.json'),
      JSON.stringify({ pid: 4242, action: 'backend-add', since: '2026-01-01T00:00:00.000Z' }),
    );
    const r = await lbInProcess('backend', 'drain', `${addr.vip}:80`, addr.backends[0]!, '-i', instance);
    expect(r.code, r.err).toBe(0);
    expect(r.err).toBe('lb: warning: a change (backend-add, pid 4242, 2026-01-01T00:00:00.000Z) was interrupted: every map is rewritten');
    expect(
      env
        .lb()
        .status(instance)
        .services.map((s) => s.serving),
    ).toEqual([true, true]);
    expect(existsSync(join(env.stateDir, instance, 'intent.json'))).toBe(false);
  }, 60_000);

  it('Ctrl-C during a deploy is said, and the deploy finishes first', async () => {
    const instance = env.instance('sigint');
    lab.registerPinDir(`${env.bpffs}/${instance}`);
    const file = env.writeConfig('sigint', config(instance));
    // Held here, so that the deploy is surely inside its uninterrupted part when the signal comes.
    const lock = await lockInstance(instance);
    const p = new LabProcess([process.execPath, await env.cliBundle(), 'deploy', '-f', file, '--netns', lbNs], {
      label: 'lb deploy',
      env: { ...process.env },
    });
    try {
      await waitFor('the deploy waits for the lock', () => p.stderr().includes('waiting up to'), 30_000);
      process.kill(p.pid, 'SIGINT');
      await waitFor(
        'the interrupt is said',
        () => p.stderr().includes('SIGINT: finishing the deploy first (interrupt again to exit at once)'),
        10_000,
      );
      lock.release();
      await waitFor('the deploy exits', () => !p.running, 30_000);
      const exit = await p.exited;
      expect(exit.code, p.stderr()).toBe(0);
      expect(p.stdout()).toMatch(new RegExp(`^deployed instance ${instance}`));
      const s = env.lb().status(instance);
      const r = probe(
        { netns: lbNs, ifindex: s.interfaces[0]!.ifindex, progId: s.interfaces[0]!.progId! },
        { vip: addr.vip, port: 80, protocol: 'tcp' },
      );
      expect(r.verdict).toMatch(/^(TX|REDIRECT)$/);
    } finally {
      lock.release();
      await p.kill('SIGKILL', 500);
    }
  }, 60_000);
});
