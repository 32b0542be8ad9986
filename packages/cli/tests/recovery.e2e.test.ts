// A way back from every state an operator can be left in. A damaged state file made every command
// fail with raw JSON or TypeErrors that did not name the file, lb undeploy included; a deploy
// interrupted by Ctrl-C left pins and an attached program behind, printed nothing, and lb status
// said "not deployed". Now: the file is named with the way out (lb undeploy --force), which
// removes the instance from its pins alone; pins without a state file are reported and removed by
// lb undeploy; and an interrupt during a deploy is said and the deploy finishes first.
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeAll, expect, it } from 'vitest';
import { lockInstance } from '@xdp-lb/core';
import { type Lab, LabProcess, tutorialAddresses, tutorialTopology } from '@xdp-lb/netlab';
import { describeLab } from '@xdp-lb/netlab/vitest';
import { lbInProcess, xdpInterfaces } from './helpers/e2e.js';
import { probe } from './helpers/probe.js';
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

  const config = (instance: string) => ({ instance, interfaces: ['eth0'], snat: { addresses: [addr.lb] }, services: [{ vip: `${addr.vip}:80`, backends: addr.backends }] });
  const deploy = async (instance: string) => {
    lab.registerPinDir(`${env.bpffs}/${instance}`);
    return env.lb().deploy(config(instance), { netns: lbNs });
  };
  const stateFile = (instance: string) => join(env.stateDir, instance, 'state.json');

  it('a damaged state file is named by every command, and lb undeploy --force removes the instance', async () => {
    const instance = env.instance('damaged');
    await deploy(instance);
    writeFileSync(stateFile(instance), '{"layout": 1, "instance": "');
    const named = new RegExp(`^lb: state file ${stateFile(instance).replace(/[.]/g, '\\.')} is damaged \\(.+\\): lb undeploy --force --instance ${instance} removes the instance from its pins alone$`);
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
    expect(r.err).toMatch(/^lb: warning: damaged state file \S+ ignored: the sysctls it recorded/);
    expect(await xdpInterfaces(lab.host('lb'))).toEqual([]);
    expect(env.lb().instances()).not.toContain(instance);
  }, 60_000);

  it('pins without a state file: status says so and how to remove them; lb undeploy removes them', async () => {
    const instance = env.instance('orphan');
    await deploy(instance);
    rmSync(stateFile(instance)); // what an interrupted deploy left before
    const st = await lbInProcess('status', '-i', instance);
    expect(st.code).toBe(1);
    expect(st.err).toBe(`lb: instance ${instance} is not deployed, but pins of it remain under ${env.bpffs}/${instance} (an interrupted deploy?): lb undeploy --force --instance ${instance} removes them`);
    const r = await lbInProcess('undeploy', '-i', instance);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toBe(`undeployed instance ${instance} (detached from eth0)`);
    expect(await xdpInterfaces(lab.host('lb'))).toEqual([]);
  }, 60_000);

  it('Ctrl-C during a deploy is said, and the deploy finishes first', async () => {
    const instance = env.instance('sigint');
    lab.registerPinDir(`${env.bpffs}/${instance}`);
    const file = env.writeConfig('sigint', config(instance));
    // Held here, so that the deploy is surely inside its uninterrupted part when the signal comes.
    const lock = await lockInstance(instance);
    const p = new LabProcess([process.execPath, await env.cliBundle(), 'deploy', '-f', file, '--netns', lbNs], { label: 'lb deploy', env: { ...process.env } });
    try {
      await waitFor('the deploy waits for the lock', () => p.stderr().includes('waiting up to'), 30_000);
      process.kill(p.pid, 'SIGINT');
      await waitFor('the interrupt is said', () => p.stderr().includes('SIGINT: finishing the deploy first (interrupt again to exit at once)'), 10_000);
      lock.release();
      await waitFor('the deploy exits', () => !p.running, 30_000);
      const exit = await p.exited;
      expect(exit.code, p.stderr()).toBe(0);
      expect(p.stdout()).toMatch(new RegExp(`^deployed instance ${instance}`));
      const s = env.lb().status(instance);
      const r = probe({ netns: lbNs, ifindex: s.interfaces[0]!.ifindex, progId: s.interfaces[0]!.progId! }, { vip: addr.vip, port: 80, protocol: 'tcp' });
      expect(r.verdict).toMatch(/^(TX|REDIRECT)$/);
    } finally {
      lock.release();
      await p.kill('SIGKILL', 500);
    }
  }, 60_000);
});
