// `lb serve` whose log pipe's reader goes away (issue 15 #7: EPIPE crashed the CLI with a stack
// trace): the agent stops as on SIGINT and exits 141 (128 + SIGPIPE), so that systemd's
// Restart=on-failure starts it again with working output; the data plane, pinned, keeps forwarding.
import { spawn } from 'node:child_process';
import { beforeAll, describe, expect, it } from 'vitest';
import { httpGet, tutorialAddresses, tutorialTopology } from '@xdp-lb/netlab';
import { useAgentEnv, waitFor } from './serve-support.js';

const env = useAgentEnv();
const topo = { clients: 1, backends: 2 };
const addr = tutorialAddresses(topo);

describe('lb serve with its output pipe closed', () => {
  beforeAll(() => env.cliBundle(), 60_000);

  it('stops as on SIGINT, exits 141, and leaves the data plane forwarding', async () => {
    const lab = await env.lab(tutorialTopology(topo));
    const instance = env.instance('epipe');
    lab.registerPinDir(`${env.bpffs}/${instance}`);
    const file = env.writeConfig('epipe', {
      instance,
      interfaces: ['eth0'],
      snat: { addresses: [addr.lb] },
      services: [{ name: 'web', vip: `${addr.vip}:80`, backends: addr.backends }],
    });
    const main = await env.cliBundle();
    const args = ['serve', '-f', file, '--netns', lab.host('lb').netns.name, '--metrics', '127.0.0.1:0', '--log', 'json', '-v'];
    // --pdeathsig: the agent dies with this worker whatever happens.
    const child = spawn('setpriv', ['--pdeathsig', 'KILL', '--', process.execPath, main, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    try {
      let log = '';
      child.stderr.on('data', (d: Buffer) => (log += d.toString()));
      await waitFor('the agent to serve', () => /"msg":"serving"/.test(log), 30_000);
      const get = () => httpGet(lab.host('client1'), `http://${addr.vip}/`, { timeoutMs: 3000 });
      expect((await get()).status).toBe(200);

      // The reader goes away; the next log line (SIGHUP: a reload, logged at debug) hits EPIPE.
      child.stdout.destroy();
      child.stderr.destroy();
      child.kill('SIGHUP');
      const code = await Promise.race([exited, new Promise<string>((r) => setTimeout(() => r('still running after 15 s'), 15_000))]);
      expect(code).toBe(141);

      expect(env.lb().instances(), 'still deployed').toContain(instance);
      expect((await get()).status, 'the data plane forwards without the agent').toBe(200);
    } finally {
      child.kill('SIGKILL');
    }
  });
});
