// `lb status`'s table from a status view: the device changes deploy made (a veth peer's offloads
// and xdp_pass, in another namespace) and a service that cannot serve. The views the library
// really returns for these cases are checked in core-integration (veth-edges.e2e, health-truth.e2e);
// the command's stderr warning with a real broken service in health-truth.e2e.test.ts here.
import { describe, expect, it } from 'vitest';
import type { StatusView } from '@xdp-lb/core';
import { renderStatus } from '../src/render/status.js';

const counters = { packets: 0, bytes: 0, newFlows: 0, drops: 0 };
const view = (over: Partial<StatusView>): StatusView =>
  ({
    instance: 'lb1',
    strategy: 'hash',
    strategies: ['hash'],
    netns: 'xlb-lb',
    deployedAt: '2026-12-07T00:00:00Z',
    updatedAt: '2026-12-07T00:00:00Z',
    interfaces: [{ name: 'eth0', ifindex: 2, requestedMode: 'native', mode: 'native', progId: 7, attached: true }],
    devices: [],
    services: [],
    conntrack: { entries: 0, max: 65536 },
    halfOpen: { entries: 0, max: 16384 },
    reasons: {},
    ...over,
  }) as StatusView;

describe('renderStatus', () => {
  it("names each device change, its namespace when not the instance's, and that undeploy undoes it", () => {
    const out = renderStatus(
      view({
        devices: [
          { netns: 'xlb-sw', dev: 'veth-lb', features: ['tx', 'txvlan'] },
          { netns: 'xlb-sw', dev: 'veth-lb', xdpPass: 42 },
          { netns: 'xlb-lb', dev: 'eth0', features: ['rxvlan'] },
        ],
      }),
    ).split('\n');
    expect(out).toContain("device veth-lb (netns xlb-sw): tx, txvlan off (deploy's change, undone at undeploy)");
    expect(out).toContain("device veth-lb (netns xlb-sw): xdp_pass program 42 (deploy's change, undone at undeploy)");
    expect(out).toContain("device eth0: rxvlan off (deploy's change, undone at undeploy)");
  });

  it('marks a service that cannot serve, with the reason, and only that one', () => {
    const svc = (name: string, serving: boolean, problem?: string) => ({
      name,
      vip: '198.18.0.10',
      protocol: 'tcp',
      forward: 'nat',
      strategy: 'hash',
      id: 1,
      serving,
      ...(problem ? { problem } : {}),
      counters,
      backends: [],
    });
    const out = renderStatus(view({ services: [svc('web', false, '0 slots: its table is empty'), svc('alt', true)] }));
    expect(out.match(/NOT SERVING/g)).toEqual(['NOT SERVING']);
    expect(out).toMatch(/^service web {2}198\.18\.0\.10\/tcp .*\n {2}NOT SERVING: 0 slots: its table is empty$/m);
  });

  it("shows the flow table's share of the flows, and nothing of it when it is off", () => {
    const on = renderStatus(
      view({
        conntrack: { entries: 12, max: 65536 },
        halfOpen: { entries: 3, max: 16384 },
        flowTable: { buckets: 32768, established: 10, halfOpen: 2 },
      }),
    ).split('\n');
    expect(on).toContain('conntrack 12/65536  half-open 3/16384');
    expect(on).toContain('flow table 32768 buckets x 4: 10 established, 2 half-open (counted above too)');
    expect(renderStatus(view({}))).not.toMatch(/flow table/);
  });
});
