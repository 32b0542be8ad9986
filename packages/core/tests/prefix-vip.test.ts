// Prefix VIPs (config/prefix.ts, config/vip-plan.ts): the syntax, its refusals, the round trip
// through dump, and what the data plane's maps must hold: expanded keys owned by the longest
// prefix, large prefixes in the tries with the roles of every prefix around them.
import { describe, expect, it } from 'vitest';
import { ctx, problems, resolveServices as resolve } from './helpers/services.js';
import { dumpConfigYaml, parseConfigText, parseVip, splitProtocol, type ServiceConfig, vipPrefixes } from '../src/index.js';
import { needsVipNets } from '../src/config/prefix.js';
import { planVips } from '../src/config/vip-plan.js';
import { allocate } from '../src/state/allocation.js';
import { loadTimeChanges } from '../src/lifecycle/load-time.js';

describe('prefix VIP syntax', () => {
  it('parses IPv4 and IPv6 prefixes with a port or *; a full-length prefix is one address', () => {
    expect(parseVip('198.18.10.0/28:80')).toMatchObject({ address: { text: '198.18.10.0' }, prefix: 28, port: 80 });
    expect(parseVip('198.18.10.0/24:*')).toMatchObject({ prefix: 24, port: 0 });
    expect(parseVip('[2001:DB8:10::/120]:443')).toMatchObject({ address: { text: '2001:db8:10::', family: 6 }, prefix: 120, port: 443 });
    expect(parseVip('198.18.10.7/32:80')).toMatchObject({ address: { text: '198.18.10.7' }, prefix: undefined });
    expect(parseVip('198.18.10.7:80').prefix).toBeUndefined();
  });

  it('refuses host bits, lengths out of range, and says why', () => {
    expect(() => parseVip('198.18.10.5/28:80')).toThrow('"198.18.10.5/28:80" has host bits set: the prefix is 198.18.10.0/28');
    expect(() => parseVip('198.18.10.0/33:80')).toThrow('longer than an IPv4 address (/32)');
    expect(() => parseVip('198.0.0.0/7:80')).toThrow('prefix /7 in "198.0.0.0/7:80" is too large for a VIP (IPv4: /8 or longer)');
    expect(() => parseVip('[2001:db8::/16]:80')).toThrow('(IPv6: /32 or longer)');
  });

  it('a trailing /tcp or /udp is the protocol, a /len before the port is the prefix', () => {
    expect(splitProtocol('198.18.10.0/28:80/udp')).toEqual({ vip: '198.18.10.0/28:80', protocol: 'udp' });
    expect(splitProtocol('198.18.10.0/28:80')).toEqual({ vip: '198.18.10.0/28:80', protocol: undefined });
    expect(splitProtocol('[2001:db8::/120]:*/tcp')).toEqual({ vip: '[2001:db8::/120]:*', protocol: 'tcp' });
  });

  it('config: default names, round trip through dump, refusals with their path', () => {
    const cfg = resolve([
      { vip: '198.18.10.0/28:80', forward: 'dsr', backends: ['198.18.0.11'] },
      { vip: '[2001:db8:10::/64]:*', protocol: 'udp', forward: 'gue', backends: ['2001:db8::11'] },
    ]);
    expect(cfg.services.map((s) => s.name)).toEqual(['198.18.10.0/28:80/tcp', '[2001:db8:10::/64]:*/udp']);
    expect(cfg.services[0]!.prefix).toBe(28);
    expect(vipPrefixes(cfg), 'announced as prefixes').toEqual(['198.18.10.0/28', '2001:db8:10::/64']);
    expect(parseConfigText(dumpConfigYaml(cfg), ctx)).toEqual(cfg);
    expect(problems([{ vip: '198.18.10.1/28:80', backends: ['198.18.0.11'] }])).toEqual([
      'services.0.vip  "198.18.10.1/28:80" has host bits set: the prefix is 198.18.10.0/28',
    ]);
    expect(problems([{ vip: '224.0.0.0/8:80', backends: ['198.18.0.11'] }])[0]).toMatch(
      /^services.0.vip  224.0.0.0 is a multicast address/,
    );
    expect(
      problems([
        { vip: '198.18.10.0/28:80', backends: ['198.18.0.11'] },
        { vip: '198.18.10.0/28:80', backends: ['198.18.0.12'] },
      ]),
    ).toEqual(['services.1  service 198.18.10.0/28:80/tcp is defined twice (also services.0)']);
  });

  it('refuses VIPs that would not fit the data plane, saying what takes the room', () => {
    // 40 /28s x 16 addresses = 640 service keys > 512
    const many = Array.from({ length: 40 }, (_, i) => ({ vip: `198.18.${100 + i}.0/28:80`, forward: 'dsr', backends: ['198.18.0.11'] }));
    const cap = { maxServices: 100, maxBackends: 100, vip: { serviceKeys: 512, addresses: 1024, nets: 256 } };
    expect(() => allocate(undefined, resolve(many), cap)).toThrow(
      'the services need 640 service keys, the data plane holds 512 (prefix VIPs of up to 16 addresses take one per address)',
    );
    expect(Object.keys(allocate(undefined, resolve(many.slice(0, 32)), cap).services), '32 x 16 = 512 keys fit').toHaveLength(32);
  });
});

describe('what the maps hold (planVips)', () => {
  const svc = (vip: string, protocol: 'tcp' | 'udp' = 'tcp') => {
    const v = parseVip(vip);
    return { name: vip, vip: v.address, ...(v.prefix !== undefined ? { prefix: v.prefix } : {}), port: v.port!, protocol } as ServiceConfig;
  };

  it('small prefixes are expanded; each key belongs to the longest prefix covering it', () => {
    const plan = planVips([svc('198.18.10.0/28:80'), svc('198.18.10.4/30:80'), svc('198.18.10.5:80'), svc('198.18.10.0/28:443')]);
    const owner = (ip: string, port = 80) => plan.exact.get(`${ip}|${port}|tcp`)?.owner;
    expect(plan.exact.size).toBe(32);
    expect(owner('198.18.10.0')).toBe('198.18.10.0/28:80/tcp');
    expect(owner('198.18.10.4')).toBe('198.18.10.4/30:80/tcp');
    expect(owner('198.18.10.5')).toBe('198.18.10.5:80/tcp');
    expect(owner('198.18.10.5', 443)).toBe('198.18.10.0/28:443/tcp');
    expect(plan.nets.size).toBe(0);
    expect(plan.addrs.size).toBe(16);
    expect(plan.addrs.get('198.18.10.15')!.roles).toEqual({ vip: true, snat: false, anyPort: false, net: false, ft: true });
  });

  it('large prefixes go to the tries; nested ones and the exact addresses inside carry their roles', () => {
    const plan = planVips([svc('198.18.20.0/24:*'), svc('198.18.20.128/25:80'), svc('198.18.20.9:80')], [parseVip('198.18.20.1').address]);
    expect([...plan.nets.keys()]).toEqual(['198.18.20.0/24:*/tcp', '198.18.20.128/25:80/tcp']);
    expect(plan.vipNets.get('198.18.20.128/25')!.roles).toEqual({ vip: true, snat: false, anyPort: true, net: true, ft: true });
    expect(plan.addrs.get('198.18.20.9')!.roles).toEqual({ vip: true, snat: false, anyPort: true, net: true, ft: true });
    expect(plan.addrs.get('198.18.20.1')!.roles).toEqual({ vip: true, snat: true, anyPort: true, net: true, ft: true });
  });

  it('an address whose services are all nat is not flagged for the flow table; one dsr service flags it', () => {
    const nat = { ...svc('198.18.30.1:443'), forward: 'nat' } as ServiceConfig;
    const dsr = { ...svc('198.18.30.1:80'), forward: 'dsr' } as ServiceConfig;
    expect(planVips([nat]).addrs.get('198.18.30.1')!.roles.ft).toBe(false);
    expect(planVips([nat, dsr]).addrs.get('198.18.30.1')!.roles.ft).toBe(true);
    const natNet = { ...svc('198.18.40.0/24:*'), forward: 'nat' } as ServiceConfig;
    expect(planVips([natNet, { ...svc('198.18.40.7:80'), forward: 'nat' } as ServiceConfig]).addrs.get('198.18.40.7')!.roles.ft).toBe(
      false,
    );
    expect(
      planVips([{ ...natNet, forward: 'gue' } as ServiceConfig, { ...svc('198.18.40.7:80'), forward: 'nat' } as ServiceConfig]).addrs.get(
        '198.18.40.7',
      )!.roles.ft,
    ).toBe(true);
  });

  it('a large prefix turns the data plane knob on: a load-time change', () => {
    const small = resolve([{ vip: '198.18.10.0/28:80', forward: 'dsr', backends: ['198.18.0.11'] }]);
    const large = resolve([{ vip: '198.18.10.0/27:80', forward: 'dsr', backends: ['198.18.0.11'] }]);
    expect([needsVipNets(small), needsVipNets(large)]).toEqual([false, true]);
    expect(loadTimeChanges(small, large)).toEqual([
      "services (a prefix VIP of more than 16 addresses turns the data plane's prefix lookup on)",
    ]);
  });
});
