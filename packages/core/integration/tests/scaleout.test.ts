// Scale-out (issue 9): three LB nodes with the same config behind a router doing ECMP (static
// multipath routes; the CLI's scaleout-bgp.test.ts learns them from BIRD). Each node is a lab
// namespace running the real data plane (dsr, hash) deployed by the library under its own
// instance name.
//   1. The nodes build identical Maglev tables (read back from their pinned maps, as backend keys:
//      ids are allocated per node and differ when the nodes' histories differ; keys must not).
//   2. A flow reaches the same backend whichever node carries it (the router pinned to one node
//      at a time, the same 48 UDP flows each time; each node's counters show it carried them).
//   3. With ECMP over the three nodes, the router spreads flows over them by their five-tuple,
//      and every flow still lands on the backend it had.
//   4. A node withdrawn mid-run (its next hop removed from the route): its established TCP
//      connections move to the other nodes, whose conntrack misses but whose Maglev table gives
//      the same backend: every keep-alive connection keeps being answered, by the same backend.
import { afterAll, describe, expect, it } from 'vitest';
import { describeLab } from '@xdp-lb/netlab/vitest';
import { type KeepAliveClient, type Lab, openKeepAlive } from '@xdp-lb/netlab';
import { backendAddress, nodeConfig, routeVip, scaleoutTopology, sleep, udpFlows, useE2e, VIP, vipNextHops } from './support.js';

const e2e = useE2e();
const NODES = [1, 2, 3];
const BACKENDS = [1, 2, 3].map(backendAddress);
const PORTS = Array.from({ length: 48 }, (_, i) => 41000 + i * 7);

describeLab('scale-out: three LB nodes behind ECMP (static routes)', () => {
  let lab: Lab;
  const inst: Record<number, string> = {};
  /** The backend each UDP flow reached through node 1. */
  let reference: Record<number, string> = {};

  const packets = (n: number, svc: string) =>
    e2e
      .lb()
      .status(inst[n]!)
      .services.find((s) => s.name === svc)!.counters.packets;

  it('deploys the same config on three nodes whose histories differ', async () => {
    lab = await e2e.lab(scaleoutTopology({ lbs: 3, backends: 3, clients: 2 }));
    for (const n of NODES) inst[n] = e2e.instance(`so${n}`);
    // lb1: the config as written; lb2: backends listed in another order; lb3: started with two
    // backends, then the third added by a hot update (its ids differ from the others').
    await e2e.deploy(lab, nodeConfig(inst[1]!, BACKENDS), { host: 'lb1' });
    await e2e.deploy(lab, nodeConfig(inst[2]!, [...BACKENDS].reverse()), { host: 'lb2' });
    await e2e.deploy(lab, nodeConfig(inst[3]!, [BACKENDS[0]!, BACKENDS[2]!]), { host: 'lb3' });
    await e2e.lb().update(inst[3]!, { kind: 'backend-add', service: 'web', backend: BACKENDS[1]! });
    await e2e.lb().update(inst[3]!, { kind: 'backend-add', service: 'echo', backend: `${BACKENDS[1]!}:7000` });
    for (const n of NODES) {
      const s = e2e.lb().status(inst[n]!);
      expect(s.interfaces.map((i) => [i.name, i.attached, i.mode])).toEqual([['eth0', true, 'native']]);
    }
  });

  it('1. the nodes build identical Maglev tables (same seed, same order, whatever their ids)', () => {
    const lb = e2e.lb();
    for (const svc of ['web', 'echo']) {
      const tables = NODES.map((n) => lb.table(inst[n]!, svc));
      expect(tables[0]!.length, `${svc}: table size`).toBe(4093);
      expect(
        tables[0]!.every((k) => k !== null),
        `${svc}: every slot names a backend`,
      ).toBe(true);
      expect(new Set(tables[0]).size).toBe(3);
      // Compared slot by slot (not with toEqual on 4093 entries, to keep a failure readable).
      for (const n of [2, 3]) {
        const diff = tables[0]!.findIndex((k, i) => tables[n - 1]![i] !== k);
        expect(diff, `${svc}: first slot where lb${n}'s table differs from lb1's`).toBe(-1);
      }
      const slots = NODES.map((n) =>
        Object.fromEntries(
          lb
            .status(inst[n]!)
            .services.find((s) => s.name === svc)!
            .backends.map((b) => [b.key, b.slots]),
        ),
      );
      expect(slots[1]).toEqual(slots[0]);
      expect(slots[2]).toEqual(slots[0]);
    }
    // The ids differ (lb3 allocated its backends in another order), so equal tables are not a
    // coincidence of equal ids.
    const ids = (n: number) =>
      lb
        .status(inst[n]!)
        .services.find((s) => s.name === 'web')!
        .backends.map((b) => `${b.key}=${b.id}`)
        .sort();
    expect(ids(3)).not.toEqual(ids(1));
  });

  it('2. a flow reaches the same backend whichever node carries it', async () => {
    const router = lab.host('router');
    const seen: Record<number, Record<number, string>> = {};
    for (const n of NODES) {
      await routeVip(router, [n]);
      expect(await vipNextHops(router)).toEqual([n]);
      const before = NODES.map((m) => packets(m, 'echo'));
      seen[n] = await udpFlows(lab.host('client1'), PORTS);
      const carried = NODES.map((m, i) => Number(packets(m, 'echo') - before[i]!));
      // One datagram per flow went through node n and none through the others.
      expect(carried, `echo packets carried by lb1..3 while the route pointed at lb${n}`).toEqual(
        NODES.map((m) => (m === n ? PORTS.length : 0)),
      );
    }
    reference = seen[1]!;
    expect(
      Object.values(reference).filter((v) => !/^http\d$/.test(v)),
      'flows without a backend reply',
    ).toEqual([]);
    expect(new Set(Object.values(reference)).size, 'the flows spread over the backends').toBe(3);
    expect(seen[2]).toEqual(reference);
    expect(seen[3]).toEqual(reference);
  });

  it('3. ECMP over the three nodes spreads flows by five-tuple; each flow keeps its backend', async () => {
    const router = lab.host('router');
    await routeVip(router, NODES);
    expect(await vipNextHops(router)).toEqual(NODES);
    const before = NODES.map((n) => packets(n, 'echo'));
    const got = await udpFlows(lab.host('client1'), PORTS);
    const carried = NODES.map((n, i) => Number(packets(n, 'echo') - before[i]!));
    expect(carried.reduce((a, b) => a + b, 0)).toBe(PORTS.length);
    expect(carried.filter((c) => c > 0).length, `flows per node: ${carried.join(', ')}`).toBeGreaterThanOrEqual(2);
    expect(got).toEqual(reference);
  });

  describe('4. a node withdrawn mid-run (dsr): its established connections move and survive', () => {
    const clients: KeepAliveClient[] = [];
    afterAll(async () => {
      for (const c of clients) if (c.process.running) await c.stop();
    });

    it("holds connections over all three nodes, moves the busiest node's away, and none breaks", async () => {
      const router = lab.host('router');
      await routeVip(router, NODES);
      for (let i = 0; i < 12; i++)
        clients.push(
          await openKeepAlive(lab.host(i % 2 ? 'client2' : 'client1'), { address: VIP, intervalMs: 100, requestTimeoutMs: 2000 }),
        );
      await Promise.all(clients.map((c) => c.waitForResponses(3)));
      const mine = clients.map((c) => c.responses()[0]!.body.trim());

      // Which nodes carry the connections: the web packets each node forwards in half a second.
      const rate = async () => {
        const a = NODES.map((n) => packets(n, 'web'));
        await sleep(500);
        return NODES.map((n, i) => Number(packets(n, 'web') - a[i]!));
      };
      const busy = await rate();
      const victim = NODES[busy.indexOf(Math.max(...busy))]!;
      expect(busy[victim - 1], `lb${victim} carries connections`).toBeGreaterThan(0);

      const counts = clients.map((c) => c.responses().length);
      await routeVip(
        router,
        NODES.filter((n) => n !== victim),
      );
      expect(await vipNextHops(router)).not.toContain(victim);
      // Every connection gets at least 10 more answers after the withdrawal.
      await Promise.all(clients.map((c, i) => c.waitForResponses(counts[i]! + 10, 10_000)));

      const after = await rate();
      expect(after[victim - 1], `lb${victim} carries nothing after its withdrawal`).toBe(0);
      expect(after.reduce((a, b) => a + b, 0)).toBeGreaterThan(0);
      for (const [i, c] of clients.entries()) {
        const s = await c.stop();
        expect(s.closed, `connection ${i}: ${JSON.stringify(s.closed)}`).toBeUndefined();
        expect(s.timeouts, `connection ${i}: timeouts`).toBe(0);
        expect(
          s.bodies.map((b) => b.trim()),
          `connection ${i}: backends that answered it`,
        ).toEqual([mine[i]]);
        expect(
          s.responses.map((r) => r.seq),
          `connection ${i}: no answer lost`,
        ).toEqual(s.responses.map((_r, k) => k + 1));
      }
      // The nodes that took the connections over created conntrack entries for them (a miss, then
      // the same Maglev choice), in the middle of the connections.
      const ctNew = NODES.filter((n) => n !== victim).map((n) => e2e.lb().status(inst[n]!).reasons['ct_new'] ?? 0);
      expect(ctNew.reduce((a, b) => a + b, 0)).toBeGreaterThan(0);
    });
  });

  it('undeploys every node', () => {
    for (const n of NODES) {
      e2e.lb().undeploy(inst[n]!);
      expect(e2e.leftovers(inst[n]!)).toEqual({ pins: [], state: false });
    }
  });
});
