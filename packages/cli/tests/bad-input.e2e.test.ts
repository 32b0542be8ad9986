// The bad-input table: every row is an `lb` command an operator could type against a running
// instance, with what is wrong in it. Each must exit non-zero (2: usage, 1: refused), say what is
// wrong in its first line (and say nothing else but a usage hint), and change nothing: the state
// file byte for byte, the pins, and what the kernel's maps say (status without counters). Before,
// several of these exited 0 having silently ignored part of the input (flags next to -f, a changed
// conntrack size, IP:2 read as port 2, an SNAT address the LB does not own, 0.0.0.0 as a VIP), or
// failed with a misleading first error.
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { stringify as toYaml } from 'yaml';
import { type Lab, tutorialAddresses, tutorialTopology } from '@xdp-lb/netlab';
import { describeLab } from '@xdp-lb/netlab/vitest';
import { lbInProcess, useE2e } from './helpers/e2e.js';

const e2e = useE2e();
const addr = tutorialAddresses({ clients: 1, backends: 3 });
const VIP = `${addr.vip}:80`;
const [B1, B2, B3] = addr.backends as [string, string, string];
const tmp = mkdtempSync(join(tmpdir(), 'xlb-bad-input-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

interface Ctx {
  instance: string;
  ns: string;
  /** Writes the good config with `edit` applied and returns its path. */
  file(name: string, edit?: (c: Record<string, any>) => void): string;
}

type Row = [name: string, argv: (c: Ctx) => string[], code: 1 | 2, first: RegExp];

const svc = (c: Record<string, any>) => c.services[0] as Record<string, any>;
const ROWS: Row[] = [
  // Flags next to -f: dropped without a word before; the file says all of them.
  [
    '--vip next to -f',
    (c) => ['deploy', '-f', c.file('vip'), '--netns', c.ns, '--vip', '198.18.0.20:80'],
    2,
    /^lb: --vip cannot be used with -f: the file says it/,
  ],
  [
    '--backend next to -f',
    (c) => ['deploy', '-f', c.file('be'), '--netns', c.ns, '--backend', B3],
    2,
    /^lb: --backend cannot be used with -f/,
  ],
  [
    '--iface next to -f',
    (c) => ['deploy', '-f', c.file('if'), '--netns', c.ns, '--iface', 'eth0'],
    2,
    /^lb: --iface cannot be used with -f/,
  ],
  [
    '--instance next to -f',
    (c) => ['deploy', '-f', c.file('in'), '--netns', c.ns, '--instance', 'other'],
    2,
    /^lb: --instance cannot be used with -f/,
  ],
  [
    '--mode next to -f',
    (c) => ['deploy', '-f', c.file('mo'), '--netns', c.ns, '--mode', 'generic'],
    2,
    /^lb: --mode cannot be used with -f/,
  ],
  [
    'several flags next to -f',
    (c) => ['deploy', '-f', c.file('sev'), '--netns', c.ns, '--strategy', 'random', '--conntrack-size', '4096'],
    2,
    /^lb: --strategy, --conntrack-size cannot be used with -f: the file says them/,
  ],
  // Addresses by class.
  [
    'VIP 0.0.0.0',
    (c) => ['deploy', '-f', c.file('v0', (x) => (svc(x).vip = '0.0.0.0:80')), '--netns', c.ns],
    1,
    /^lb: services\.0\.vip {2}0\.0\.0\.0 is the unspecified address: a VIP must be a unicast address$/,
  ],
  [
    'VIP loopback',
    (c) => ['deploy', '-f', c.file('vlo', (x) => (svc(x).vip = '127.0.0.1:80')), '--netns', c.ns],
    1,
    /^lb: services\.0\.vip {2}127\.0\.0\.1 is a loopback address/,
  ],
  [
    'VIP multicast',
    (c) => ['deploy', '-f', c.file('vmc', (x) => (svc(x).vip = '224.0.0.5:80')), '--netns', c.ns],
    1,
    /^lb: services\.0\.vip {2}224\.0\.0\.5 is a multicast address/,
  ],
  [
    'VIP broadcast',
    (c) => ['deploy', '-f', c.file('vbc', (x) => (svc(x).vip = '255.255.255.255:80')), '--netns', c.ns],
    1,
    /^lb: services\.0\.vip {2}255\.255\.255\.255 is a broadcast address/,
  ],
  [
    'VIP class E',
    (c) => ['deploy', '-f', c.file('vre', (x) => (svc(x).vip = '240.0.0.1:80')), '--netns', c.ns],
    1,
    /^lb: services\.0\.vip {2}240\.0\.0\.1 is a reserved address/,
  ],
  [
    'backend loopback',
    (c) => ['deploy', '-f', c.file('blo', (x) => (svc(x).backends = ['127.0.0.1'])), '--netns', c.ns],
    1,
    /^lb: services\.0\.backends\.0 {2}127\.0\.0\.1 is a loopback address: a backend must be a unicast address$/,
  ],
  [
    'backend broadcast',
    (c) => ['deploy', '-f', c.file('bbc', (x) => (svc(x).backends = ['255.255.255.255'])), '--netns', c.ns],
    1,
    /^lb: services\.0\.backends\.0 {2}255\.255\.255\.255 is a broadcast address/,
  ],
  [
    'backend multicast',
    (c) => ['deploy', '-f', c.file('bmc', (x) => (svc(x).backends = ['239.1.1.1'])), '--netns', c.ns],
    1,
    /^lb: services\.0\.backends\.0 {2}239\.1\.1\.1 is a multicast address/,
  ],
  [
    'backend 0.0.0.0',
    (c) => ['deploy', '-f', c.file('b0', (x) => (svc(x).backends = ['0.0.0.0'])), '--netns', c.ns],
    1,
    /^lb: services\.0\.backends\.0 {2}0\.0\.0\.0 is the unspecified address/,
  ],
  [
    'IPv6 VIP ::',
    (c) => [
      'deploy',
      '-f',
      c.file('v6u', (x) => Object.assign(svc(x), { vip: '[::]:80', forward: 'dsr', backends: ['2001:db8:18::11'] })),
      '--netns',
      c.ns,
    ],
    1,
    /^lb: services\.0\.vip {2}:: is the unspecified address/,
  ],
  [
    'IPv6 backend multicast',
    (c) => [
      'deploy',
      '-f',
      c.file('b6m', (x) => Object.assign(svc(x), { vip: '[2001:db8:18::10]:80', forward: 'dsr', backends: ['ff02::1'] })),
      '--netns',
      c.ns,
    ],
    1,
    /^lb: services\.0\.backends\.0 {2}ff02::1 is a multicast address/,
  ],
  [
    'IPv6 backend loopback',
    (c) => [
      'deploy',
      '-f',
      c.file('b6l', (x) => Object.assign(svc(x), { vip: '[2001:db8:18::10]:80', forward: 'dsr', backends: ['::1'] })),
      '--netns',
      c.ns,
    ],
    1,
    /^lb: services\.0\.backends\.0 {2}::1 is a loopback address/,
  ],
  [
    'unbracketed IPv6 VIP',
    (c) => [
      'deploy',
      '-f',
      c.file('v6b', (x) => Object.assign(svc(x), { vip: '2001:db8:18::10:80', forward: 'dsr', backends: ['2001:db8:18::11'] })),
      '--netns',
      c.ns,
    ],
    1,
    /^lb: services\.0\.vip {2}"2001:db8:18::10:80" needs a port, and an IPv6 address with a port takes brackets: \[2001:db8:18::10:80\]:PORT or \[2001:db8:18::10\]:80 if 80 is the port$/,
  ],
  [
    'IP:2 read as a weight (loxicmd)',
    (c) => ['deploy', '-f', c.file('w2', (x) => (svc(x).backends = [`${B1}:2`])), '--netns', c.ns],
    1,
    /^lb: services\.0\.backends\.0 {2}"198\.18\.0\.11:2": port 2 looks like a weight .* 198\.18\.0\.11@2/,
  ],
  [
    'SNAT multicast',
    (c) => ['deploy', '-f', c.file('sm', (x) => (x.snat.addresses = ['224.0.0.1'])), '--netns', c.ns],
    1,
    /^lb: snat\.addresses\.0 {2}224\.0\.0\.1 is a multicast address: a SNAT address must be a unicast address of the LB$/,
  ],
  [
    "SNAT address not the LB's",
    (c) => ['deploy', '-f', c.file('sf', (x) => (x.snat.addresses = ['198.18.0.250'])), '--netns', c.ns],
    1,
    /^lb: snat address 198\.18\.0\.250 is not an address of this host \(netns \S+\): backends' replies would never reach the LB; use one of its addresses \(ip addr\), e\.g\. 198\.18\.0\.2/,
  ],
  [
    'SNAT port range inverted',
    (c) => ['deploy', '-f', c.file('sp', (x) => (x.snat.ports = '29999-20000')), '--netns', c.ns],
    1,
    /^lb: snat\.ports {2}port range "29999-20000" must lie within 1024-65535 with MIN <= MAX$/,
  ],
  [
    'unknown key in the file',
    (c) => ['deploy', '-f', c.file('uk', (x) => (x.colour = 'red')), '--netns', c.ns],
    1,
    /^lb: \(root\) {2}unknown key\(s\) "colour" \(see docs\/config\.md\)$/,
  ],
  [
    'unknown strategy',
    (c) => ['deploy', '-f', c.file('us', (x) => (x.strategy = 'fastest')), '--netns', c.ns],
    1,
    /^lb: strategy {2}unknown strategy "fastest"/,
  ],
  // This session's config fields: refused before any kernel change like the rest.
  [
    'unknown strategy of one service',
    (c) => ['deploy', '-f', c.file('uss', (x) => (svc(x).strategy = 'fastest')), '--netns', c.ns],
    1,
    /^lb: services\.0\.strategy {2}unknown strategy "fastest"/,
  ],
  [
    'prefix VIP with host bits',
    (c) => ['deploy', '-f', c.file('pfx', (x) => (svc(x).vip = '198.18.0.9/28:80')), '--netns', c.ns],
    1,
    /^lb: services\.0\.vip {2}"198\.18\.0\.9\/28:80" has host bits set: the prefix is 198\.18\.0\.0\/28$/,
  ],
  [
    'quic on a TCP service',
    (c) => ['deploy', '-f', c.file('qt', (x) => (svc(x).quic = true)), '--netns', c.ns],
    1,
    /^lb: services\.0\.quic {2}QUIC runs over UDP: quic needs protocol: udp$/,
  ],
  [
    'cluster key too short',
    (c) => [
      'deploy',
      '-f',
      c.file('ck', (x) => (x.cluster = { listen: '198.18.0.2:7946', peers: ['198.18.0.3:7946'], key: 'short' })),
      '--netns',
      c.ns,
    ],
    1,
    /^lb: cluster\.key {2}.*at least 32 characters/,
  ],
  [
    'VIP without port',
    (c) => ['deploy', '-f', c.file('np', (x) => (svc(x).vip = addr.vip)), '--netns', c.ns],
    1,
    /^lb: services\.0\.vip {2}"198\.18\.0\.10" needs a port \(e\.g\. 198\.18\.0\.10:80, or 198\.18\.0\.10:\* for every port\)$/,
  ],
  [
    'port out of range',
    (c) => ['deploy', '-f', c.file('po', (x) => (svc(x).vip = `${addr.vip}:99999`)), '--netns', c.ns],
    1,
    /^lb: services\.0\.vip {2}port "99999" in "198\.18\.0\.10:99999" must be a whole number from 1 to 65535$/,
  ],
  [
    'duplicate service',
    (c) => ['deploy', '-f', c.file('ds', (x) => x.services.push({ ...svc(x), name: 'web2' })), '--netns', c.ns],
    1,
    /^lb: services\.1 {2}service 198\.18\.0\.10:80\/tcp is defined twice \(also services\.0\)$/,
  ],
  [
    'every backend draining',
    (c) => ['deploy', '-f', c.file('dr', (x) => (svc(x).backends = [{ address: B1, state: 'draining' }])), '--netns', c.ns],
    1,
    /^lb: services\.0\.backends {2}every backend is draining/,
  ],
  ['missing file', (c) => ['deploy', '-f', join(tmp, 'nope.yaml'), '--netns', c.ns], 1, /^lb: .*nope\.yaml/],
  // First errors in their order: the namespace before the interfaces in it.
  [
    'unknown --netns',
    (c) => ['deploy', '-f', c.file('nn'), '--netns', 'xlb-no-such-ns'],
    1,
    /^lb: no network namespace xlb-no-such-ns \(\/run\/netns\/xlb-no-such-ns\)/,
  ],
  [
    'config check with an unknown --netns',
    (c) => ['config', 'check', c.file('cn'), '--netns', 'xlb-no-such-ns'],
    1,
    /^lb: no network namespace xlb-no-such-ns/,
  ],
  [
    'unknown interface',
    (c) => ['deploy', '-f', c.file('ni', (x) => (x.interfaces = ['eth9'])), '--netns', c.ns],
    1,
    /^lb: interfaces\.0 {2}no interface named "eth9"$/,
  ],
  // Deploy from flags.
  ['flags: no --iface', () => ['deploy', '--vip', VIP, '--backend', B1], 2, /^lb: deploy needs --iface \(or -f FILE\)$/],
  [
    'flags: bad --mode',
    (c) => ['deploy', '--netns', c.ns, '--iface', 'eth0', '--vip', VIP, '--backend', B1, '--mode', 'turbo'],
    2,
    /Allowed choices are native, generic, offload, auto/,
  ],
  [
    'flags: instance ../tc',
    (c) => ['deploy', '--netns', c.ns, '--instance', '../tc', '--iface', 'eth0', '--vip', VIP, '--backend', B1],
    1,
    /^lb: instance {2}lower-case letters, digits/,
  ],
  [
    "flags: SNAT not the LB's",
    (c) => [
      'deploy',
      '--netns',
      c.ns,
      '--instance',
      c.instance,
      '--iface',
      'eth0',
      '--vip',
      VIP,
      '--backend',
      B1,
      '--snat',
      '198.18.0.251',
    ],
    1,
    /^lb: snat address 198\.18\.0\.251 is not an address of this host/,
  ],
  // Instance names are paths: refused by every command.
  [
    'undeploy -i ../tc',
    () => ['undeploy', '-i', '../tc'],
    1,
    /^lb: instance name "\.\.\/tc" is not valid: 1 to 32 lower-case letters, digits, "_" or "-", starting with a letter or digit$/,
  ],
  ['undeploy -i ..', () => ['undeploy', '-i', '..'], 1, /^lb: instance name "\.\." is not valid/],
  ['status -i ../tc', () => ['status', '-i', '../tc'], 1, /^lb: instance name "\.\.\/tc" is not valid/],
  ['config dump -i /etc', () => ['config', 'dump', '-i', '/etc'], 1, /^lb: instance name "\/etc" is not valid/],
  ['backend add -i ../x', () => ['backend', 'add', VIP, B3, '-i', '../x'], 1, /^lb: instance name "\.\.\/x" is not valid/],
  ['service remove -i Upper', () => ['service', 'remove', 'web', '-i', 'Upper'], 1, /^lb: instance name "Upper" is not valid/],
  ['stats -i ..', () => ['stats', '-i', '..', '--count', '1', '--interval', '0.1'], 1, /^lb: instance name "\.\." is not valid/],
  [
    'undeploy of an instance not deployed',
    () => ['undeploy', '-i', 'xlb-never-deployed'],
    1,
    /^lb: instance xlb-never-deployed is not deployed$/,
  ],
  // lb stats.
  [
    'stats --interval abc',
    (c) => ['stats', '-i', c.instance, '--interval', 'abc'],
    2,
    /^lb: --interval "abc" must be a number of seconds from 0\.1 to 3600$/,
  ],
  ['stats --interval 0', (c) => ['stats', '-i', c.instance, '--interval', '0'], 2, /^lb: --interval "0" must be/],
  [
    'stats --count -1',
    (c) => ['stats', '-i', c.instance, '--count', '-1'],
    2,
    /^lb: --count "-1" must be a whole number of refreshes, 1 or more$/,
  ],
  ['stats --count 0', (c) => ['stats', '-i', c.instance, '--count', '0'], 2, /^lb: --count "0" must be/],
  ['stats --count 1.5', (c) => ['stats', '-i', c.instance, '--count', '1.5'], 2, /^lb: --count "1\.5" must be/],
  // Hot changes.
  [
    'backend add IP:2',
    (c) => ['backend', 'add', VIP, `${B3}:2`, '-i', c.instance],
    1,
    /^lb: services\.0\.backends\.2 {2}"198\.18\.0\.13:2": port 2 looks like a weight/,
  ],
  [
    'backend add loopback',
    (c) => ['backend', 'add', VIP, '127.0.0.1', '-i', c.instance],
    1,
    /^lb: services\.0\.backends\.2 {2}127\.0\.0\.1 is a loopback address/,
  ],
  [
    'backend add twice',
    (c) => ['backend', 'add', VIP, B1, '-i', c.instance],
    1,
    /^lb: services\.0\.backends\.2 {2}backend 198\.18\.0\.11:80 is listed twice$/,
  ],
  [
    'backend add not an address',
    (c) => ['backend', 'add', VIP, 'web-3', '-i', c.instance],
    1,
    /^lb: services\.0\.backends\.2 {2}"web-3" is not an IP address/,
  ],
  [
    'backend add weight 0',
    (c) => ['backend', 'add', VIP, `${B3}@0`, '-i', c.instance],
    1,
    /^lb: services\.0\.backends\.2 {2}weight "0" in "198\.18\.0\.13@0" must be a whole number from 1 to 65535$/,
  ],
  [
    'backend add IPv6 to an IPv4 VIP',
    (c) => ['backend', 'add', VIP, '2001:db8:18::13', '-i', c.instance],
    1,
    /^lb: services\.0\.backends\.2 {2}backend \[2001:db8:18::13\]:80 is IPv6 but the VIP 198\.18\.0\.10 is IPv4: nat keeps the family; a tunnel carries one in the other \(forward ip6ip6 or gue\)$/,
  ],
  [
    'backend weight 0',
    (c) => ['backend', 'weight', 'web', B1, '0', '-i', c.instance],
    2,
    /^lb: weight "0" must be a whole number from 1 to 65535$/,
  ],
  ['backend weight abc', (c) => ['backend', 'weight', 'web', B1, 'abc', '-i', c.instance], 2, /^lb: weight "abc" must be/],
  ['backend weight 70000', (c) => ['backend', 'weight', 'web', B1, '70000', '-i', c.instance], 2, /^lb: weight "70000" must be/],
  [
    'backend remove unknown',
    (c) => ['backend', 'remove', 'web', '198.18.0.99', '-i', c.instance],
    1,
    /^lb: service web has no backend 198\.18\.0\.99$/,
  ],
  [
    'backend drain on unknown service',
    (c) => ['backend', 'drain', 'db', B1, '-i', c.instance],
    1,
    /^lb: no service "db" \(services: web\)$/,
  ],
  [
    'service add 0.0.0.0',
    (c) => ['service', 'add', '--vip', '0.0.0.0:81', '--backend', B1, '-i', c.instance],
    1,
    /^lb: services\.1\.vip {2}0\.0\.0\.0 is the unspecified address/,
  ],
  [
    'service add duplicate',
    (c) => ['service', 'add', '--vip', VIP, '--backend', B1, '-i', c.instance],
    1,
    /^lb: services\.1 {2}service 198\.18\.0\.10:80\/tcp is defined twice/,
  ],
  [
    'service add without port',
    (c) => ['service', 'add', '--vip', addr.vip, '--backend', B1, '-i', c.instance],
    1,
    /^lb: services\.1\.vip {2}"198\.18\.0\.10" needs a port/,
  ],
  [
    'service add, SNAT-less DSR port change',
    (c) => ['service', 'add', '--vip', `${addr.vip}:81`, '--forward', 'dsr', '--backend', `${B1}:82`, '-i', c.instance],
    1,
    /^lb: services\.1\.backends\.0 {2}dsr forwarding cannot change the port/,
  ],
  ['service remove unknown', (c) => ['service', 'remove', 'db', '-i', c.instance], 1, /^lb: no service "db" \(services: web\)$/],
  // Labs: nothing is guessed (the only lab up used to be taken, whoever's it was).
  [
    'lab down without an id',
    () => ['lab', 'down'],
    2,
    /^lb: which lab\? give its id \(lb lab status lists them\) or --all for every lab made by lb lab up$/,
  ],
  ['lab down with an id and --all', () => ['lab', 'down', 'xlb1-ffff', '--all'], 2, /^lb: give a lab id or --all, not both$/],
  [
    'service remove the last one',
    (c) => ['service', 'remove', 'web', '-i', c.instance],
    1,
    /^lb: service web is the last one: undeploy instead$/,
  ],
];

describeLab('bad input: exit code, one line naming what is wrong, nothing changed', () => {
  let lab: Lab;
  let ctx: Ctx;
  const good = (instance: string) => ({
    instance,
    strategy: 'hash',
    interfaces: ['eth0'],
    limits: { conntrackSize: 65536 },
    snat: { addresses: [addr.lb], ports: '20000-20999' },
    services: [{ name: 'web', vip: VIP, backends: [B1, B2] }],
  });

  /** Everything a command could have changed: the state file, the pins, the maps (by status). */
  const snapshot = (instance: string) => {
    const st = e2e.lb().status(instance);
    return {
      state: readFileSync(join(e2e.stateDir, instance, 'state.json'), 'utf8'),
      pins: readdirSync(join(e2e.bpffs, instance), { recursive: true }).map(String).sort(),
      instances: e2e.lb().instances(),
      interfaces: st.interfaces,
      services: st.services.map((s) => ({ ...s, counters: undefined, backends: s.backends.map((b) => ({ ...b, counters: undefined })) })),
      // `-i ../tc` would reach these.
      outside: [existsSync(join(e2e.bpffs, '..', 'tc')), existsSync(join(e2e.stateDir, '..', 'tc'))],
    };
  };

  beforeAll(async () => {
    lab = await e2e.lab(tutorialTopology({ clients: 1, backends: 3 }));
    const instance = e2e.instance('bad');
    await e2e.deploy(lab, good(instance));
    ctx = {
      instance,
      ns: lab.host('lb').netns.name,
      file(name, edit) {
        const c = structuredClone(good(instance)) as Record<string, any>;
        edit?.(c);
        const f = join(tmp, `${name}.yaml`);
        writeFileSync(f, toYaml(c));
        return f;
      },
    };
  }, 120_000);

  it('has the rows the issue asks for (60 or more)', () => {
    expect(ROWS.length).toBeGreaterThanOrEqual(60);
  });

  it.each(ROWS)('%s', async (_name, argv, code, first) => {
    const before = snapshot(ctx.instance);
    const r = await lbInProcess(...argv(ctx));
    const lines = r.err.split('\n');
    expect(r.code, r.err).toBe(code);
    expect(lines[0]).toMatch(first);
    // One line; a usage error may add the pointer to --help (commander's own errors add the help).
    if (code === 1) expect(lines, r.err).toHaveLength(1);
    else if (!/Allowed choices/.test(r.err))
      expect(
        lines.slice(1).every((l) => /^Run 'lb .*--help' for usage\.$/.test(l)),
        r.err,
      ).toBe(true);
    expect(r.out).toBe('');
    expect(snapshot(ctx.instance)).toEqual(before);
  });
});
