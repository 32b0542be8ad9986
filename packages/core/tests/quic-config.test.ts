// QUIC connection-id routing in the config (config/quic.ts): `quic: true` on UDP services,
// `quicServerId` on their backends, unique per service; the round trip through dump; refusals.
import { describe, expect, it } from 'vitest';
import { ctx, problems, resolveServices as resolve } from './helpers/services.js';
import { dumpConfigYaml, parseConfigText } from '../src/index.js';

describe('QUIC services', () => {
  it('quic on a UDP service, server ids on its backends; kept by dump', () => {
    const cfg = resolve([
      { vip: '198.18.0.10:443', protocol: 'udp', quic: true, backends: [{ address: '198.18.0.11', quicServerId: 258 }, '198.18.0.12'] },
    ]);
    expect(cfg.services[0]!.quic).toBe(true);
    expect(cfg.services[0]!.backends.map((b) => b.quicServerId)).toEqual([258, undefined]);
    expect(parseConfigText(dumpConfigYaml(cfg), ctx)).toEqual(cfg);
  });

  it('refuses quic on TCP, a server id outside a QUIC service, twice the same id, id 0', () => {
    expect(problems([{ vip: '198.18.0.10:443', quic: true, backends: ['198.18.0.11'] }])).toEqual([
      'services.0.quic  QUIC runs over UDP: quic needs protocol: udp',
    ]);
    expect(problems([{ vip: '198.18.0.10:443', protocol: 'udp', backends: [{ address: '198.18.0.11', quicServerId: 1 }] }])).toEqual([
      'services.0.backends.0.quicServerId  quicServerId is for QUIC services: set quic: true on the service',
    ]);
    expect(
      problems([
        {
          vip: '198.18.0.10:443',
          protocol: 'udp',
          quic: true,
          backends: [
            { address: '198.18.0.11', quicServerId: 7 },
            { address: '198.18.0.12', quicServerId: 7 },
          ],
        },
      ]),
    ).toEqual(["services.0.backends.1.quicServerId  server id 7 is also backend 198.18.0.11:443's: each backend needs its own"]);
    expect(
      problems([{ vip: '198.18.0.10:443', protocol: 'udp', quic: true, backends: [{ address: '198.18.0.11', quicServerId: 0 }] }])[0],
    ).toMatch(/^services.0.backends.0.quicServerId  /);
  });
});
