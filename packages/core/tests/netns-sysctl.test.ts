// NetnsScope's sysctls are read and written through /proc/sys on this thread inside the namespace
// (no sysctl process per knob): a throwaway namespace of this test's own, the host's values only read.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NetnsScope, sysctlPath } from '../src/dataplane/netns.js';

describe('sysctlPath', () => {
  it("takes sysctl(8)'s key syntax: dots separate, a slash is a dot inside a name", () => {
    expect(sysctlPath('net.ipv4.conf.eth0.forwarding')).toBe('/proc/sys/net/ipv4/conf/eth0/forwarding');
    expect(sysctlPath('net.ipv4.conf.eth0/100.forwarding')).toBe('/proc/sys/net/ipv4/conf/eth0.100/forwarding');
  });
});

describe('NetnsScope sysctls in a namespace', () => {
  const name = `xlbc${process.pid}-${randomBytes(3).toString('hex')}`;
  const ns = new NetnsScope(name);
  const host = () => readFileSync('/proc/sys/net/ipv4/conf/lo/forwarding', 'utf8').trim();
  beforeAll(() => {
    execFileSync('ip', ['netns', 'add', name]);
    execFileSync('ip', ['-n', name, 'link', 'add', 'eth0.100', 'type', 'veth', 'peer', 'name', 'peer0']);
  });
  afterAll(() => {
    execFileSync('ip', ['netns', 'del', name]);
  });

  it("writes and reads the namespace's value, not the host's", () => {
    const before = host();
    const want = before === '1' ? '0' : '1';
    ns.sysctlWrite('net.ipv4.conf.lo.forwarding', want);
    expect(ns.sysctlRead('net.ipv4.conf.lo.forwarding')).toBe(want);
    expect(host()).toBe(before);
    expect(execFileSync('ip', ['netns', 'exec', name, 'sysctl', '-n', 'net.ipv4.conf.lo.forwarding'], { encoding: 'utf8' }).trim()).toBe(
      want,
    );
  });

  it('reaches an interface whose name has a dot', () => {
    ns.sysctlWrite('net.ipv4.conf.eth0/100.forwarding', '1');
    expect(ns.sysctlRead('net.ipv4.conf.eth0/100.forwarding')).toBe('1');
  });

  it('reads a missing knob as undefined; a failed write says which knob', () => {
    expect(ns.sysctlRead('net.ipv4.conf.nosuch0.forwarding')).toBeUndefined();
    expect(() => ns.sysctlWrite('net.ipv4.conf.nosuch0.forwarding', '1')).toThrow(/^sysctl net\.ipv4\.conf\.nosuch0\.forwarding=1: /);
    expect(new NetnsScope(`${name}-gone`).sysctlRead('net.ipv4.ip_forward')).toBeUndefined();
  });
});
