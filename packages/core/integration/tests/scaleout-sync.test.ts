// Cluster flow sync (issue 19): two LB nodes behind a router doing ECMP, each with an agent (the
// library's Agent, in this process) whose `cluster` section syncs flows with the other. Twice: with
// static multipath routes (a node taken out by editing the route), and with routes learned over
// BGP from BIRD 2 on each node (a node taken out by its agent's withdrawal, SIGUSR1's drain; hard
// kill: its BIRD SIGKILLed with the agent stopped and the data plane undeployed). Keep-alive HTTP connections run on both nodes from the start to the end; each step
// changes the backends on every node, then takes one node out, and every connection the change
// itself did not end (those on a removed backend) must keep being answered by its backend:
//   1. a backend added      (without sync: ~1/4 of the moved flows go to the new one and are reset)
//   2. a backend drained    (without sync: every moved flow of the drained backend is reset)
//   3. a weight changed     (the table moves ~1/6 of the slots)
//   4. a backend removed    (its own connections end: the change ends them)
//   5. a node hard-killed   (agent stopped, data plane undeployed, route gone): the other carries on
//   6. the node returns     (empty conntrack): it pulls the live flows before it may be announced,
//                            then carries every connection alone
// and with static routes only (they do not depend on how routes are learned):
//   7. lost messages        (20% of the sync datagrams dropped): copies arrive with the re-sends
//   8. forged messages      (wrong key): ignored, counted, nothing inserted
//   9. in the kernel: a peer's flow lands in lb_ct with BPF_NOEXIST and never replaces a live
//      entry of the node's own (in lb_ct, or a slot of the flow table, which the data plane reads
//      first and the agent never writes)
// Before each node leaves, every live connection has an entry on the node that takes it over (its
// own, in the flow table lb_ft4 (limits.flowTable: on) or lb_ct, or a copy of the leaving node's,
// in lb_ct): every moved flow finds its entry, which is what sync is for. Step 6's pull carries
// the flow table's flows too.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { Abi, Agent, createLogger, FlowTable, instancePaths, loadConfigFile, parseMetrics, SyncProtocol } from '@xdp-lb/core';
import { BpfMap } from '@xdp-lb/native';
import { describeLab } from '@xdp-lb/netlab/vitest';
import type { Lab, LabProcess } from '@xdp-lb/netlab';
import {
  backendAddress,
  BIRD,
  birdConfig,
  birdSocket,
  clientAddress,
  lbAddress,
  type LogLine,
  routeVip,
  scaleoutTopology,
  sleep,
  startBird,
  useAgentEnv,
  VIP,
  vipNextHops,
  waitFor,
} from './support.js';

const env = useAgentEnv();
const CLIENT = fileURLToPath(new URL('./sync-keepalive.mjs', import.meta.url));
const KEY = 'scaleout-sync-test-key-0123456789abcdef';
const PORT = 7946;
const [B1, B2, B3, B4] = [1, 2, 3, 4].map(backendAddress) as [string, string, string, string];
const CT_F_SYNCED = 0x08;

interface Conn {
  /** The client's address and port: the flow's source. */
  client: string;
  port: number;
  /**
   * The client process that holds it. Two processes run on client1 (step 7 adds one), and a port
   * of a connection that ended (step 4) may be handed to a newer connection of the other process:
   * address and port alone can name two connections, one dead and one alive.
   */
  proc: number;
  backends: string[];
  answers: number;
  maxWaitMs: number;
  closed: string | null;
  overdue: boolean;
}

type Mode = 'static' | 'bgp';

function suite(mode: Mode): void {
  const title = `cluster flow sync, ${mode === 'static' ? 'static multipath' : 'routes over BGP (BIRD 2)'}: two LB nodes behind ECMP keep every connection through backend changes and node loss`;
  const skip = mode === 'bgp' && !BIRD;
  (skip ? describe.skip : describeLab)(`${title}${skip ? ' [skipped: bird2 is not installed (apt-get install bird2)]' : ''}`, () =>
    body(mode),
  );
}

function body(mode: Mode): void {
  let lab: Lab;
  const birds: Record<string, LabProcess> = {};
  const inst: Record<number, string> = {};
  const files: Record<number, string> = {};
  const agents: Record<number, Agent> = {};
  const logs: Record<number, LogLine[]> = { 1: [], 2: [] };
  const clients: LabProcess[] = [];
  /** The address of each client process's host. */
  const clientAddrs: string[] = [];
  /** Backends of web, as the file lists them now (the lab's httpN answers "httpN": backendAddress(N)). */
  let backends: (string | { address: string; state?: string })[] = [B1, B2, B3];

  afterAll(async () => {
    for (const c of clients) if (c.running) await c.kill('SIGKILL', 500);
    for (const a of Object.values(agents)) await a.stop().catch(() => undefined);
    for (const b of Object.values(birds)) if (b.running) await b.kill('SIGKILL', 500);
  });

  const hops = () => vipNextHops(lab.host('router'));
  const waitHops = async (want: number[]) => {
    await waitFor(
      `the router's next hops to the VIP ${JSON.stringify(want)}`,
      async () => JSON.stringify(await hops()) === JSON.stringify(want),
      20_000,
      50,
    );
  };
  /** Takes node `victim` out of the route: the route edited, or its agent's withdrawal (BGP). */
  async function withdraw(victim: number): Promise<void> {
    const other = victim === 1 ? 2 : 1;
    if (mode === 'static') await routeVip(lab.host('router'), [other]);
    else {
      await agents[victim]!.drain('test');
      await waitHops([other]);
    }
  }
  /** Both nodes in the route again. */
  async function restore(): Promise<void> {
    if (mode === 'static') await routeVip(lab.host('router'), [1, 2]);
    else {
      for (const n of [1, 2]) await agents[n]!.undrain('test');
      await waitHops([1, 2]);
    }
  }

  const config = (n: number) => ({
    instance: inst[n],
    strategy: 'hash',
    hashSeed: 7,
    interfaces: ['eth0:native'],
    // udp 4 s: the shortest idle timeout sets the re-send period (two fit in it: 1.07 s here)
    limits: { conntrackSize: 65536, udpTimeoutSec: 4 },
    services: [{ name: 'web', vip: `${VIP}:80`, forward: 'dsr', options: { tableSize: 4093 }, backends }],
    cluster: { listen: `${lbAddress(n)}:${PORT}`, peers: [1, 2].map((m) => `${lbAddress(m)}:${PORT}`), key: KEY, pullTimeoutMs: 3000 },
    announce:
      mode === 'static'
        ? { command: { up: ['true'], down: ['true'] }, intervalMs: 200 }
        : { bird: { socket: birdSocket(env.dir, `lb${n}`), protocol: 'xdp_lb_vips' }, intervalMs: 200 },
  });

  async function startAgent(n: number): Promise<void> {
    files[n] = env.writeConfig(`lb${n}`, config(n));
    const a = new Agent(env.lb());
    agents[n] = a;
    logs[n] = [];
    await a.start({
      file: files[n]!,
      netns: lab.host(`lb${n}`).netns.name,
      metrics: null,
      resyncMs: 0,
      watch: false,
      log: createLogger({ format: 'json', level: 'info', write: (l) => logs[n]!.push(JSON.parse(l) as LogLine) }),
    });
  }

  /** The same backends on both nodes, applied by each agent's reload. */
  async function change(list: typeof backends): Promise<void> {
    backends = list;
    for (const n of [1, 2]) {
      files[n] = env.writeConfig(`lb${n}`, config(n));
      const r = await agents[n]!.reload('test');
      expect(r.ok, `lb${n} reload: ${r.ok ? '' : r.error.message}`).toBe(true);
    }
  }

  async function report(): Promise<Conn[]> {
    const out: Conn[] = [];
    for (const c of clients) {
      const seen = c.lines().filter((l) => l.includes('"report"')).length;
      c.write('report\n');
      const line = await c.waitForLine((l) => l.includes('"report"') && c.lines().filter((x) => x.includes('"report"')).length > seen, {
        timeoutMs: 5000,
      });
      const proc = clients.indexOf(c);
      const client = clientAddrs[proc]!;
      out.push(...(JSON.parse(line) as { conns: Omit<Conn, 'client' | 'proc'>[] }).conns.map((x) => ({ ...x, client, proc })));
    }
    return out;
  }

  /**
   * Every connection of `before` (alive then) not on a backend named in `ends` is alive in `after`,
   * has been answered since (over a second of requests), and only ever by its one backend.
   */
  function carriedOn(what: string, before: Conn[], after: Conn[], ends: string[] = []): void {
    for (const b of before) {
      if (ends.includes(b.backends.at(-1)!)) continue;
      const a = after.find((c) => c.proc === b.proc && c.port === b.port)!;
      expect(broken(a), `${what}: connection :${b.port} on ${b.backends.join('>')}: ${JSON.stringify(a)}`).toBe(false);
      expect(a.backends, `${what}: connection :${b.port}`).toEqual(b.backends);
      expect(a.answers, `${what}: connection :${b.port} answered since`).toBeGreaterThan(b.answers + 5);
    }
  }

  /**
   * Every connection of `conns` not on a backend named in `ends` has an entry on node `n` (its own
   * or a peer's copy), so that it keeps its backend when it moves there.
   */
  function tracked(what: string, n: number, conns: Conn[], ends: string[] = []): void {
    const entries = webEntries(inst[n]!);
    const missing = conns.filter((c) => !ends.includes(c.backends.at(-1)!) && !entries.has(`${c.client}:${c.port}`));
    expect(
      missing.map((c) => `${c.client}:${c.port}`),
      `${what}: live connections without an entry on lb${n} (${entries.size} entries)`,
    ).toEqual([]);
  }
  const broken = (c: Conn) => c.closed !== null || c.overdue;

  /**
   * Applies `list` on both nodes, takes node `victim` out of the route (its flows move to the
   * other), waits, and checks: every connection that was alive and not on a backend named in `ends` is
   * alive, answered since, and still by the one backend it ever had.
   */
  async function step(what: string, list: typeof backends, victim: number, ends: string[] = []): Promise<void> {
    const other = victim === 1 ? 2 : 1;
    const before = (await report()).filter((c) => !broken(c));
    await change(list);
    await sleep(300);
    tracked(what, other, before, ends);
    await withdraw(victim);
    try {
      await sleep(1500);
      carriedOn(what, before, await report(), ends);
    } finally {
      await restore(); // also after a failure: the next step starts from both nodes
      await sleep(500);
    }
  }

  it('deploys two nodes whose agents sync flows; the first waits for its peer, then both are ready', async () => {
    lab = await env.lab(scaleoutTopology({ lbs: 2, backends: 4, clients: 2 }));
    for (const n of [1, 2]) {
      inst[n] = env.instance(`sync${mode === 'static' ? 's' : 'b'}${n}`);
      lab.registerPinDir(`${env.bpffs}/${inst[n]}`);
    }
    if (mode === 'bgp') {
      for (const h of ['router', 'lb1', 'lb2']) birds[h] = await startBird(lab, env.dir, h, birdConfig(h, 2));
      for (const h of ['router', 'lb1', 'lb2']) await waitFor(`BIRD's socket on ${h}`, () => existsSync(birdSocket(env.dir, h)), 10_000);
    }
    await Promise.all([startAgent(1), startAgent(2)]);
    if (mode === 'static') await routeVip(lab.host('router'), [1, 2]);
    else await waitHops([1, 2]);
    for (const n of [1, 2]) {
      const s = agents[n]!.status().cluster!;
      expect(s.listen).toBe(`${lbAddress(n)}:${PORT}`);
      await expect.poll(() => agents[n]!.status().cluster!.ready, { timeout: 5000 }).toBe(true);
      await expect.poll(() => agents[n]!.status().announce?.announced, { timeout: 5000 }).toBe(true);
    }
    // 24 connections from two clients, spread by the router over both nodes.
    for (const h of ['client1', 'client2']) {
      const c = lab.host(h).spawn([process.execPath, CLIENT, '--host', VIP], { stdin: true, label: `keepalive x12 ${h}` });
      clients.push(c);
      clientAddrs.push(clientAddress(Number(h.slice(-1))));
      c.write('open 12\n');
      await c.waitForLine(/"opened"/, { timeoutMs: 10_000 });
    }
    await sleep(500);
    const conns = await report();
    expect(conns.filter(broken)).toEqual([]);
    expect(new Set(conns.map((c) => c.backends[0])).size, 'connections on every backend').toBe(3);
    const carried = [1, 2].map((n) => env.lb().status(inst[n]!).services[0]!.counters.newFlows);
    expect(
      carried.every((x) => x > 0n),
      `new flows per node: ${carried.join(', ')}`,
    ).toBe(true);
    // Each node's flows reached the other: it holds copies (LB_CT_F_SYNCED) of them.
    for (const n of [1, 2]) expect(syncedEntries(inst[n]!), `copies on lb${n}`).toBeGreaterThan(0);
    // The status (what `lb status` shows) says flow sync is on, and how many records the data
    // plane handed the agent.
    for (const n of [1, 2]) {
      const f = env.lb().status(inst[n]!).flowSync!;
      expect(f).toMatchObject({ listen: `${lbAddress(n)}:${PORT}`, peers: [`${lbAddress(3 - n)}:${PORT}`], recordsDropped: 0 });
      expect(f.recordsSent).toBeGreaterThan(0);
    }
  });

  it('1. a backend added on every node, then lb1 withdrawn: no connection breaks', () => step('add', [B1, B2, B3, B4], 1));
  it('2. a backend drained on every node, then lb2 withdrawn: its connections continue too', () =>
    step('drain', [{ address: B1, state: 'draining' }, B2, B3, B4], 2));
  it('3. a weight changed on every node, then lb1 withdrawn', () =>
    step('weight', [{ address: B1, state: 'draining' }, `${B2}@3`, B3, B4], 1));
  it('4. a backend removed on every node, then lb2 withdrawn: only its own connections end', () =>
    step('remove', [{ address: B1, state: 'draining' }, `${B2}@3`, B4], 2, ['http3']));

  it(`5. lb1 hard-killed (${mode === 'static' ? 'route gone' : 'its BIRD SIGKILLed'}, agent stopped, data plane gone): lb2 carries every connection`, async () => {
    const before = (await report()).filter((c) => !broken(c));
    tracked('hard kill', 2, before);
    if (mode === 'bgp') await birds.lb1!.kill('SIGKILL', 500); // its BGP session drops: the router withdraws lb1
    await agents[1]!.stop();
    env.lb().undeploy(inst[1]!);
    if (mode === 'static') await routeVip(lab.host('router'), [2]);
    else await waitHops([2]);
    await sleep(1500);
    carriedOn('hard kill', before, await report());
  });

  it('6. lb1 returns with an empty conntrack: it pulls the live flows before it announces, then carries them alone', async () => {
    if (mode === 'bgp') {
      birds.lb1 = await startBird(lab, env.dir, 'lb1', birdConfig('lb1', 2));
      await waitFor("lb1's BIRD socket", () => existsSync(birdSocket(env.dir, 'lb1')), 10_000);
    }
    await startAgent(1);
    await expect.poll(() => agents[1]!.status().announce?.announced, { timeout: 6000 }).toBe(true);
    const msgs = logs[1]!.map((l) => l.msg);
    expect(msgs.indexOf('pulled the live flows of a peer'), msgs.join(' | ')).toBeGreaterThanOrEqual(0);
    expect(msgs.indexOf('cluster sync ready: the node may be announced')).toBeLessThan(msgs.indexOf('announcing the VIPs'));
    const alive = (await report()).filter((c) => !broken(c));
    expect(agents[1]!.status().cluster!.peers[0]!.pulled).toBeGreaterThanOrEqual(alive.length);
    expect(syncedEntries(inst[1]!)).toBeGreaterThanOrEqual(alive.length);
    tracked('return', 1, alive);
    if (mode === 'bgp') await waitHops([1, 2]);
    await withdraw(2);
    try {
      await sleep(1500);
      carriedOn('return', alive, await report());
    } finally {
      await restore();
    }
  });

  if (mode === 'static') staticOnly();
  it('stops the clients and undeploys both nodes', async () => {
    const conns = await report();
    // Only the connections of the removed backend ended, all in step 4.
    expect(
      conns.filter(broken).every((c) => c.backends.at(-1) === 'http3'),
      JSON.stringify(conns.filter(broken)),
    ).toBe(true);
    for (const c of clients) await c.kill('SIGTERM', 2000);
    for (const n of [1, 2]) {
      await agents[n]!.stop();
      env.lb().undeploy(inst[n]!);
    }
  });

  /** Steps 7-9: the same with static routes or BGP, so run once. */
  function staticOnly(): void {
    it('7. with 20% of the sync datagrams lost, new flows still reach the peer (re-sent each period); the loss is counted', async () => {
      const lb2 = lab.host('lb2');
      await lb2.exec(['nft', '-f', '-'], {
        input: `table inet xlbsync {\n chain sync_in {\n  type filter hook input priority 0; policy accept;\n  udp dport ${PORT} numgen random mod 10 < 2 drop\n }\n}\n`,
      });
      try {
        const c = lab.host('client1').spawn([process.execPath, CLIENT, '--host', VIP], { stdin: true, label: 'keepalive x12 lossy' });
        clients.push(c);
        clientAddrs.push(clientAddress(1));
        c.write('open 12\n');
        await c.waitForLine(/"opened"/, { timeoutMs: 10_000 });
        await sleep(5500); // about five periods: a flow's copy is missing after all of them 0.2^5 of the time
        await step('add under loss', [{ address: B1, state: 'draining' }, `${B2}@3`, B3, B4], 1);
      } finally {
        await lb2.exec(['nft', 'delete', 'table', 'inet', 'xlbsync'], { check: false });
      }
      const s = agents[2]!.status().cluster!;
      expect(s.peers[0]!.lost, 'datagrams of lb1 lost on the way to lb2').toBeGreaterThan(0);
      // The scrape says the same: the loss per peer, and that peer flows were inserted.
      const m = parseMetrics(agents[2]!.metrics());
      expect(m.get(`xdp_lb_cluster_lost_messages{peer="${lbAddress(1)}:${PORT}"}`)).toBeGreaterThan(0);
      expect(m.get('xdp_lb_cluster_entries_total{result="inserted"}')).toBeGreaterThan(0);
    });

    it('8. forged datagrams (wrong key) are ignored and counted; nothing is inserted', async () => {
      const tuple = Buffer.alloc(37);
      tuple.writeUInt32BE(0xffff, 8);
      tuple.writeUInt32BE(0xc6120165, 12); // 198.18.1.101
      tuple.writeUInt32BE(0xffff, 24);
      tuple.writeUInt32BE(0xc612020a, 28); // the VIP
      tuple.writeUInt16BE(55555, 32);
      tuple.writeUInt16BE(80, 34);
      tuple.writeUInt8(6, 36);
      const backendAddr = Buffer.alloc(16);
      backendAddr.writeUInt32BE(0xffff, 8);
      backendAddr.writeUInt32BE(0xc612000c, 12); // B2
      const forged = SyncProtocol.encode(Buffer.from('not-the-cluster-key-0123456789abcdefgh'), {
        type: SyncProtocol.MsgType.Flows,
        sender: SyncProtocol.senderId(`${lbAddress(1)}:${PORT}`),
        epoch: 0xfffffff0,
        seq: 1n,
        flows: [{ tuple, kind: SyncProtocol.KIND_OPEN, backendAddr, backendPort: 80 }],
      });
      const before = agents[2]!.status().cluster!.rejected['forged'] ?? 0;
      const send = `const s=require('node:dgram').createSocket('udp4');let n=0;const go=()=>s.send(Buffer.from(process.argv[1],'hex'),${PORT},'${lbAddress(2)}',()=>{if(++n<5)go();else s.close();});go();`;
      await lab.host('lb1').exec([process.execPath, '-e', send, forged.toString('hex')]);
      await expect.poll(() => (agents[2]!.status().cluster!.rejected['forged'] ?? 0) - before, { timeout: 3000 }).toBe(5);
      expect(parseMetrics(agents[2]!.metrics()).get('xdp_lb_cluster_rejected_total{reason="forged"}')).toBe(before + 5);
      const key = Buffer.alloc(40);
      tuple.copy(key);
      const ct = BpfMap.fromPinned(`${instancePaths(inst[2]!).maps}/lb_ct`);
      try {
        expect(ct.lookup(key)).toBeNull();
      } finally {
        ct.dispose();
      }
    });

    it("9. in the kernel: a peer's flow is inserted (BPF_NOEXIST) and never replaces a live entry of the node's own", () => {
      const cfg = loadConfigFile(files[2]!);
      const table = new FlowTable(inst[2]!);
      table.refresh(cfg);
      const ct = BpfMap.fromPinned(`${instancePaths(inst[2]!).maps}/lb_ct`);
      try {
        // lb2's own flows are slots of its flow table (limits.flowTable is on by default).
        const mine = (s: Abi.FtSlot) => s.proto === 6 && s.state === Abi.CT_OPEN;
        const slot = ftSlots(inst[2]!).find(mine);
        expect(slot, 'a live TCP slot lb2 made itself').toBeDefined();
        const tuple = Abi.encodeFlow(Abi.ftSlotFlow(slot!));
        const b4 = Buffer.alloc(16);
        b4.writeUInt32BE(0xffff, 8);
        b4.writeUInt32BE(0xc612000e, 12); // B4
        const now = process.hrtime.bigint();
        // A peer claims the flow is on B4: the copy goes into lb_ct, as every peer's flow (the agent
        // never writes a bucket), and lb2's slot, which the data plane reads first, keeps its backend.
        // Beside the slot, lb_ct holds at most a peer's copy (lb1 had the flow's record from lb2).
        const copy = ct.lookup(tuple) as Buffer | null;
        expect(copy === null || (copy.readUInt8(47) & CT_F_SYNCED) !== 0, 'no entry of lb2 itself in lb_ct').toBe(true);
        expect(table.insert({ tuple: tuple.subarray(0, 37), kind: SyncProtocol.KIND_OPEN, backendAddr: b4, backendPort: 80 }, now)).toBe(
          copy ? 'refreshed' : 'inserted',
        );
        const after = ftSlots(inst[2]!).find((s) => mine(s) && Abi.encodeFlow(Abi.ftSlotFlow(s)).equals(tuple));
        expect(after && [after.backendId, after.backendGen, after.svcId]).toEqual([slot!.backendId, slot!.backendGen, slot!.svcId]);
        if (copy) ct.update(tuple, copy);
        else ct.delete(tuple);
        // A flow lb2 does not have: inserted, marked as a peer's, on lb2's id of B4.
        const fresh = Buffer.from(tuple);
        fresh.writeUInt16BE(1, 32);
        expect(table.insert({ tuple: fresh.subarray(0, 37), kind: SyncProtocol.KIND_OPEN, backendAddr: b4, backendPort: 80 }, now)).toBe(
          'inserted',
        );
        const v = ct.lookup(fresh) as Buffer;
        const b4id = env
          .lb()
          .status(inst[2]!)
          .services[0]!.backends.find((b) => b.key === `${B4}:80`)!.id;
        expect([v.readUInt32LE(0), v.readUInt8(20), v.readUInt8(21), v.readUInt8(47) & CT_F_SYNCED]).toEqual([b4id, 1, 1, CT_F_SYNCED]);
        // Again: a copy is refreshed, not duplicated.
        expect(
          table.insert({ tuple: fresh.subarray(0, 37), kind: SyncProtocol.KIND_CLOSING, backendAddr: b4, backendPort: 80 }, now + 1n),
        ).toBe('refreshed');
        expect((ct.lookup(fresh) as Buffer).readUInt8(20)).toBe(2);
        ct.delete(fresh);
      } finally {
        ct.dispose();
        table.close();
      }
    });
  }
}

suite('static');
suite('bgp');

/**
 * The instance's live entries of web (TCP to port 80, open) by client "address:port": state and
 * flags, of lb_ct and of the flow table's slots (`slot`: true).
 */
function webEntries(instance: string): Map<string, { state: number; flags: number; slot?: true }> {
  const out = new Map<string, { state: number; flags: number; slot?: true }>();
  const ct = BpfMap.fromPinned(`${instancePaths(instance).maps}/lb_ct`);
  try {
    for (const k of ct.keys()) {
      const v = ct.lookup(k) as Buffer | null;
      if (!v || k.readUInt8(36) !== 6 || k.readUInt16BE(34) !== 80 || v.readUInt8(20) !== 1) continue;
      out.set(`${[12, 13, 14, 15].map((i) => k[i]).join('.')}:${k.readUInt16BE(32)}`, { state: v.readUInt8(20), flags: v.readUInt8(47) });
    }
  } finally {
    ct.dispose();
  }
  for (const s of ftSlots(instance))
    if (s.proto === 6 && s.dport === 80 && s.state === Abi.CT_OPEN)
      out.set(`${s.saddr.text}:${s.sport}`, { state: s.state, flags: s.flags, slot: true });
  return out;
}

/** The live slots of the instance's flow table (lb_ft4). */
function ftSlots(instance: string): Abi.FtSlot[] {
  const ft = BpfMap.fromPinned(`${instancePaths(instance).maps}/${Abi.MAPS.ft4}`);
  try {
    const out: Abi.FtSlot[] = [];
    for (let i = 0; i < ft.maxEntries; i++) out.push(...Abi.decodeFtBucket(ft.lookup(Abi.u32(i)) as Buffer));
    return out;
  } finally {
    ft.dispose();
  }
}

/** Entries of the instance's lb_ct that a peer's record wrote (LB_CT_F_SYNCED). */
function syncedEntries(instance: string): number {
  const ct = BpfMap.fromPinned(`${instancePaths(instance).maps}/lb_ct`);
  try {
    return [...ct.keys()].filter((k) => ((ct.lookup(k) as Buffer | null)?.readUInt8(47) ?? 0) & CT_F_SYNCED).length;
  } finally {
    ct.dispose();
  }
}
