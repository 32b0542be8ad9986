// The agent's small parts on their own: the log formats, the Prometheus text, listen addresses and
// the file watcher.
import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Container } from 'inversify';
import {
  Agent,
  coreModule,
  createLogger,
  LoadBalancer,
  parseListenAddress,
  parseMetrics,
  renderMetrics,
  type MetricsInput,
} from '../src/index.js';
import { FileWatcher } from '../src/agent/watch.js';

const at = () => new Date('2026-01-02T03:04:05.678Z');

describe('logger', () => {
  it('writes one JSON object per line, fields flat, errors as their message', () => {
    const lines: string[] = [];
    const log = createLogger({ format: 'json', write: (l) => lines.push(l), now: at }).child({ instance: 'edge' });
    log.info('serving', { file: '/etc/xdp-lb/lb.yaml', services: 2 });
    log.error('reload failed', { error: new Error('boom'), skipped: undefined });
    log.debug('hidden');
    expect(lines.map((l) => JSON.parse(l))).toEqual([
      { time: '2026-01-02T03:04:05.678Z', level: 'info', msg: 'serving', instance: 'edge', file: '/etc/xdp-lb/lb.yaml', services: 2 },
      { time: '2026-01-02T03:04:05.678Z', level: 'error', msg: 'reload failed', instance: 'edge', error: 'boom' },
    ]);
  });

  it('writes aligned text for a terminal, quoting values with spaces', () => {
    const lines: string[] = [];
    const log = createLogger({ tty: true, level: 'debug', write: (l) => lines.push(l), now: at });
    log.warn('backend down', { backend: '198.18.0.12:80', reason: '3 failed checks in a row' });
    log.debug('x', { n: 1, list: [1, 2] });
    expect(lines).toEqual([
      '2026-01-02T03:04:05.678Z WARN  backend down backend=198.18.0.12:80 reason="3 failed checks in a row"',
      '2026-01-02T03:04:05.678Z DEBUG x n=1 list=[1,2]',
    ]);
    expect(createLogger({ tty: false, write: (l) => lines.push(l), now: at }).info('a') ?? lines.at(-1)).toMatch(/^\{"time"/);
  });
});

describe('metrics text', () => {
  const counters = (p: number, d = 0) => ({ packets: BigInt(p), bytes: BigInt(p * 100), newFlows: 3n, drops: BigInt(d) });
  const input: MetricsInput = {
    build: { version: '0.1.0', strategy: 'hash', layout: 2, instance: 'default', node: 'v20.0.0', kernel: '6.1' },
    reading: {
      instance: 'default',
      strategy: 'hash',
      interfaces: [{ name: 'eth0', ifindex: 2, requestedMode: 'native', mode: 'native', attached: true, progId: 7 }],
      services: [
        {
          name: 'we"b',
          strategy: 'hash',
          vip: '198.18.0.10:80',
          protocol: 'tcp',
          forward: 'nat',
          id: 0,
          problem: undefined,
          counters: counters(10, 2),
          backends: [
            { key: '198.18.0.11:80', id: 0, weight: 1, state: 'active', counters: counters(8, 2) },
            { key: '198.18.0.12:80', id: 1, weight: 1, state: 'draining', counters: counters(2) },
          ],
        },
      ],
      reasons: [
        { reason: 'tx', packets: 8n },
        { reason: 'reason_40', packets: 1n },
      ],
      conntrackMax: 1024,
      halfOpenMax: 1024,
      flowTableBuckets: 2048,
    },
    health: [
      {
        service: 'we"b',
        backend: '198.18.0.12:80',
        up: false,
        checked: true,
        successes: 0,
        failures: 3,
        checks: { ok: 4, fail: 3, inconclusive: 0 },
        since: 0,
      },
    ],
    inRotation: new Set(['we"b\u0000198.18.0.11:80']),
    conntrack: {
      entries: 5,
      ageSeconds: 1.5,
      halfOpen: 3,
      snatPorts: new Map([['198.18.0.11:80', { established: 4, halfOpen: 2, held: 1 }]]),
    },
    agent: { reloads: { ok: 2, error: 1 }, lastReloadOk: false, lastReloadTime: 1_700_000_000_000, startTime: 1_699_999_999_000 },
  };

  it('renders the families with HELP and TYPE, escaped labels, forward = packets - drops', () => {
    const text = renderMetrics(input);
    expect(text).toContain(
      '# TYPE xdp_lb_packets_total counter\nxdp_lb_packets_total{service="we\\"b",action="forward"} 8\nxdp_lb_packets_total{service="we\\"b",action="drop"} 2\n',
    );
    const m = parseMetrics(text);
    expect(m.get('xdp_lb_backend_up{service="we\\"b",backend="198.18.0.12:80"}')).toBe(0);
    expect(m.get('xdp_lb_backend_up{service="we\\"b",backend="198.18.0.11:80"}')).toBe(1);
    expect(m.get('xdp_lb_backend_in_rotation{service="we\\"b",backend="198.18.0.12:80"}')).toBe(0);
    expect(m.get('xdp_lb_xdp_mode_info{iface="eth0",mode="native",requested="native"}')).toBe(1);
    expect(m.get('xdp_lb_conntrack_entries')).toBe(5);
    expect(m.get('xdp_lb_service_up{service="we\\"b"}')).toBe(1);
    expect(m.get('xdp_lb_service_info{service="we\\"b",strategy="hash"}')).toBe(1);
    expect(m.get('xdp_lb_conntrack_max_entries')).toBe(1024);
    expect(m.get('xdp_lb_half_open_entries')).toBe(3);
    expect(m.get('xdp_lb_half_open_max_entries')).toBe(1024);
    expect(m.get('xdp_lb_flow_table_buckets')).toBe(2048);
    expect(m.get('xdp_lb_snat_ports{backend="198.18.0.11:80",state="established"}')).toBe(4);
    expect(m.get('xdp_lb_snat_ports{backend="198.18.0.11:80",state="half_open"}')).toBe(2);
    expect(m.get('xdp_lb_snat_ports{backend="198.18.0.11:80",state="held"}')).toBe(1);
    expect(m.get('xdp_lb_reasons_total{reason="reason_40"}')).toBe(1);
    expect(m.get('xdp_lb_health_checks_total{service="we\\"b",backend="198.18.0.12:80",result="fail"}')).toBe(3);
    expect(m.get('xdp_lb_agent_last_reload_successful')).toBe(0);
    expect(m.get('xdp_lb_build_info{version="0.1.0",strategy="hash",layout="2",lb_instance="default",node="v20.0.0",kernel="6.1"}')).toBe(
      1,
    );
    for (const line of text.trimEnd().split('\n'))
      expect(line).toMatch(/^(# (HELP|TYPE) xdp_lb_\w+ .+|xdp_lb_\w+(\{[^}]*\})? -?[\d.e+]+)$/);
  });

  it('xdp_lb_service_up is 0 for a service that cannot serve', () => {
    const down = { ...input, reading: { ...input.reading!, services: [{ ...input.reading!.services[0]!, problem: '0 slots' }] } };
    expect(parseMetrics(renderMetrics(down)).get('xdp_lb_service_up{service="we\\"b"}')).toBe(0);
  });

  it('renders an undeployed instance without data-plane families', () => {
    const m = parseMetrics(renderMetrics({ ...input, reading: undefined, conntrack: { entries: undefined, ageSeconds: undefined } }));
    expect([...m.keys()].some((k) => k.startsWith('xdp_lb_packets_total'))).toBe(false);
    expect(m.has('xdp_lb_conntrack_entries')).toBe(false);
    expect(m.has('xdp_lb_half_open_entries')).toBe(false);
    expect(m.get('xdp_lb_agent_reloads_total{result="ok"}')).toBe(2);
  });
});

describe('listen addresses', () => {
  it('defaults to loopback, takes IPv4, IPv6 and off', () => {
    expect(parseListenAddress('9300')).toEqual({ host: '127.0.0.1', port: 9300 });
    expect(parseListenAddress('127.0.0.1:9201')).toEqual({ host: '127.0.0.1', port: 9201 });
    expect(parseListenAddress('[::1]:9201')).toEqual({ host: '::1', port: 9201 });
    expect(parseListenAddress('0.0.0.0:9201')).toEqual({ host: '0.0.0.0', port: 9201 });
    expect(parseListenAddress('off')).toBeNull();
    expect(() => parseListenAddress('localhost:9201')).toThrow(/"localhost" .* is not an IP address/);
    expect(() => parseListenAddress('127.0.0.1:70000')).toThrow(/port "70000"/);
    expect(() => parseListenAddress('metrics')).toThrow(/not a listen address/);
  });
});

describe('file watcher', () => {
  const dir = mkdtempSync(join(tmpdir(), 'xlb-agent-watch-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('notices in-place writes and replacements by rename, debounced', async () => {
    const file = join(dir, 'lb.yaml');
    writeFileSync(file, 'a: 1\n');
    let fired = 0;
    const w = new FileWatcher(file, () => fired++, { debounceMs: 50, pollMs: 200 });
    // Waits (up to 5 s: a loaded machine may deliver the event late) until the watcher has fired
    // `n` times, then a quiet period (debounce + two polls) in which it must not fire again.
    const firedExactly = async (n: number) => {
      const end = Date.now() + 5000;
      while (fired < n && Date.now() < end) await new Promise((r) => setTimeout(r, 10));
      await new Promise((r) => setTimeout(r, 50 + 2 * 200));
      expect(fired).toBe(n);
    };
    w.start();
    try {
      writeFileSync(file, 'a: 2\n');
      writeFileSync(file, 'a: 3\n');
      await firedExactly(1);
      writeFileSync(join(dir, 'new.tmp'), 'a: 4\n');
      renameSync(join(dir, 'new.tmp'), file);
      await firedExactly(2);
      writeFileSync(join(dir, 'other.yaml'), 'x');
      await firedExactly(2);
    } finally {
      w.stop();
    }
  });
});

describe('composition', () => {
  it("coreModule gives a new Agent per request, driving the container's LoadBalancer", () => {
    const c = new Container();
    c.load(coreModule);
    const a = c.get(Agent);
    expect(a).toBeInstanceOf(Agent);
    expect(c.get(Agent)).not.toBe(a);
    expect((a as unknown as { lb: LoadBalancer }).lb).toBe(c.get(LoadBalancer));
  });
});
