// The agent's /metrics against traffic we count ourselves: 40 HTTP connections to a NAT TCP
// service and 30 UDP requests (each from its own source port) to a NAT UDP service, from one
// client of the lab. The UDP numbers are exact to the byte (request frame 14 + 20 + 8 + 4 bytes,
// reply 14 + 20 + 8 + 5: both directions of a NAT flow are charged to its service); the TCP ones are
// exact in flows and consistent across services, backends and reasons. Also /healthz, the other
// families (mode, build, health, conntrack) and the HTTP surface (404, 405, loopback).
import { describe, expect, it } from 'vitest';
import { httpGet, type Lab, tutorialAddresses, tutorialTopology, udpRequests, xdpPassObjectPath } from '@xdp-lb/netlab';
import { metric, type TestAgent, useAgentEnv, waitFor } from './support.js';

const env = useAgentEnv();
const addr = tutorialAddresses({ clients: 1, backends: 2 });
const HTTP = 40;
const UDP = 30;

describe('metrics match the traffic sent', () => {
  let lab: Lab;
  let t: TestAgent;
  const instance = env.instance('metrics');

  it('counts flows, packets and bytes per service, backend and reason', async () => {
    lab = await env.lab(tutorialTopology({ clients: 1, backends: 2, udpEcho: true }));
    const file = env.writeConfig('metrics', {
      instance,
      interfaces: ['eth0'],
      limits: { conntrackSize: 16384 },
      snat: { addresses: [addr.lb] },
      services: [
        {
          name: 'web',
          vip: `${addr.vip}:80`,
          options: { tableSize: 1009 },
          backends: addr.backends,
          health: { type: 'tcp', intervalMs: 500, timeoutMs: 300 },
        },
        {
          name: 'echo',
          vip: `${addr.vip}:7000`,
          protocol: 'udp',
          options: { tableSize: 1009 },
          backends: addr.backends.map((b) => `${b}:7000`),
        },
      ],
    });
    // A resync every second: it must find nothing to repair (and say nothing) until test 3 breaks something.
    t = await env.startAgent(lab, file, { resyncMs: 1000 });
    await waitFor('first health checks', () => t.agent.status().health.every((h) => h.checked), 5000);
    const m0 = await t.scrape();

    const client = lab.host('client1');
    for (let i = 0; i < HTTP; i++) expect((await httpGet(client, `http://${addr.vip}/`)).status).toBe(200);
    const replies = await udpRequests(client, { address: addr.vip, port: 7000, count: UDP, payload: 'ping' });
    expect(replies.filter((r) => r.ok).length).toBe(UDP);
    await t.agent.countConntrack();
    const m1 = await t.scrape();
    const d = (name: string, labels: Record<string, string> = {}) => (metric(m1, name, labels) ?? 0) - (metric(m0, name, labels) ?? 0);
    const svc = (name: string) => ({
      forward: d('xdp_lb_packets_total', { service: name, action: 'forward' }),
      drop: d('xdp_lb_packets_total', { service: name, action: 'drop' }),
      bytes: d('xdp_lb_bytes_total', { service: name }),
      flows: d('xdp_lb_new_flows_total', { service: name }),
    });
    const backends = (name: string, port: number, family: string) =>
      addr.backends.map((b) => d(family, { service: name, backend: `${b}:${port}` })).reduce((a, b) => a + b, 0);

    const echo = svc('echo');
    expect(echo).toEqual({ forward: 2 * UDP, drop: 0, bytes: UDP * (14 + 20 + 8 + 4) + UDP * (14 + 20 + 8 + 5), flows: UDP });
    expect(backends('echo', 7000, 'xdp_lb_backend_packets_total')).toBe(2 * UDP);
    expect(backends('echo', 7000, 'xdp_lb_backend_bytes_total')).toBe(echo.bytes);
    expect(backends('echo', 7000, 'xdp_lb_backend_new_flows_total')).toBe(UDP);

    const web = svc('web');
    expect(web.flows).toBe(HTTP);
    expect(web.drop).toBe(0);
    // SYN, ACK, request, ACK(s), FIN, ACK each way: at least 8 packets a connection, both directions.
    expect(web.forward).toBeGreaterThanOrEqual(HTTP * 8);
    expect(backends('web', 80, 'xdp_lb_backend_new_flows_total')).toBe(HTTP);
    expect(backends('web', 80, 'xdp_lb_backend_packets_total')).toBe(web.forward);
    expect(backends('web', 80, 'xdp_lb_backend_bytes_total')).toBe(web.bytes);
    // Every forwarded packet left by XDP_TX (one interface); every new flow is one ct_new.
    expect(d('xdp_lb_reasons_total', { reason: 'tx' })).toBe(web.forward + echo.forward);
    expect(d('xdp_lb_reasons_total', { reason: 'ct_new' })).toBe(HTTP + UDP);
    expect(d('xdp_lb_reasons_total', { reason: 'redirect' })).toBe(0);
    for (const r of ['drop_no_backend', 'drop_no_neigh', 'drop_no_route', 'drop_error', 'drop_snat_exhausted', 'drop_snat_stale'])
      expect(d('xdp_lb_reasons_total', { reason: r }), r).toBe(0);

    // Conntrack: the background count equals a full walk (no traffic in between); the table size.
    expect(metric(m1, 'xdp_lb_conntrack_entries')).toBe(env.lb().status(instance).conntrack.entries);
    expect(metric(m1, 'xdp_lb_conntrack_entries')).toBeGreaterThanOrEqual(HTTP + UDP);
    expect(metric(m1, 'xdp_lb_conntrack_max_entries')).toBe(16384);
    expect(metric(m1, 'xdp_lb_conntrack_entries_age_seconds')).toBeLessThan(2);
    // Half-open flows and SNAT ports, counted in the same background walk: every HTTP connection
    // completed its handshake (none half-open now); each holds one SNAT port of its backend (closed
    // by FIN: its lease stays until the port is reused, TIME_WAIT-safe).
    expect(metric(m1, 'xdp_lb_half_open_entries')).toBe(env.lb().status(instance).halfOpen.entries);
    expect(metric(m1, 'xdp_lb_half_open_max_entries')).toBe(2048); // conntrackSize / 8
    const ports = (state: string) =>
      addr.backends.map((b) => metric(m1, 'xdp_lb_snat_ports', { backend: `${b}:80`, state }) ?? 0).reduce((x, y) => x + y, 0);
    expect(ports('established') + ports('held')).toBe(HTTP);
    expect(ports('half_open')).toBe(0);

    for (const b of addr.backends) {
      expect(metric(m1, 'xdp_lb_backend_up', { service: 'web', backend: `${b}:80` })).toBe(1);
      expect(metric(m1, 'xdp_lb_backend_in_rotation', { service: 'web', backend: `${b}:80` })).toBe(1);
      expect(metric(m1, 'xdp_lb_backend_up', { service: 'echo', backend: `${b}:7000` }), 'not checked: up').toBe(1);
      expect(metric(m1, 'xdp_lb_health_checks_total', { service: 'web', backend: `${b}:80`, result: 'ok' })).toBeGreaterThan(0);
      expect(metric(m1, 'xdp_lb_health_checks_total', { service: 'web', backend: `${b}:80`, result: 'fail' })).toBe(0);
    }
    expect(metric(m1, 'xdp_lb_xdp_mode_info', { iface: 'eth0', mode: 'native', requested: 'native' })).toBe(1);
    const build = [...m1.keys()].find((k) => k.startsWith('xdp_lb_build_info{'));
    expect(build).toMatch(new RegExp(`strategy="hash",layout="\\d+",lb_instance="${instance}",node="v\\d+`));
    expect(metric(m1, 'xdp_lb_agent_reloads_total', { result: 'ok' })).toBe(1);
    expect(metric(m1, 'xdp_lb_agent_last_reload_successful')).toBe(1);
  });

  it('serves /healthz, refuses other paths and methods, listens on loopback only', async () => {
    const hz = await t.get('/healthz');
    expect(hz.status).toBe(200);
    expect(JSON.parse(hz.body)).toMatchObject({
      status: 'ok',
      instance,
      deployed: true,
      interfaces: [{ name: 'eth0', attached: true }],
      down: [],
    });
    expect((await t.get('/nope')).status).toBe(404);
    expect((await fetch(`${t.metricsUrl}/metrics`, { method: 'POST' })).status).toBe(405);
    const text = (await t.get('/metrics')).body;
    expect(text).toMatch(/^# HELP xdp_lb_packets_total .+\n# TYPE xdp_lb_packets_total counter$/m);
    expect(t.agent.status().metrics?.host).toBe('127.0.0.1');
  });

  it('/healthz turns 503 when the program is detached behind the agent; the resync attaches it again', async () => {
    const lb = env.lb();
    const state = lb.status(instance);
    // Detach by hand (what a careless `ip link set dev eth0 xdp off` cannot do to a link, but an
    // operator with bpftool can): the agent must notice.
    const { BpfLink } = await import('@xdp-lb/native');
    const link = BpfLink.fromPinned(`${env.bpffs}/${instance}/links/eth0`);
    link.detach();
    link.dispose();
    expect(state.interfaces[0]!.attached).toBe(true);
    const hz = await t.get('/healthz');
    expect(hz.status).toBe(503);
    expect(JSON.parse(hz.body)).toMatchObject({ status: 'unavailable', interfaces: [{ name: 'eth0', attached: false }] });
    expect(metric(await t.scrape(), 'xdp_lb_xdp_mode_info', { iface: 'eth0', mode: 'native', requested: 'native' })).toBe(0);
    await waitFor('the resync to attach again', async () => (await t.get('/healthz')).status === 200, 5000, 100);
    expect(t.logs.find((l) => l.msg.startsWith('the data plane is not what was applied'))).toMatchObject({
      because: 'XDP link gone on eth0',
    });
    expect(lb.status(instance).interfaces[0]).toMatchObject({ attached: true });
    expect((await httpGet(lab.host('client1'), `http://${addr.vip}/`)).status).toBe(200);
    // Until then, the resync had found nothing to restore.
    expect(t.logs.filter((l) => /changed behind the agent/.test(l.msg))).toEqual([]);
  });

  it('an interface deleted and re-created (new ifindex): the resync attaches to it again', async () => {
    const lbHost = lab.host('lb');
    const peer = lbHost.interfaces[0]!.peer;
    await lab.switchNs.exec(['ip', 'link', 'del', peer]);
    await waitFor('/healthz to notice', async () => (await t.get('/healthz')).status === 503, 3000, 50);
    await lab.switchNs.exec(['ip', '-batch', '-'], {
      input: [
        `link add ${peer} type veth peer name eth0 netns ${lbHost.netns.name}`,
        `link set ${peer} master br0`,
        `link set ${peer} up`,
      ].join('\n'),
    });
    await lab.switchNs.exec(['ip', 'link', 'set', 'dev', peer, 'xdpdrv', 'obj', xdpPassObjectPath(), 'sec', 'xdp']);
    await lbHost.exec(['ip', '-batch', '-'], {
      input: [
        `link set dev eth0 address ${lbHost.mac}`,
        `addr add ${addr.lb}/24 dev eth0`,
        `addr add ${addr.vip}/32 dev eth0`,
        'link set dev eth0 up',
      ].join('\n'),
    });
    await lbHost.exec(['ethtool', '-K', 'eth0', 'tx', 'off']);
    await waitFor('the resync to attach to the new eth0', async () => (await t.get('/healthz')).status === 200, 8000, 100);
    expect(env.lb().status(instance).interfaces[0]).toMatchObject({ name: 'eth0', attached: true });
    await waitFor(
      'traffic through the new eth0',
      async () => (await httpGet(lab.host('client1'), `http://${addr.vip}/`).catch(() => ({ status: 0 }))).status === 200,
      5000,
      200,
    );
  });
});
