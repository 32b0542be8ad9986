// The announcement hook's parts without a lab (issue 9): the `announce` config section (defaults,
// errors, round trip through `lb config dump`), the node-health rule, and the Announcer driving
// the command hook (real processes writing what they were told) through health changes, drains,
// a failing command and a withdrawal. The hook against real BIRD and a real router: scaleout-bgp.
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  Announcer,
  type BackendHealth,
  ConfigError,
  birdCommands,
  createLogger,
  type LbConfig,
  nodeHealth,
  parseMetrics,
  resolveConfig,
  toInput,
  vipPrefixes,
} from '@xdp-lb/core';

const base = {
  interfaces: ['eth0'],
  services: [
    { name: 'web', vip: '198.18.2.10:80', forward: 'dsr', backends: ['198.18.0.11', '198.18.0.12'], health: { type: 'tcp' } },
    {
      name: 'dns',
      vip: '198.18.2.11:53',
      protocol: 'udp',
      forward: 'dsr',
      backends: ['198.18.0.11', { address: '198.18.0.12', state: 'draining' }],
    },
    { name: 'v6', vip: '[2001:db8:2::10]:80', forward: 'dsr', backends: ['2001:db8::11'] },
  ],
};
const resolve = (extra: Record<string, unknown>) => resolveConfig({ ...base, ...extra });
const problems = (extra: Record<string, unknown>) => {
  try {
    resolve(extra);
    return [];
  } catch (e) {
    if (e instanceof ConfigError) return e.lines();
    throw e;
  }
};

describe('the announce section', () => {
  it('fills its defaults and survives lb config dump', () => {
    const cfg = resolve({ announce: { bird: {} } });
    expect(cfg.announce).toEqual({ bird: { socket: '/run/bird/bird.ctl', protocol: 'xdp_lb_vips' }, require: 'any', intervalMs: 1000 });
    expect(resolveConfig(toInput(cfg))).toEqual(cfg);
    const cmd = resolve({
      announce: { command: { up: ['/bin/true'], down: ['/bin/false'] }, require: 'all', drainFile: '/run/xdp-lb/drain' },
    });
    expect(cmd.announce).toEqual({
      command: { up: ['/bin/true'], down: ['/bin/false'], timeoutMs: 5000 },
      require: 'all',
      intervalMs: 1000,
      drainFile: '/run/xdp-lb/drain',
    });
    expect(resolveConfig(toInput(cmd))).toEqual(cmd);
    expect(toInput(resolve({})).announce).toBeUndefined();
  });

  it('refuses what makes no sense, one line per problem', () => {
    expect(problems({ announce: {} })).toEqual(['announce  give exactly one of announce.bird and announce.command']);
    expect(problems({ announce: { bird: {}, command: { up: ['a'], down: ['b'] } } })).toEqual([
      'announce  give exactly one of announce.bird and announce.command',
    ]);
    expect(problems({ announce: { bird: { socket: 'bird.ctl', protocol: 'no-dashes' } } })).toEqual([
      "announce.bird.socket  an absolute path (BIRD's control socket)",
      'announce.bird.protocol  a BIRD protocol name (letters, digits, "_")',
    ]);
    expect(problems({ announce: { command: { up: [], down: ['x'] }, intervalMs: 5 } })).toEqual([
      'announce.command.up  the command (argv) that announces',
      expect.stringMatching(/^announce\.intervalMs  /),
    ]);
    expect(problems({ announce: { bird: {}, withdrawOnStop: true } })[0]).toMatch(/^announce  .*withdrawOnStop/);
  });

  it('names the VIPs as host prefixes', () => {
    expect(vipPrefixes(resolve({}))).toEqual(['198.18.2.10/32', '198.18.2.11/32', '2001:db8:2::10/128']);
  });
});

describe('node health', () => {
  const cfg = resolve({});
  const up = (backend: string, over: Partial<BackendHealth> = {}): BackendHealth => ({
    service: 'web',
    backend,
    up: true,
    checked: true,
    successes: 1,
    failures: 0,
    checks: { ok: 1, fail: 0, inconclusive: 0 },
    since: 0,
    ...over,
  });
  const attached = [{ name: 'eth0', attached: true }];
  const input = (health: BackendHealth[], interfaces = attached, deployed = true) => ({ cfg, deployed, interfaces, health });

  it('needs the data plane deployed and attached everywhere', () => {
    expect(nodeHealth(input([up('198.18.0.11:80')]), 'any')).toEqual({ healthy: true, reason: 'healthy' });
    expect(nodeHealth(input([], attached, false), 'any')).toEqual({ healthy: false, reason: 'not deployed' });
    expect(nodeHealth(input([], [...attached, { name: 'eth1', attached: false }]), 'any')).toEqual({
      healthy: false,
      reason: 'data plane not attached on eth1',
    });
    expect(nodeHealth(input([], []), 'any')).toEqual({ healthy: false, reason: 'data plane not attached' });
  });

  it("waits for what the node waits for (cluster sync's pull at start) however healthy it is", () => {
    const why = "pulling the live flows from the cluster's peers (started)";
    expect(nodeHealth({ ...input([up('198.18.0.11:80')]), waiting: why }, 'any')).toEqual({ healthy: false, reason: why });
    expect(nodeHealth({ ...input([up('198.18.0.11:80')]), waiting: undefined }, 'any')).toEqual({ healthy: true, reason: 'healthy' });
  });

  it('counts a checked backend once it has passed its checks; unchecked services by their active backends', () => {
    // web is checked: before the first check nothing counts; dns and v6 are not checked.
    const fresh = [up('198.18.0.11:80', { checked: false }), up('198.18.0.12:80', { checked: false })];
    expect(nodeHealth(input(fresh), 'all')).toEqual({ healthy: false, reason: 'no healthy backend in web' });
    expect(nodeHealth(input(fresh), 'any')).toEqual({ healthy: true, reason: 'healthy (no healthy backend in web)' });
    const down = [up('198.18.0.11:80', { up: false }), up('198.18.0.12:80', { up: false })];
    expect(nodeHealth(input(down), 'all').healthy).toBe(false);
    expect(nodeHealth(input([up('198.18.0.11:80', { up: false }), up('198.18.0.12:80')]), 'all')).toEqual({
      healthy: true,
      reason: 'healthy',
    });
    // Only web: with every backend down the node is not healthy, whatever `require` says.
    const only = { ...cfg, services: [cfg.services[0]!] } as LbConfig;
    expect(nodeHealth({ cfg: only, deployed: true, interfaces: attached, health: down }, 'any')).toEqual({
      healthy: false,
      reason: 'no healthy backend in web',
    });
  });
});

describe('the Announcer with the command hook', () => {
  const dir = mkdtempSync('/tmp/xlb-announce-');
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const journal = join(dir, 'journal');
  const failFlag = join(dir, 'fail');
  // The hook: appends "up|down PREFIXES REASON" to the journal; fails while the flag file exists.
  const hook = join(dir, 'hook.sh');
  writeFileSync(
    hook,
    `#!/bin/sh\n[ -e ${failFlag} ] && { echo "speaker unreachable" >&2; exit 3; }\necho "$XDP_LB_ANNOUNCE $XDP_LB_INSTANCE $XDP_LB_PREFIXES | $XDP_LB_REASON" >> ${journal}\n`,
    { mode: 0o755 },
  );
  const entries = () => (existsSync(journal) ? readFileSync(journal, 'utf8').trim().split('\n').filter(Boolean) : []);
  const logs: Record<string, unknown>[] = [];
  const log = createLogger({ format: 'json', level: 'debug', write: (l) => logs.push(JSON.parse(l) as Record<string, unknown>) });

  const drainFile = join(dir, 'drain');
  const cfg = resolve({ announce: { command: { up: [hook], down: [hook] }, intervalMs: 60_000, drainFile } });
  let healthy = false;
  let attached = true;
  const health = (): BackendHealth[] =>
    ['198.18.0.11:80', '198.18.0.12:80'].map((backend) => ({
      service: 'web',
      backend,
      up: healthy,
      checked: true,
      successes: 0,
      failures: 0,
      checks: { ok: 0, fail: 0, inconclusive: 0 },
      since: 0,
    }));
  const a = new Announcer(log, 'edge', () => ({
    cfg: { ...cfg, services: [cfg.services[0]!] } as LbConfig,
    deployed: true,
    interfaces: [{ name: 'eth0', attached }],
    health: health(),
  }));
  const prefixes = '198.18.2.10/32 198.18.2.11/32 2001:db8:2::10/128';

  it('starts withdrawn, announces when healthy, runs the command on changes only', async () => {
    await a.configure(cfg);
    expect(entries()).toEqual([`down edge ${prefixes} | no healthy backend in web`]);
    expect(a.status()).toMatchObject({ method: `command ${hook} / ${hook}`, announced: false, wanted: false, healthy: false, changes: 1 });
    await a.poke();
    expect(entries()).toHaveLength(1);
    healthy = true;
    await a.poke();
    expect(entries().at(-1)).toBe(`up edge ${prefixes} | healthy`);
    await a.poke();
    expect(entries()).toHaveLength(2);
    expect(a.metricsText()).toMatch(/^xdp_lb_announce_up\{method="command"\} 1$/m);
    // Every family with its HELP and TYPE, one sample each, and the text parses back.
    const text = a.metricsText();
    expect(text.endsWith('\n')).toBe(true);
    expect(text.match(/^# TYPE xdp_lb_announce_\w+ (gauge|counter)$/gm)).toHaveLength(5);
    expect(Object.fromEntries(parseMetrics(text))).toEqual({
      'xdp_lb_announce_up{method="command"}': 1,
      'xdp_lb_announce_healthy{method="command"}': 1,
      'xdp_lb_announce_draining{method="command"}': 0,
      'xdp_lb_announce_changes_total{method="command"}': 2,
      'xdp_lb_announce_errors_total{method="command"}': 0,
    });
  });

  it('withdraws when the data plane is detached', async () => {
    attached = false;
    await a.poke();
    expect(entries().at(-1)).toBe(`down edge ${prefixes} | data plane not attached on eth0`);
    attached = true;
    await a.poke();
    expect(entries().at(-1)).toBe(`up edge ${prefixes} | healthy`);
  });

  it('drains by call and by file, whatever the health', async () => {
    await a.drain('SIGUSR1');
    expect(entries().at(-1)).toBe(`down edge ${prefixes} | draining (SIGUSR1)`);
    expect(a.status()).toMatchObject({ draining: 'SIGUSR1', healthy: true, wanted: false });
    await a.undrain('SIGUSR2');
    expect(entries().at(-1)).toBe(`up edge ${prefixes} | healthy`);
    writeFileSync(drainFile, '');
    await a.poke();
    expect(entries().at(-1)).toBe(`down edge ${prefixes} | draining (drain file ${drainFile})`);
    rmSync(drainFile);
    await a.poke();
    expect(entries().at(-1)).toBe(`up edge ${prefixes} | healthy`);
  });

  it('retries a failing command at every evaluation, and says so once', async () => {
    writeFileSync(failFlag, '');
    healthy = false;
    await a.poke();
    await a.poke();
    expect(a.status()).toMatchObject({ announced: true, wanted: false, errors: 2, lastError: `${hook}: exit 3: speaker unreachable` });
    expect(logs.filter((l) => String(l.msg).startsWith('could not withdraw'))).toHaveLength(1);
    rmSync(failFlag);
    await a.poke();
    expect(a.status()).toMatchObject({ announced: false, errors: 2, lastError: undefined });
    expect(entries().at(-1)).toBe(`down edge ${prefixes} | no healthy backend in web`);
  });

  it('withdraw() before a detach; stop() leaves the announcement as it is', async () => {
    healthy = true;
    await a.poke();
    expect(a.status()?.announced).toBe(true);
    await a.withdraw('detach on exit');
    expect(entries().at(-1)).toBe(`down edge ${prefixes} | detach on exit`);
    const n = entries().length;
    a.stop();
    await a.poke();
    expect(entries()).toHaveLength(n);
  });

  it('a BIRD socket nobody listens on is one clear error', async () => {
    await expect(birdCommands(join(dir, 'no-bird.ctl'), ['show status'])).rejects.toThrow(/BIRD is not running \(no socket\)/);
  });
});
