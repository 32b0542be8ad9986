// Mixed-family tunnels (issue 20): the tunnels carry an IPv4 VIP's packets to IPv6 backends (4in6:
// ip6ip6, gue) and an IPv6 VIP's to IPv4 backends (6in4: ipip, gue); nat and dsr keep the family,
// and the refusal says which modes would carry it.
import { describe, expect, it } from 'vitest';
import { problems, resolveServices as resolve } from './helpers/services.js';

describe('mixed-family tunnels', () => {
  it('4in6 over ip6ip6 and gue, 6in4 over ipip and gue', () => {
    const cfg = resolve([
      { vip: '198.18.0.10:80', forward: 'ip6ip6', backends: ['[2001:db8::11]'] },
      { vip: '198.18.0.10:81', forward: 'gue', backends: ['[2001:db8::11]', '198.18.0.11'] },
      { vip: '[2001:db8::10]:80', forward: 'ipip', backends: ['198.18.0.11'] },
      { vip: '[2001:db8::10]:81', forward: 'gue', backends: ['198.18.0.11'] },
    ]);
    expect(cfg.services.map((s) => s.backends.map((b) => b.key))).toEqual([
      ['[2001:db8::11]:80'],
      ['[2001:db8::11]:81', '198.18.0.11:81'],
      ['198.18.0.11:80'],
      ['198.18.0.11:81'],
    ]);
  });

  it('nat and dsr keep the family; the tunnel still needs its own family of backend', () => {
    expect(problems([{ vip: '198.18.0.10:80', forward: 'dsr', backends: ['[2001:db8::11]'] }])).toEqual([
      'services.0.backends.0  backend [2001:db8::11]:80 is IPv6 but the VIP 198.18.0.10 is IPv4: dsr keeps the family; a tunnel carries one in the other (forward ip6ip6 or gue)',
    ]);
    expect(problems([{ vip: '[2001:db8::10]:80', forward: 'nat', backends: ['198.18.0.11'] }])[0]).toMatch(
      /is IPv4 but the VIP 2001:db8::10 is IPv6: nat keeps the family; a tunnel carries one in the other \(forward ipip or gue\)$/,
    );
    expect(problems([{ vip: '198.18.0.10:80', forward: 'ipip', backends: ['[2001:db8::11]'] }])).toEqual([
      'services.0.backends.0  forward "ipip" needs IPv4 backends; [2001:db8::11]:80 is IPv6',
    ]);
  });
});
