// Chaining with other XDP programs ("shared mode", bpf/README.md), through BPF_PROG_TEST_RUN of the
// root program: xdp_root tail-calls slot 0 of lb_root_progs, each member tail-calls its next slot
// (rodata chain_next_slot) with what it passes on. Members reuse the root's array by fd, as the
// control plane reuses its pin. Chains: root -> filter -> lb -> count_pass, and root -> lb -> filter
// -> count_pass; also an empty next slot (XDP_PASS) and the lb with the chain off.
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BpfObject, type BpfMap, type BpfProgram } from '@xdp-lb/native';
import { LB_ADDR_VIP } from './harness/abi.js';
import { backendMac, bpfSkipReason, type RunResult, TestDataplane, VERDICT, type Verdict } from './harness/dataplane.js';
import { MAC, tcp, udp, withMacs } from './harness/frames.js';

if (bpfSkipReason) console.warn(`[bpf chain] skipped: ${bpfSkipReason}`);

const VIP = '198.18.0.10';
const BE = '198.18.2.1';
const OTHER = '198.18.0.99'; // not the LB's: passed on
const FILTERED_PORT = 9999;
const obj = (name: string) => fileURLToPath(new URL(`../obj/${name}.bpf.o`, import.meta.url));
const u32 = (n: number) => {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n >>> 0);
  return b;
};

function run(prog: BpfProgram, frame: Buffer): RunResult {
  const ctx = Buffer.alloc(24);
  ctx.writeUInt32LE(frame.length, 4);
  ctx.writeUInt32LE(1, 12);
  const r = prog.testRun({ data: frame, ctx });
  return { verdict: (VERDICT[r.retval] ?? `retval ${r.retval}`) as Verdict, data: r.data as Buffer };
}

const sum = (m: BpfMap, key: number) => (m.lookup(u32(key)) as Buffer[]).reduce((a, b) => a + b.readBigUInt64LE(0), 0n);

/** A member object (filter, count_pass) with its rodata, sharing the root's array. */
async function member(name: string, root: BpfMap, vars: Record<string, number> = {}): Promise<BpfObject> {
  const o = BpfObject.open(obj(name));
  try {
    for (const [k, v] of Object.entries(vars)) o.setVariable(k, u32(v));
    if (o.maps().some((m) => m.name === 'lb_root_progs')) o.map('lb_root_progs').reuseFd(root);
    await o.load();
    return o;
  } catch (e) {
    o.dispose();
    throw e;
  }
}

function setUp(dp: TestDataplane): void {
  dp.addAddr(VIP, LB_ADDR_VIP);
  dp.addService({ vip: VIP, port: 80, proto: 'tcp', id: 0, fwd: 'dsr' });
  dp.setBackend(1, { addr: BE, port: 80 });
  dp.setTable(0, [1]);
}

const service = tcp({ src: '198.18.1.1', dst: VIP, sport: 40000, dport: 80, flags: 'S' });
const filtered = udp({ src: '198.18.1.1', dst: OTHER, sport: 40000, dport: FILTERED_PORT, payload: 'x' });
const notOurs = tcp({ src: '198.18.1.1', dst: OTHER, sport: 40000, dport: 22, flags: 'S' });
const vipUnsupported = udp({ src: '198.18.1.1', dst: VIP, sport: 40000, dport: 53, payload: 'q' });

describe.skipIf(bpfSkipReason !== null)('chaining (shared mode)', () => {
  let root: BpfObject;
  let rootMap: BpfMap;
  let count: BpfObject;
  const objects: Array<{ dispose(): void }> = [];

  beforeAll(async () => {
    root = BpfObject.open(obj('xdp_root'));
    await root.load();
    rootMap = root.map('lb_root_progs');
    count = await member('xdp_count_pass', rootMap);
    objects.push(count);
  });
  afterAll(() => {
    for (const o of objects) o.dispose();
    root?.dispose();
  });

  const reached = () => sum(count.map('cp_stats'), 0);
  const clearSlots = () => {
    for (let i = 0; i < 4; i++) rootMap.delete(u32(i));
  };

  it('root -> filter -> lb -> count_pass: balanced, filtered, passed on', async () => {
    const filter = await member('xdp_filter_sample', rootMap, { filter_udp_port: FILTERED_PORT, chain_next_slot: 1 });
    objects.push(filter);
    const dp = await TestDataplane.load('hash', { chain_next_slot: 2 }, 65536, { lb_root_progs: rootMap });
    objects.push(dp);
    setUp(dp);
    clearSlots();
    rootMap.update(u32(0), filter.program('xdp_filter_sample'));
    rootMap.update(u32(1), dp.program);
    rootMap.update(u32(2), count.program('xdp_count_pass'));
    const entry = root.program('xdp_root');
    const fstats = filter.map('filter_stats');

    // a service packet: through the filter, balanced by the lb (DSR: only MACs change)
    let n = reached();
    let delta = dp.countDelta(() => {
      const r = run(entry, service);
      expect(r.verdict).toBe('TX');
      expect(r.data.equals(withMacs(service, backendMac(1), MAC.lb))).toBe(true);
    });
    expect(delta).toEqual({ TX: 1, CT_NEW: 1, CT_HALF_OPEN: 1 }); // a SYN: tracked half-open (lib/halfopen.h)
    expect(reached()).toBe(n);
    expect(sum(fstats, 1)).toBe(1n);

    // a filtered packet: dropped by the filter, the lb never sees it
    delta = dp.countDelta(() => expect(run(entry, filtered).verdict).toBe('DROP'));
    expect(delta).toEqual({});
    expect(sum(fstats, 0)).toBe(1n);
    expect(reached()).toBe(n);

    // not ours (another address; a VIP's unserved port): the lb tail-calls slot 2, untouched
    for (const [frame, reason] of [
      [notOurs, 'PASS_NOT_OURS'],
      [vipUnsupported, 'PASS_UNSUPPORTED'],
    ] as const) {
      n = reached();
      delta = dp.countDelta(() => {
        const r = run(entry, frame);
        expect(r.verdict).toBe('PASS');
        expect(r.data.equals(frame)).toBe(true);
      });
      expect(delta).toEqual({ [reason]: 1 });
      expect(reached()).toBe(n + 1n);
    }

    // the next slot empty: the tail call fails, the lb returns XDP_PASS
    rootMap.delete(u32(2));
    n = reached();
    expect(run(entry, notOurs).verdict).toBe('PASS');
    expect(reached()).toBe(n);
    // and the lb run on its own (attached directly, chain knob set) behaves the same
    expect(dp.run(notOurs).verdict).toBe('PASS');
    expect(dp.run(service).verdict).toBe('TX');
  });

  it('root -> lb -> filter -> count_pass: the lb first, the filter sees what it passes on', async () => {
    const dp = await TestDataplane.load('hash', { chain_next_slot: 1 }, 65536, { lb_root_progs: rootMap });
    objects.push(dp);
    setUp(dp);
    const filter = await member('xdp_filter_sample', rootMap, { filter_udp_port: FILTERED_PORT, chain_next_slot: 2 });
    objects.push(filter);
    clearSlots();
    rootMap.update(u32(0), dp.program);
    rootMap.update(u32(1), filter.program('xdp_filter_sample'));
    rootMap.update(u32(2), count.program('xdp_count_pass'));
    const entry = root.program('xdp_root');
    const fstats = filter.map('filter_stats');

    const n = reached();
    expect(run(entry, service).verdict).toBe('TX');
    expect(sum(fstats, 0) + sum(fstats, 1)).toBe(0n); // balanced: the filter never saw it
    let delta = dp.countDelta(() => expect(run(entry, filtered).verdict).toBe('DROP'));
    expect(delta).toEqual({ PASS_NOT_OURS: 1 }); // the lb passed it on, the filter dropped it
    expect(sum(fstats, 0)).toBe(1n);
    expect(reached()).toBe(n);
    delta = dp.countDelta(() => expect(run(entry, notOurs).verdict).toBe('PASS'));
    expect(delta).toEqual({ PASS_NOT_OURS: 1 });
    expect(sum(fstats, 1)).toBe(1n);
    expect(reached()).toBe(n + 1n);
  });

  it('chain off (the default): the lb returns XDP_PASS and tail-calls nothing', async () => {
    const dp = await TestDataplane.load('hash', {}, 65536, { lb_root_progs: rootMap });
    objects.push(dp);
    setUp(dp);
    clearSlots();
    rootMap.update(u32(0), dp.program);
    rootMap.update(u32(1), count.program('xdp_count_pass'));
    rootMap.update(u32(2), count.program('xdp_count_pass'));
    const n = reached();
    expect(run(root.program('xdp_root'), notOurs).verdict).toBe('PASS');
    expect(run(root.program('xdp_root'), service).verdict).toBe('TX');
    expect(reached()).toBe(n);
    expect(dp.variable('chain_next_slot').readUInt32LE(0)).toBe(0xffffffff);
  });
});
