import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { flowTableBuckets } from '../src/config/defaults.js';
import { ConfigError, dumpConfigYaml, parseConfigText, resolveConfig, type ResolveContext } from '../src/index.js';

const hashOptions = z.object({ tableSize: z.number().int().default(65537) }).strict();
const ctx: ResolveContext = {
  strategyOptions: (id) => (id === 'hash' ? hashOptions : undefined),
  strategyIds: () => ['hash'],
  interfaceExists: (name) => name === 'eth0' || name === 'eth1',
};

const good = {
  interfaces: ['eth0', 'eth1:generic'],
  snat: { addresses: ['198.18.0.2'] },
  services: [
    { vip: '198.18.0.10:80', backends: ['198.18.0.11', '198.18.0.12:8080@3', { address: '198.18.0.13', state: 'draining' }] },
    { name: 'dns', vip: '198.18.0.10:53', protocol: 'udp', forward: 'dsr', backends: ['198.18.0.11'] },
  ],
};

function problems(input: unknown): string[] {
  try {
    resolveConfig(input, ctx);
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return (e as ConfigError).lines();
  }
  throw new Error('expected a ConfigError');
}

describe('config', () => {
  it('resolves a good config with defaults', () => {
    const cfg = resolveConfig(good, ctx);
    expect(cfg.instance).toBe('default');
    expect(cfg.strategy).toBe('hash');
    expect(cfg.interfaces).toEqual([
      { name: 'eth0', mode: 'native' },
      { name: 'eth1', mode: 'generic' },
    ]);
    expect(cfg.snat).toMatchObject({ portMin: 20000, portMax: 29999 });
    const [web, dns] = cfg.services;
    expect(web!.name).toBe('198.18.0.10:80/tcp');
    expect(web!.forward).toBe('nat');
    expect(web!.options).toEqual({ tableSize: 65537 });
    expect(web!.backends.map((b) => [b.key, b.weight, b.state])).toEqual([
      ['198.18.0.11:80', 1, 'active'],
      ['198.18.0.12:8080', 3, 'active'],
      ['198.18.0.13:80', 1, 'draining'],
    ]);
    expect(dns!.protocol).toBe('udp');
  });

  it('round-trips through dump', () => {
    const cfg = resolveConfig(good, ctx);
    expect(parseConfigText(dumpConfigYaml(cfg), ctx)).toEqual(cfg);
  });

  it('any-port services: "VIP:*", backends without a port, beside services on single ports', () => {
    const input = {
      interfaces: ['eth0'],
      snat: { addresses: ['198.18.0.2'] },
      services: [
        { vip: '198.18.0.10:*', forward: 'dsr', backends: ['198.18.0.11', '198.18.0.12:*'], health: { port: 22 } },
        { vip: '198.18.0.10:80', forward: 'dsr', backends: ['198.18.0.13'] },
        { vip: '[2001:db8::10]:*', protocol: 'udp', forward: 'nat', backends: ['2001:db8::11'] },
        { vip: '198.18.0.20:*', forward: 'nat', backends: ['198.18.0.21'] },
      ],
    };
    const cfg = resolveConfig({ ...input, snat: { addresses: ['198.18.0.2', '2001:db8::2'] } }, ctx);
    const [all, web, udp6, nat] = cfg.services;
    expect([all!.name, all!.port]).toEqual(['198.18.0.10:*/tcp', 0]);
    expect(all!.backends.map((b) => [b.key, b.port])).toEqual([
      ['198.18.0.11:*', 0],
      ['198.18.0.12:*', 0],
    ]);
    expect(web!.port).toBe(80);
    expect([udp6!.name, udp6!.backends[0]!.key]).toEqual(['[2001:db8::10]:*/udp', '[2001:db8::11]:*']);
    expect(nat!.backends[0]!.port).toBe(0);
    expect(parseConfigText(dumpConfigYaml(cfg), ctx)).toEqual(cfg);
  });

  it("gue: either family (the outer header takes the backend's), the port from limits.guePort", () => {
    const cfg = resolveConfig(
      {
        interfaces: ['eth0'],
        limits: { guePort: 9886 },
        services: [
          { vip: '198.18.0.10:80', forward: 'gue', backends: ['198.18.0.11'] },
          { vip: '[2001:db8::10]:80', forward: 'gue', backends: ['[2001:db8::11]'] },
        ],
      },
      ctx,
    );
    expect(cfg.services.map((s) => s.forward)).toEqual(['gue', 'gue']);
    expect(cfg.limits.guePort).toBe(9886);
    expect(
      resolveConfig({ interfaces: ['eth0'], services: [{ vip: '198.18.0.10:80', forward: 'gue', backends: ['198.18.0.11'] }] }, ctx).limits
        .guePort,
    ).toBe(6080);
    expect(
      problems({
        interfaces: ['eth0'],
        limits: { guePort: 0 },
        services: [{ vip: '198.18.0.10:80', forward: 'gue', backends: ['198.18.0.11'] }],
      }).join('\n'),
    ).toMatch(/^limits.guePort/);
  });

  it('accepts IPv6 endpoints in brackets', () => {
    const cfg = resolveConfig(
      { interfaces: ['eth0'], services: [{ vip: '[2001:DB8::10]:443', forward: 'dsr', backends: ['[2001:db8:0::11]:443'] }] },
      ctx,
    );
    expect(cfg.services[0]!.vip.text).toBe('2001:db8::10');
    expect(cfg.services[0]!.backends[0]!.key).toBe('[2001:db8::11]:443');
  });

  it.each([
    [{ ...good, bogus: 1 }, /^\(root\)  unknown key\(s\) "bogus"/],
    [{ ...good, interfaces: [] }, /^interfaces  at least one interface/],
    [{ ...good, interfaces: ['eth9'] }, /^interfaces.0  no interface named "eth9"/],
    [{ ...good, interfaces: ['eth0:turbo'] }, /^interfaces.0  unknown XDP mode "turbo"/],
    [{ ...good, interfaces: ['eth0:offload'] }, /^interfaces.0  offload \(hw\) mode is not supported: .*use native$/],
    [{ ...good, interfaces: [{ name: 'eth0', mode: 'offload' }] }, /^interfaces.0  offload \(hw\) mode is not supported/],
    [{ ...good, strategy: 'fastest' }, /^strategy  unknown strategy "fastest" \(one of hash/],
    [{ ...good, services: [{ vip: '198.18.0.10', backends: ['198.18.0.11'] }] }, /^services.0.vip  "198.18.0.10" needs a port/],
    [{ ...good, services: [{ vip: '198.18.0.10:65536', backends: ['198.18.0.11'] }] }, /^services.0.vip  port "65536"/],
    [
      { ...good, services: [{ vip: '198.18.0.10:0', backends: ['198.18.0.11'] }] },
      /^services.0.vip  port 0 in "198.18.0.10:0" is not a port; for every port write 198.18.0.10:\*$/,
    ],
    [
      { ...good, services: [{ vip: '198.18.0.10:*', backends: ['198.18.0.11:8080'] }] },
      /^services.0.backends.0  service 198.18.0.10:\* serves every port and its flows keep theirs: write backend 198.18.0.11 without a port$/,
    ],
    [
      { ...good, services: [{ vip: '198.18.0.10:80', backends: ['198.18.0.11:*'] }] },
      /^services.0.backends.0  backend port "\*" is for services on every port/,
    ],
    [
      { ...good, services: [{ vip: '198.18.0.10:*', forward: 'dsr', backends: ['198.18.0.11'], health: {} }] },
      /^services.0.health.port  a service on every port has no backend port to check: set health.port$/,
    ],
    [
      {
        ...good,
        services: [
          { vip: '198.18.0.10:*', backends: ['198.18.0.11'] },
          { vip: '198.18.0.10:*', backends: ['198.18.0.12'] },
        ],
      },
      /^services.1  service 198.18.0.10:\*\/tcp is defined twice/,
    ],
    [{ ...good, services: [{ vip: 'web:80', backends: ['198.18.0.11'] }] }, /^services.0.vip  "web:80" is not an IP address/],
    [{ ...good, services: [{ vip: '198.18.0.10:80', backends: [] }] }, /^services.0.backends  a service needs at least one backend/],
    [{ ...good, services: [{ vip: '198.18.0.10:80', backends: ['198.18.0.11@0'] }] }, /^services.0.backends.0  weight "0"/],
    [
      { ...good, services: [{ vip: '198.18.0.10:80', backends: [{ address: '198.18.0.11', weight: -2 }] }] },
      /^services.0.backends.0.weight/,
    ],
    [{ ...good, services: [{ vip: '198.18.0.10:80', backends: ['2001:db8::1'] }] }, /is IPv6 but the VIP 198.18.0.10 is IPv4/],
    [
      { ...good, services: [{ vip: '198.18.0.10:80', backends: ['198.18.0.11', '198.18.0.11:80'] }] },
      /backend 198.18.0.11:80 is listed twice/,
    ],
    [
      { ...good, services: [{ vip: '198.18.0.10:80', forward: 'dsr', backends: ['198.18.0.11:8080'] }] },
      /dsr forwarding cannot change the port/,
    ],
    [{ ...good, snat: undefined }, /^services.0.forward  forward "nat" needs a "snat" section/],
    [
      { ...good, services: [{ vip: '198.18.0.10:80', forward: 'ipip', backends: ['198.18.0.11:8080'] }] },
      /ipip forwarding cannot change the port/,
    ],
    [
      { ...good, services: [{ vip: '[2001:db8::10]:80', forward: 'ipip', backends: ['[2001:db8::11]'] }] },
      /forward "ipip" needs IPv4 backends/,
    ],
    [
      { ...good, services: [{ vip: '198.18.0.10:80', forward: 'ip6ip6', backends: ['198.18.0.11'] }] },
      /forward "ip6ip6" needs IPv6 backends/,
    ],
    [{ ...good, services: [good.services[0], good.services[0]] }, /^services.1  service 198.18.0.10:80\/tcp is defined twice/],
    [
      { ...good, services: [{ vip: '198.18.0.10:80', options: { tableSize: 'big' }, backends: ['198.18.0.11'] }] },
      /^services.0.options.tableSize/,
    ],
    [{ ...good, snat: { addresses: ['198.18.0.2'], ports: '30000-20000' } }, /^snat.ports  port range/],
    [{ ...good, limits: { conntrackSize: 'lots' } }, /^limits.conntrackSize/],
    [{ ...good, instance: 'Bad Name' }, /^instance  lower-case/],
  ])('rejects bad input %#', (input, expected) => {
    expect(problems(input).join('\n')).toMatch(expected);
  });

  it('the flow table: on by default on x86-64 only, 2 slots per conntrack entry unless given', () => {
    const cfg = resolveConfig(good, ctx);
    expect(cfg.limits.flowTable).toBe(process.arch === 'x64');
    expect(cfg.limits.flowTableBuckets).toBeUndefined();
    expect(flowTableBuckets(cfg.limits)).toBe(1 << 19); // conntrackSize 2^20: 2^21 slots
    expect(flowTableBuckets({ conntrackSize: 4096 })).toBe(2048);
    expect(flowTableBuckets({ conntrackSize: 3000 })).toBe(2048); // the smallest power of two >= 1500
    expect(flowTableBuckets({ conntrackSize: 1024 })).toBe(1024); // at least 1024
    expect(flowTableBuckets({ conntrackSize: 1 << 26 })).toBe(1 << 25);
    expect(flowTableBuckets({ conntrackSize: 4096, flowTableBuckets: 65536 })).toBe(65536);
    expect(resolveConfig({ ...good, limits: { flowTable: false, flowTableBuckets: 4096 } }, ctx).limits).toMatchObject({
      flowTable: false,
      flowTableBuckets: 4096,
    });
  });

  it.each([
    [3000, /^limits.flowTableBuckets  a power of two \(1024, 2048, 4096, \.\.\.\)/],
    [512, /^limits.flowTableBuckets  Too small: expected number to be >=1024/],
    [1 << 26, /^limits.flowTableBuckets  Too big: expected number to be <=33554432/],
    [1.5, /^limits.flowTableBuckets  .*expected int/],
    ['many', /^limits.flowTableBuckets  .*number/],
  ])('refuses limits.flowTableBuckets %j with one line', (n, expected) => {
    const lines = problems({ ...good, limits: { flowTableBuckets: n } });
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(expected);
  });

  it('refuses limits.flowTable on a host that is not x86-64, with one line', () => {
    const arch = Object.getOwnPropertyDescriptor(process, 'arch')!;
    Object.defineProperty(process, 'arch', { ...arch, value: 'arm64' });
    try {
      expect(problems({ ...good, limits: { flowTable: true } })).toEqual([
        "limits.flowTable  the flow table needs an x86-64 host (its lock-free bucket reads rely on x86-64's ordering of loads); this one is arm64: set limits.flowTable to false",
      ]);
      expect(resolveConfig({ ...good, limits: { flowTable: false } }, ctx).limits.flowTable).toBe(false);
    } finally {
      Object.defineProperty(process, 'arch', arch);
    }
  });

  it('reports only the missing interface when NAT has no SNAT section to default from it', () => {
    expect(problems({ ...good, interfaces: ['eth9'], snat: undefined })).toEqual(['interfaces.0  no interface named "eth9"']);
  });

  it('reports every problem at once', () => {
    const lines = problems({ ...good, interfaces: ['eth9'], strategy: 'nope' });
    expect(lines).toHaveLength(2);
  });

  it('rejects YAML syntax errors with one line', () => {
    expect(() => parseConfigText('services: [', ctx)).toThrow(/not valid YAML/);
  });
});
