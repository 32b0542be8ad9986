// A strategy per service, end to end (issue 16): one interface of the lab's LB carries four NAT
// services at once, on VIP ports 80-83, of hash, random, round-robin and the example third-party
// strategy package (deploy/examples/strategies/subnet-affinity). Real HTTP from three clients:
// each hash connection reaches the backend the hash model names for its five-tuple (from the slot
// table the data plane reads), round-robin's connections spread exactly evenly, subnet-affinity
// sends the clients' /24 to the one backend its model names, random reaches every backend. Then a
// long-lived connection holds while its service moves from hash to round-robin: no re-attach (the
// same program id), the connection keeps its backend, and new connections walk the round-robin
// table slot after slot.
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { dumpConfigYaml } from '@xdp-lb/core';
import { flowHash, flowKey, FLOW_WORDS, SRC_WORDS } from '@xdp-lb/core/strategy';
import { type KeepAliveClient, type Lab, openKeepAlive, tutorialAddresses, tutorialTopology } from '@xdp-lb/netlab';
import { backendName, httpLoad, type LoadResult, useE2e } from './support.js';

const e2e = useE2e();
const addr = tutorialAddresses({ clients: 3, backends: 4 });
/** The example third-party strategy package, named by its folder. */
const SUBNET_AFFINITY = fileURLToPath(new URL('../../../../deploy/examples/strategies/subnet-affinity', import.meta.url));
const SEED = 0x5eed;
const PER_CLIENT = 24;
const SERVICES = [
  { name: 'h', port: 80, strategy: 'hash' },
  { name: 'r', port: 81, strategy: 'random' },
  { name: 'rr', port: 82, strategy: 'round-robin' },
  { name: 'sa', port: 83, strategy: SUBNET_AFFINITY },
] as const;

describe('a strategy per service on one interface', () => {
  let lab: Lab;
  let instance: string;
  let progId = 0;
  let ka: KeepAliveClient | undefined;
  const lb = () => e2e.lb();
  /** The backend names of a service's slot table, slot by slot, as the data plane reads it. */
  const slots = (svc: string) =>
    lb()
      .table(instance, svc)
      .map((k) => backendName(k!));
  /** Connections from every client to `port` at once; each client's [source port, backend] records. */
  const fromClients = (port: number, count = PER_CLIENT) =>
    Promise.all(addr.clients.map((_c, i) => httpLoad(lab.host(`client${i + 1}`), { address: addr.vip, port, count, records: true })));
  const okAll = (rs: LoadResult[], n: number) => {
    for (const r of rs) expect(r.errorSamples).toEqual([]);
    expect(rs.reduce((s, r) => s + r.ok, 0)).toBe(n);
  };

  afterAll(async () => {
    if (ka?.process.running) await ka.stop();
  });

  it('deploys four services of four strategies in one program', async () => {
    lab = await e2e.lab(tutorialTopology({ clients: 3, backends: 4 }));
    instance = e2e.instance('perservice');
    const r = await e2e.deploy(lab, {
      instance,
      hashSeed: SEED,
      interfaces: ['eth0:generic'],
      limits: { conntrackSize: 65536 },
      snat: { addresses: [addr.lb], ports: e2e.snatPorts() },
      services: SERVICES.map((s) => ({
        name: s.name,
        vip: `${addr.vip}:${s.port}`,
        forward: 'nat',
        strategy: s.strategy,
        backends: addr.backends.map((b) => `${b}:80`),
      })),
    });
    progId = r.interfaces[0]!.progId;
    const s = lb().status(instance);
    expect(s.strategies).toEqual(['hash', 'random', 'round-robin', SUBNET_AFFINITY]);
    expect(s.services.map((x) => [x.name, x.strategy])).toEqual(SERVICES.map((x) => [x.name, x.strategy]));
    // config dump says each service's strategy (and round-trips: lb config check takes it)
    const dump = dumpConfigYaml(await lb().config(instance));
    for (const x of SERVICES) expect(dump).toContain(`strategy: ${x.strategy}`);
  });

  it('hash: every connection reaches the backend the model names for its five-tuple', async () => {
    const rs = await fromClients(80);
    okAll(rs, 3 * PER_CLIENT);
    const table = slots('h');
    rs.forEach((r, i) => {
      for (const [sport, got] of r.records!) {
        const key = flowKey({ src: addr.clients[i]!, dst: addr.vip, sport, dport: 80, proto: 6 });
        expect(got, `client${i + 1}:${sport}`).toBe(table[flowHash(key, SEED, FLOW_WORDS) % table.length]);
      }
    });
  });

  it('round-robin: new connections spread exactly evenly over its table', async () => {
    const rs = await fromClients(82);
    okAll(rs, 3 * PER_CLIENT);
    const counts = Object.values(
      rs.reduce<Record<string, number>>((m, r) => {
        for (const [, b] of r.records!) m[b] = (m[b] ?? 0) + 1;
        return m;
      }, {}),
    );
    expect(counts.length).toBe(4);
    expect(Math.max(...counts) - Math.min(...counts)).toBeLessThanOrEqual(1);
  });

  it("subnet-affinity (third-party): the clients' /24 goes to the backend its model names", async () => {
    const rs = await fromClients(83, 8);
    okAll(rs, 24);
    const table = slots('sa');
    const src = flowKey({ src: addr.clients[0]!, dst: addr.vip, sport: 1, dport: 83, proto: 6 }).subarray(0, 16);
    src[15] = 0;
    const want = table[flowHash(src, SEED, SRC_WORDS) % table.length];
    expect(new Set(rs.flatMap((r) => r.records!.map(([, b]) => b)))).toEqual(new Set([want]));
  });

  it('random: connections reach every backend', async () => {
    const rs = await fromClients(81);
    okAll(rs, 3 * PER_CLIENT);
    expect(new Set(rs.flatMap((r) => r.records!.map(([, b]) => b))).size).toBe(4);
  });

  it('moving a service to another strategy is hot: a long-lived connection keeps its backend, new ones follow the new strategy', async () => {
    ka = await openKeepAlive(lab.host('client1'), { address: addr.vip, port: 80, intervalMs: 100, requestTimeoutMs: 1500 });
    const first = await ka.waitForResponses(3);
    const mine = first[0]!.body.trim();
    await lb().update(instance, { kind: 'service-strategy', service: 'h', strategy: 'round-robin' });
    const s = lb().status(instance);
    expect(s.services[0]!.strategy).toBe('round-robin');
    expect(s.interfaces[0]!.progId, 'no new program, no re-attach').toBe(progId);
    // sequential new connections from one client: each takes the next slot of the table
    const table = slots('h');
    const r = await httpLoad(lab.host('client2'), { address: addr.vip, port: 80, count: 12, records: true });
    expect(r.errorSamples).toEqual([]);
    const seq = r.records!.map(([, b]) => b);
    const start = table.indexOf(seq[0]!);
    expect(seq).toEqual(seq.map((_b, i) => table[(start + i) % table.length]));
    const after = await ka.waitForResponses(first.length + 5, 5000);
    expect(new Set(after.map((x) => x.body.trim()))).toEqual(new Set([mine]));
    const summary = await ka.stop();
    expect(summary.closed, JSON.stringify(summary.closed)).toBeUndefined();
    expect(summary.timeouts).toBe(0);
    expect(summary.responses.map((x) => x.seq)).toEqual(summary.responses.map((_x, i) => i + 1));
  });

  it('a strategy the program does not carry is refused by a hot change, in one line, changing nothing', async () => {
    const other = fileURLToPath(new URL('../../../../bpf/tests/fixtures/sport-mod.bpf.c', import.meta.url));
    await expect(lb().update(instance, { kind: 'service-strategy', service: 'r', strategy: other })).rejects.toThrow(
      /^strategy .*sport-mod\.bpf\.c is not in the running program \(it carries hash, random, round-robin, .*\): lb deploy of a config that uses it/,
    );
    expect(
      lb()
        .status(instance)
        .services.map((x) => x.strategy),
    ).toEqual(['round-robin', 'random', 'round-robin', SUBNET_AFFINITY]);
  });

  it('undeploy leaves nothing behind', () => {
    lb().undeploy(instance);
    expect(e2e.leftovers(instance)).toEqual({ pins: [], state: false });
  });
});
