// A flood of new flows while a long connection is open, with the agent running the LB from a file
// that sets the SYN-flood guard (limits.newFlowsPerSec) and a small conntrack table (4096): 20,000
// spoofed SYNs from many source addresses and ports (198.19.0.0/16, paced so that the veth rings
// ahead of XDP do not overflow; netlab's bounded synFlood). The long connection idles
// through the flood and is answered afterwards on the same TCP connection; the agent's metrics
// show what happened:
//   - nat: the flood's new flows beyond the rate are refused (drop_flood), the connection's
//     conntrack entry is never evicted;
//   - dsr with the hash strategy: the flood is forwarded by hash without conntrack entries
//     (flood_stateless), so it cannot evict anything either.
// Since layout 4 a flood cannot evict it without the guard either (new flows start in the half-open
// table: bpf/lib/halfopen.h, bpf/tests/flood.e2e.test.ts); the guard bounds the flood's cost.
import { describe, expect, it } from 'vitest';
import { type KeepAliveClient, type Lab, openKeepAlive, synFlood, tutorialAddresses, tutorialTopology } from '@xdp-lb/netlab';
import { metric, type TestAgent, useAgentEnv } from './support.js';

const env = useAgentEnv();
const addr = tutorialAddresses({ clients: 1, backends: 2 });
const FLOOD = 20_000;

describe.each([
  ['nat', 'drop_flood'],
  ['dsr', 'flood_stateless'],
] as const)('a SYN flood with a long connection open (%s, hash, conntrack 4096)', (forward, floodReason) => {
  let lab: Lab;
  let t: TestAgent;
  let ka: KeepAliveClient;
  const instance = env.instance(`flood-${forward}`);

  it('the long connection survives; the metrics show the flood', async () => {
    lab = await env.lab(tutorialTopology({ clients: 1, backends: 2, vipOnBackendsLoopback: forward === 'dsr' }));
    const file = env.writeConfig(`flood-${forward}`, {
      instance,
      strategy: 'hash',
      interfaces: ['eth0'],
      limits: { conntrackSize: 4096, newFlowsPerSec: 300 },
      ...(forward === 'nat' ? { snat: { addresses: [addr.lb] } } : {}),
      services: [
        {
          name: 'web',
          vip: `${addr.vip}:80`,
          forward,
          options: { tableSize: 1009 },
          backends: addr.backends,
          health: { type: 'tcp', intervalMs: 1000, timeoutMs: 500 },
        },
      ],
    });
    t = await env.startAgent(lab, file);
    ka = await openKeepAlive(lab.host('client1'), { address: addr.vip, intervalMs: 2500, requestTimeoutMs: 2000 });
    const first = (await ka.waitForResponses(1))[0]!;
    const m0 = await t.scrape();

    const client = lab.host('client1');
    const r = await synFlood(client, {
      smac: client.mac!,
      dmac: lab.host('lb').mac!,
      dst: addr.vip,
      count: FLOOD,
      offset: 10_000,
      timeoutMs: 60_000,
    });
    expect(r).toMatchObject({ sent: FLOOD });
    await t.agent.countConntrack();
    const m1 = await t.scrape();
    const d = (name: string, labels: Record<string, string>) => (metric(m1, name, labels) ?? 0) - (metric(m0, name, labels) ?? 0);

    const rs = await ka.waitForResponses(2, 8000);
    const k = await ka.stop();
    expect(k.closed, JSON.stringify(k.closed)).toBeUndefined();
    expect(rs[1]!.body).toBe(first.body);
    const flood = d('xdp_lb_reasons_total', { reason: floodReason });
    const tracked = d('xdp_lb_reasons_total', { reason: 'ct_new' });
    const report = JSON.stringify({
      flood,
      tracked,
      drops: d('xdp_lb_packets_total', { service: 'web', action: 'drop' }),
      entries: metric(m1, 'xdp_lb_conntrack_entries'),
    });
    expect(flood, report).toBeGreaterThan(FLOOD / 2);
    expect(tracked + flood, report).toBeGreaterThan(FLOOD * 0.9);
    expect(tracked, report).toBeLessThan(2000);
    expect(metric(m1, 'xdp_lb_conntrack_entries'), report).toBeLessThan(4096);
    if (forward === 'nat') expect(d('xdp_lb_packets_total', { service: 'web', action: 'drop' }), report).toBeGreaterThanOrEqual(flood);
    else expect(d('xdp_lb_packets_total', { service: 'web', action: 'forward' }), report).toBeGreaterThan(FLOOD * 0.9);
    // The health checks (from the LB's namespace) never noticed anything.
    expect(t.agent.status().health.every((h) => h.up && h.checks.fail === 0)).toBe(true);
  });
});
