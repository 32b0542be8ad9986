// Bad input never reaches the kernel: a running agent is handed a corpus of broken config files
// (wrong types, unknown keys, duplicates, bad addresses, port 0 and 65536, empty backend sets,
// unknown strategy, missing interface, broken YAML, refused load-time changes, ...). Each one is
// rejected with a clear message naming what is wrong, and afterwards the data plane is exactly as
// it was: every entry of the maps the control plane writes (slot tables included, by content and
// by inner-map id), the state file and the program on the link; a long-lived connection through
// it all never notices. `lb serve` started on a broken file exits 1 with the same lines and
// deploys nothing.
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { stringify as toYaml } from 'yaml';
import { instancePaths } from '@xdp-lb/core';
import { type Lab, openKeepAlive, tutorialAddresses, tutorialTopology } from '@xdp-lb/netlab';
import { buildProgram, composeLoadBalancer, type Io, run } from '../src/index.js';
import { linkInfo, snapshotMaps, type TestAgent, useAgentEnv } from './serve-support.js';

const env = useAgentEnv();
const addr = tutorialAddresses({ clients: 1, backends: 3 });
const instance = env.instance('bad');

type Cfg = Record<string, any>;
const base = (): Cfg => ({
  instance,
  interfaces: ['eth0'],
  limits: { conntrackSize: 65536 },
  snat: { addresses: [addr.lb] },
  services: [
    {
      name: 'web',
      vip: `${addr.vip}:80`,
      options: { tableSize: 1009 },
      backends: [addr.backends[0], addr.backends[1]],
      health: { type: 'http', path: '/health', intervalMs: 1000 },
    },
    { name: 'echo', vip: `${addr.vip}:7000`, protocol: 'udp', options: { tableSize: 1009 }, backends: [addr.backends[2]] },
  ],
});
const edit = (fn: (c: Cfg) => void): Cfg => {
  const c = base();
  fn(c);
  return c;
};
const web = (c: Cfg) => c.services[0];

/** [what is broken, the file (a config object, or raw text), what the error must say]. */
const CORPUS: [string, Cfg | string, RegExp][] = [
  // wrong types
  ['services is a string', edit((c) => (c.services = 'web')), /^services  .*expected array/m],
  ['vip is a number', edit((c) => (web(c).vip = 80)), /^services\.0\.vip  .*expected string/m],
  [
    'weight is a word',
    edit((c) => (web(c).backends[0] = { address: addr.backends[0], weight: 'heavy' })),
    /^services\.0\.backends\.0(\.weight)?  /m,
  ],
  ['conntrackSize is a word', edit((c) => (c.limits.conntrackSize = 'big')), /^limits\.conntrackSize  .*expected number/m],
  ['hashSeed is negative', edit((c) => (c.hashSeed = -1)), /^hashSeed  /m],
  ['interfaces is a string', edit((c) => (c.interfaces = 'eth0')), /^interfaces  .*expected array/m],
  ['protocol sctp', edit((c) => (web(c).protocol = 'sctp')), /^services\.0\.protocol  /m],
  ['forward mode unknown', edit((c) => (web(c).forward = 'tunnel')), /^services\.0\.forward  /m],
  ['health interval is text', edit((c) => (web(c).health.intervalMs = '1s')), /^services\.0\.health\.intervalMs  .*expected number/m],
  ['health type icmp', edit((c) => (web(c).health.type = 'icmp')), /^services\.0\.health\.type  /m],
  ['tcpTimeoutSec 0', edit((c) => (c.limits.tcpTimeoutSec = 0)), /^limits\.tcpTimeoutSec  /m],
  ['conntrackSize below the minimum', edit((c) => (c.limits.conntrackSize = 10)), /^limits\.conntrackSize  .*1024/m],
  ['instance name with a space', edit((c) => (c.instance = 'Bad Name')), /^instance  lower-case letters/m],
  // unknown keys
  ['top-level typo "servics"', edit((c) => ((c.servics = c.services), delete c.services)), /unknown key\(s\) "servics"/],
  ['service key "backend"', edit((c) => (web(c).backend = web(c).backends)), /^services\.0  unknown key\(s\) "backend"/m],
  ['limits key "conntrack"', edit((c) => (c.limits.conntrack = 1)), /^limits  unknown key\(s\) "conntrack"/m],
  ['health key "intervall"', edit((c) => (web(c).health.intervall = 5)), /^services\.0\.health  unknown key\(s\) "intervall"/m],
  ['backend key "wieght"', edit((c) => (web(c).backends[0] = { address: addr.backends[0], wieght: 2 })), /unknown key\(s\) "wieght"/],
  ['unknown strategy option', edit((c) => (web(c).options.buckets = 7)), /^services\.0\.options/m],
  // duplicates
  [
    'the same service twice',
    edit((c) => c.services.push({ ...web(c), name: 'web2' })),
    /^services\.2  service 198\.18\.0\.10:80\/tcp is defined twice/m,
  ],
  ['the same service name twice', edit((c) => (c.services[1].name = 'web')), /^services\.1\.name  service name "web" is used twice/m],
  [
    'a backend twice',
    edit((c) => web(c).backends.push(`${addr.backends[0]}:80`)),
    /^services\.0\.backends\.2  backend 198\.18\.0\.11:80 is listed twice/m,
  ],
  ['an interface twice', edit((c) => (c.interfaces = ['eth0', 'eth0'])), /^interfaces\.1  interface "eth0" is listed twice/m],
  ['a YAML key twice', `instance: ${instance}\ninstance: other\n`, /not valid YAML.*(unique|duplicate)/i],
  // bad addresses
  ['vip octet 300', edit((c) => (web(c).vip = '198.18.0.300:80')), /^services\.0\.vip  "198\.18\.0\.300:80" is not an IP address/m],
  ['vip without a port', edit((c) => (web(c).vip = addr.vip)), /^services\.0\.vip  .*needs a port/m],
  ['vip is a host name', edit((c) => (web(c).vip = 'lb.example:80')), /^services\.0\.vip  .*is not an IP address/m],
  [
    'backend is not an address',
    edit((c) => (web(c).backends[1] = 'not-an-ip')),
    /^services\.0\.backends\.1  "not-an-ip" is not an IP address/m,
  ],
  [
    'SNAT address is not an address',
    edit((c) => (c.snat.addresses = ['198.18.x.2'])),
    /^snat\.addresses\.0  "198\.18\.x\.2" is not an IP address/m,
  ],
  ['IPv6 backend of an IPv4 VIP', edit((c) => (web(c).backends[1] = '[2001:db8:18::12]:80')), /is IPv6 but the VIP 198\.18\.0\.10 is IPv4/],
  ['nat without any SNAT address', edit((c) => delete c.snat), /^services\.0\.forward  forward "nat" needs a "snat" section/m],
  [
    'dsr backend on another port',
    edit((c) => ((web(c).forward = 'dsr'), (web(c).backends[0] = `${addr.backends[0]}:8080`))),
    /dsr forwarding cannot change the port/,
  ],
  // ports
  [
    'vip port 0',
    edit((c) => (web(c).vip = `${addr.vip}:0`)),
    /port 0 in "198\.18\.0\.10:0" is not a port; for every port write 198\.18\.0\.10:\*/,
  ],
  ['vip port 65536', edit((c) => (web(c).vip = `${addr.vip}:65536`)), /port "65536" .* from 1 to 65535/],
  [
    'backend port 0',
    edit((c) => (web(c).backends[0] = `${addr.backends[0]}:0`)),
    /^services\.0\.backends\.0  port 0 in "198\.18\.0\.11:0" is not a port/m,
  ],
  ['backend port 65536', edit((c) => (web(c).backends[0] = `${addr.backends[0]}:65536`)), /^services\.0\.backends\.0  port "65536"/m],
  ['health port 0', edit((c) => (web(c).health.port = 0)), /^services\.0\.health\.port  /m],
  ['health port 65536', edit((c) => (web(c).health.port = 65536)), /^services\.0\.health\.port  /m],
  ['SNAT ports below 1024', edit((c) => (c.snat.ports = '100-2000')), /^snat\.ports  port range "100-2000" must lie within 1024-65535/m],
  [
    'SNAT ports overlapping the ephemeral range',
    edit((c) => (c.snat.ports = '30000-40000')),
    /snat\.ports 30000-40000 overlaps the host's ephemeral ports/,
  ],
  ['weight 0', edit((c) => (web(c).backends[0] = `${addr.backends[0]}@0`)), /weight "0" .* from 1 to 65535/],
  // empty backend sets
  ['no backends', edit((c) => (web(c).backends = [])), /^services\.0\.backends  a service needs at least one backend/m],
  [
    'every backend draining',
    edit((c) => (web(c).backends = web(c).backends.map((a: string) => ({ address: a, state: 'draining' })))),
    /every backend is draining/,
  ],
  ['no services', edit((c) => (c.services = [])), /^services  at least one service/m],
  // strategies
  ['unknown strategy', edit((c) => (c.strategy = 'fastest')), /^strategy  unknown strategy "fastest" \(one of hash, random, round-robin/m],
  [
    'strategy fragment that does not exist',
    edit((c) => (c.strategy = './no-such-strategy.bpf.c')),
    /no-such-strategy\.bpf\.c does not exist/,
  ],
  ['hash table size not prime', edit((c) => (web(c).options.tableSize = 1000)), /^services\.0\.options\.tableSize  /m],
  // interfaces
  ['interface missing', edit((c) => (c.interfaces = ['nosuch0'])), /^interfaces\.0  no interface named "nosuch0"/m],
  ['unknown XDP mode', edit((c) => (c.interfaces = ['eth0:turbo'])), /unknown XDP mode "turbo"/],
  // health cross-field
  [
    'health timeout longer than the interval',
    edit((c) => (web(c).health.timeoutMs = 5000)),
    /^services\.0\.health\.timeoutMs  timeout 5000 ms is longer than the interval 1000 ms/m,
  ],
  [
    'health path on a tcp check',
    edit((c) => (web(c).health = { type: 'tcp', path: '/health' })),
    /^services\.0\.health\.path  path is for http checks/m,
  ],
  // the file itself
  ['an empty file', '', /^interfaces  /m],
  ['not YAML', 'services: [web\n  - : :\n\t', /not valid YAML/],
  ['a list, not a mapping', '- interfaces: [eth0]\n', /expected object/],
  ['another instance', edit((c) => (c.instance = 'other')), /instance changed from .* to other: an agent serves one instance/],
];

describe(`a corpus of ${CORPUS.length} broken configs leaves the running data plane exactly as it was`, () => {
  let lab: Lab;
  let t: TestAgent;
  let file: string;

  it('has at least 40 cases', () => expect(CORPUS.length).toBeGreaterThanOrEqual(40));

  it('rejects each with a clear error; maps, state and program unchanged; the long connection lives', async () => {
    lab = await env.lab(tutorialTopology({ clients: 1, backends: 3, udpEcho: true }));
    file = env.writeConfig('bad', base());
    t = await env.startAgent(lab, file, { watch: false });
    const ka = await openKeepAlive(lab.host('client1'), { address: addr.vip, intervalMs: 100, requestTimeoutMs: 1500 });
    await ka.waitForResponses(2);
    const p = instancePaths(instance);
    const link = join(p.links, 'eth0');
    const snapshot = async () => ({
      maps: await snapshotMaps(instance),
      state: readFileSync(p.stateFile, 'utf8'),
      prog: linkInfo(link).progId,
    });
    const before = await snapshot();
    const problems: string[] = [];
    for (const [what, cfg, expected] of CORPUS) {
      env.writeConfig('bad', typeof cfg === 'string' ? cfg : toYaml(cfg));
      const r = await t.agent.reload(`corpus: ${what}`);
      if (r.ok) {
        problems.push(`${what}: accepted (${r.action})`);
        continue;
      }
      const text = errorText(r.error);
      if (!expected.test(text)) problems.push(`${what}: error does not match ${expected}:\n    ${text.replace(/\n/g, '\n    ')}`);
      const now = await snapshot();
      if (JSON.stringify(now) !== JSON.stringify(before)) problems.push(`${what}: the data plane changed`);
    }
    // A deleted file is one more bad input.
    rmSync(file);
    const gone = await t.agent.reload('corpus: file deleted');
    expect(gone.ok).toBe(false);
    expect(errorText((gone as { error: Error }).error)).toMatch(/cannot read .*bad\.yaml/);
    expect(problems, problems.join('\n')).toEqual([]);
    expect(await snapshot()).toEqual(before);
    expect(t.agent.status().lastReload).toMatchObject({ ok: false });
    const rejected = t.logs.filter((l) => l.msg.startsWith('config rejected') || l.msg.startsWith('reload failed'));
    expect(rejected.length).toBe(CORPUS.length + 1);

    // The good file again: applies (nothing to change).
    env.writeConfig('bad', base());
    expect(await t.agent.reload('fixed')).toMatchObject({ ok: true, action: 'unchanged' });
    const k = await ka.stop();
    expect(k.closed, JSON.stringify(k.closed)).toBeUndefined();
    expect(k.timeouts).toBe(0);
    expect(k.bodies.length).toBe(1);
  });

  it('lb serve on a broken file exits 1 with every problem, one line each, and deploys nothing', async () => {
    const other = env.instance('bad-start');
    const broken = env.writeConfig('broken', {
      instance: other,
      interfaces: ['eth0'],
      services: [{ vip: `${addr.vip}:65536`, backends: [], wat: true }],
    });
    const out: string[] = [];
    const err: string[] = [];
    const io: Io = { out: (s) => out.push(s), err: (s) => err.push(s) };
    const code = await run(
      buildProgram(composeLoadBalancer, io),
      ['serve', '-f', broken, '--netns', lab.host('lb').netns.name, '--metrics', 'off'],
      io,
    );
    expect(code).toBe(1);
    expect(err.sort()).toEqual([
      'lb: services.0  unknown key(s) "wat" (see docs/config.md)',
      'lb: services.0.backends  a service needs at least one backend',
    ]);
    expect(env.lb().instances()).not.toContain(other);
  });
});

function errorText(e: Error): string {
  const lines = (e as { lines?: () => string[] }).lines;
  return typeof lines === 'function' ? lines.call(e).join('\n') : e.message;
}
