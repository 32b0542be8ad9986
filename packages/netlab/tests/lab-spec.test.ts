// Root-free checks of naming, addressing and the tutorial topology spec.
import { describe, expect, it } from 'vitest';
import { deriveMac, newRunId, parseCidr, parseNetnsName, tutorialAddresses, tutorialTopology } from '../src/index.js';
import { checkHostName, checkPrefix, peerIfName } from '../src/netns/names.js';

describe('names', () => {
  it('run ids carry the prefix, our pid and a random part, and parse back', () => {
    const id = newRunId('xlb');
    expect(id).toMatch(new RegExp(`^xlb${process.pid}-[0-9a-f]{4}$`));
    expect(parseNetnsName(`${id}-client1`, 'xlb')).toEqual({ runId: id, pid: process.pid, label: 'client1' });
    expect(parseNetnsName(`${id}-sw`, 'xlb')?.label).toBe('sw');
    expect(parseNetnsName('xlbfoo-client1', 'xlb')).toBeUndefined();
    expect(parseNetnsName(`other${process.pid}-abcd-x`, 'xlb')).toBeUndefined();
    expect(new Set(Array.from({ length: 20 }, () => newRunId())).size).toBeGreaterThan(1);
  });

  it('rejects prefixes and host names that would not parse back or fit', () => {
    expect(() => checkPrefix('xlb1')).toThrow(); // would merge with the pid
    expect(() => checkPrefix('XLB')).toThrow();
    expect(() => checkPrefix('averylongprefix')).toThrow();
    expect(() => checkPrefix('xlbt')).not.toThrow();
    expect(() => checkHostName('sw')).toThrow();
    expect(() => checkHostName('Client')).toThrow();
    expect(() => checkHostName('client-1')).toThrow();
    expect(() => checkHostName('client12')).not.toThrow();
  });

  it('bridge-side veth names fit IFNAMSIZ', () => {
    expect(peerIfName('client1', 1, 'eth0')).toBe('client1-eth0');
    expect(peerIfName('averyveryverylonghost', 17, 'eth1')).toBe('h17-eth1');
    for (let i = 0; i < 300; i++) expect(peerIfName(`host${'x'.repeat(i % 30)}`, i, 'eth0').length).toBeLessThanOrEqual(15);
  });
});

describe('addressing', () => {
  it('splits CIDRs and fills in default prefixes', () => {
    expect(parseCidr('198.18.0.2/24')).toEqual({ address: '198.18.0.2', prefixLength: 24, family: 4, cidr: '198.18.0.2/24' });
    expect(parseCidr('198.18.0.10').cidr).toBe('198.18.0.10/32');
    expect(parseCidr('2001:db8:18::2', 64).cidr).toBe('2001:db8:18::2/64');
    expect(() => parseCidr('198.18.0.2/33')).toThrow();
    expect(() => parseCidr('lb')).toThrow();
  });

  it('derives readable, locally administered MACs', () => {
    expect(deriveMac('198.18.0.2', 3, 0)).toBe('02:00:c6:12:00:02');
    expect(deriveMac(undefined, 300, 1)).toBe('02:01:00:01:01:2c');
  });
});

describe('tutorialTopology', () => {
  it('follows the addressing plan', () => {
    expect(tutorialAddresses({ clients: 2, backends: 3 })).toEqual({
      subnet: '198.18.0.0/24',
      lb: '198.18.0.2',
      vip: '198.18.0.10',
      backends: ['198.18.0.11', '198.18.0.12', '198.18.0.13'],
      clients: ['198.18.0.101', '198.18.0.102'],
    });
    const v6 = tutorialAddresses({ ipv6: true });
    expect(v6).toMatchObject({
      lb6: '2001:db8:18::2',
      vip6: '2001:db8:18::10',
      backends6: ['2001:db8:18::11', '2001:db8:18::12'],
      clients6: ['2001:db8:18::101'],
    });
  });

  it('builds the hosts: clients, lb with VIP, forwarding and xdp_pass peer, backends with HTTP', () => {
    const spec = tutorialTopology({ clients: 2, backends: 2 });
    expect(spec.hosts.map((h) => h.name)).toEqual(['client1', 'client2', 'lb', 'http1', 'http2']);
    const lb = spec.hosts.find((h) => h.name === 'lb');
    expect(lb).toMatchObject({ ipv4: ['198.18.0.2/24', '198.18.0.10/32'], forwarding: true, xdpPassPeer: true });
    expect(spec.hosts.find((h) => h.name === 'http2')).toMatchObject({ ipv4: '198.18.0.12/24', http: { port: 80 } });
    expect(spec.hosts.find((h) => h.name === 'client1')?.routes).toEqual([]);
  });

  it('has the DSR and routed-VIP options', () => {
    const spec = tutorialTopology({ vipOnLb: false, vipOnBackendsLoopback: true, clientsRouteVipVia: 'lb', ipv6: true, udpEcho: true });
    const lb = spec.hosts.find((h) => h.name === 'lb');
    expect(lb?.ipv4).toEqual(['198.18.0.2/24']);
    const http1 = spec.hosts.find((h) => h.name === 'http1');
    expect(http1?.loopback).toEqual(['198.18.0.10', '2001:db8:18::10']);
    expect(http1?.sysctls).toMatchObject({ 'net.ipv4.conf.all.arp_ignore': 1, 'net.ipv4.conf.all.arp_announce': 2 });
    expect(http1?.udpEcho).toEqual({});
    expect(spec.hosts.find((h) => h.name === 'client1')?.routes).toEqual([
      { to: '198.18.0.10/32', via: '198.18.0.2' },
      { to: '2001:db8:18::10/128', via: '2001:db8:18::2' },
    ]);
  });

  it('refuses sizes outside the plan', () => {
    expect(() => tutorialTopology({ clients: 101 })).toThrow(RangeError);
    expect(() => tutorialTopology({ backends: 0 })).toThrow(RangeError);
  });
});
