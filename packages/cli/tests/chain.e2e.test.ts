// Chained mode (coexisting with another XDP program): xdp-lb in slot 0 of a chain root, a filter
// of our own in slot 1 getting what xdp-lb passes on. Real traffic in a lab: the VIP is balanced,
// the filter drops what it filters among the host's own traffic, the rest reaches the host; leaving
// the chain keeps the root on the interface while another member uses it.
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { lockChain } from '@xdp-lb/core';
import { BpfMap, BpfProgram, ifNameToIndex, inNetns, xdpQuery } from '@xdp-lb/native';
import { httpGet, tutorialAddresses, tutorialTopology, udpRequest } from '@xdp-lb/netlab';
import { lbInProcess, useE2e } from './helpers/e2e.js';

const e2e = useE2e();
const chainRoot = `${e2e.bpffs}-chains`;
process.env.XDP_LB_CHAIN_BPFFS = chainRoot;
afterAll(() => rmSync(chainRoot, { recursive: true, force: true }));
const FILTER_OBJ = fileURLToPath(new URL('../../../bpf/obj/xdp_filter_sample.bpf.o', import.meta.url));
const u32 = (n: number) => {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n >>> 0);
  return b;
};

/** The tutorial lab (1 client, 2 backends, UDP echo on 7000 and 9999 at the LB) with xdp-lb deployed in `chain`. */
async function chainedLab(label: string, chain: { name: string; slot: number; next?: number }) {
  const opts = { clients: 1, backends: 2 };
  const a = tutorialAddresses(opts);
  const lab = await e2e.lab(tutorialTopology(opts));
  const lbHost = lab.host('lb');
  await lbHost.startUdpEcho({ port: 7000 });
  await lbHost.startUdpEcho({ port: 9999 });
  const instance = e2e.instance(label);
  await e2e.deploy(lab, {
    instance,
    interfaces: ['eth0:native'],
    chain,
    snat: { addresses: [a.lb], ports: e2e.snatPorts() },
    services: [{ vip: `${a.vip}:80`, backends: a.backends }],
  });
  return { a, lbHost, instance, client: lab.host('client1') };
}

describe.skipIf(process.getuid?.() !== 0)('chained with another XDP program', () => {
  it('balances the VIP in slot 0 and hands the rest to a filter in slot 1', async () => {
    const chain = `c${process.pid}`;
    const { a, lbHost, instance, client } = await chainedLab('chain', { name: chain, slot: 0, next: 1 });
    // The interface runs the chain root, not xdp_lb itself.
    const dir = join(chainRoot, chain);
    const rootProg = BpfProgram.fromPinned(join(dir, 'xdp_root'));
    const rootId = rootProg.id;
    rootProg.dispose();
    const onIface = inNetns(lbHost.netns.path, () => xdpQuery(ifNameToIndex('eth0')));
    expect(onIface.progId).toBe(rootId);

    // A filter of our own joins the chain in slot 1 through the CLI: it drops UDP to port 9999.
    // Refused first, with nothing changed: xdp-lb's slot, a missing program, a variable it lacks.
    const refusals: [string[], RegExp][] = [
      [['chain', 'add', chain, '0', FILTER_OBJ], /^lb: slot 0 of chain \S+ is xdp-lb's \(instance \S+\): choose a free slot$/],
      [
        ['chain', 'add', chain, '1', FILTER_OBJ, '--program', 'nope'],
        /^lb: \S+xdp_filter_sample\.bpf\.o has no program nope \(it has: xdp_filter_sample\)$/,
      ],
      [['chain', 'add', chain, '1', FILTER_OBJ, '--set', 'no_such_var=1'], /^lb: \S+ has no global variable no_such_var \(it has: /],
      [['chain', 'add', chain, '1', FILTER_OBJ, '--next', '1'], /^lb: next slot 1 is the member's own slot/],
      [['chain', 'add', 'nochain', '1', FILTER_OBJ], /^lb: chain nochain does not exist/],
      [
        ['chain', 'remove', chain, '0'],
        /^lb: slot 0 of chain \S+ is xdp-lb's \(instance \S+\): it leaves the chain with lb undeploy --instance \S+$/,
      ],
      [['chain', 'remove', chain, '5'], /^lb: slot 5 of chain \S+ is empty$/],
    ];
    for (const [argv, err] of refusals) {
      const r = await lbInProcess(...argv);
      expect(r.code, argv.join(' ')).toBe(1);
      expect(r.err).toMatch(err);
    }
    expect(Object.keys(e2e.lb().chains(chain)[0]!.slots)).toHaveLength(1);
    // One writer per chain: while another holds the chain's lock (a deploy into it, or another
    // lb chain add), lb chain add waits, then gives up naming the holder, having changed nothing.
    const held = await lockChain(chain);
    process.env.XDP_LB_LOCK_TIMEOUT = '0.3';
    try {
      const r = await lbInProcess('chain', 'add', chain, '1', FILTER_OBJ);
      expect(r.code).toBe(1);
      expect(r.err).toMatch(
        new RegExp(
          `^lb: chain ${chain} is locked: pid ${process.pid} .*; waiting up to 0.3 s\\nlb: chain ${chain} is locked by another command: pid ${process.pid} \\(.*\\) holds it since \\S+; gave up after 0.3 s \\(XDP_LB_LOCK_TIMEOUT\\)$`,
        ),
      );
      expect(Object.keys(e2e.lb().chains(chain)[0]!.slots)).toHaveLength(1);
    } finally {
      delete process.env.XDP_LB_LOCK_TIMEOUT;
      held.release();
    }
    const add = await lbInProcess('chain', 'add', chain, '1', FILTER_OBJ, '--set', 'filter_udp_port=9999');
    expect(add.err).toBe('');
    expect(add.out).toMatch(new RegExp(`^chain ${chain}: slot 1 runs program \\d+ \\(xdp_filter_samp`));
    const again = await lbInProcess('chain', 'add', chain, '1', FILTER_OBJ);
    expect(again.err).toMatch(
      /holds program \d+ \(xdp_filter_samp\S*\): remove it first \(lb chain remove \S+ 1\) or replace it \(--replace, atomic\)$/,
    );
    const status = JSON.parse((await lbInProcess('chain', 'status', chain, '-o', 'json')).out) as {
      name: string;
      rootProgId: number;
      slots: { slot: number; name: string; owner: string }[];
    }[];
    expect(status).toEqual([
      {
        name: chain,
        rootProgId: rootId,
        slots: [
          expect.objectContaining({ slot: 0, name: 'xdp_lb', owner: `instance ${instance}` }),
          expect.objectContaining({ slot: 1, name: expect.stringMatching(/^xdp_filter_samp/), owner: 'external' }),
        ],
      },
    ]);
    const array = BpfMap.fromPinned(join(dir, 'lb_root_progs'));
    const served = new Set<string>();
    for (let i = 0; i < 6; i++) served.add((await httpGet(client, `http://${a.vip}/`, { timeoutMs: 3000 })).body.trim());
    expect([...served].every((s) => /^http\d$/.test(s))).toBe(true);
    expect(await udpRequest(client, { address: a.lb, port: 7000, timeoutMs: 1500 })).toBe('lb');
    await expect(udpRequest(client, { address: a.lb, port: 9999, timeoutMs: 800 })).rejects.toThrow();
    const st = e2e.lb().status(instance);
    expect(st.services[0]!.counters.newFlows).toBe(6);
    expect(st.reasons.pass_not_ours).toBeGreaterThan(0);

    // Leaving the chain: our slot is emptied; the root stays (the filter still holds slot 1). The
    // chain now ends at the empty slot 0 (the root passes everything), as bpf/README.md says.
    e2e.lb().undeploy(instance);
    expect(array.lookup(u32(0))).toBeNull();
    expect(array.lookup(u32(1))).not.toBeNull();
    expect(inNetns(lbHost.netns.path, () => xdpQuery(ifNameToIndex('eth0'))).progId).toBe(rootId);
    expect(await udpRequest(client, { address: a.lb, port: 9999, timeoutMs: 1500 })).toBe('lb');
    const table = await lbInProcess('chain', 'status');
    const lines = table.out.split('\n');
    const at = lines.indexOf(`chain ${chain}: root program ${rootId}`);
    expect(at).toBeGreaterThanOrEqual(0);
    expect(lines[at + 1]).toMatch(/^SLOT +PROGRAM +NAME +OWNER$/);
    expect(lines[at + 2]).toMatch(/^1 +\d+ +xdp_filter_samp\S* +external$/);
    // The last program out takes the chain with it: the root leaves the interface.
    const removed = await lbInProcess('chain', 'remove', chain, '1');
    expect(removed.out).toMatch(/slot 1 emptied \(program \d+\); it was the last: the chain and its root are gone$/);
    array.dispose();
    expect(inNetns(lbHost.netns.path, () => xdpQuery(ifNameToIndex('eth0'))).progId).toBe(0);
    expect((await lbInProcess('chain', 'status')).out).not.toContain(`chain ${chain}:`);
  });

  it('runs a filter added with lb chain add before xdp-lb: it drops what it filters and hands the rest over (--next)', async () => {
    const chain = `d${process.pid}`;
    const { a, instance, client } = await chainedLab('chain-after', { name: chain, slot: 1 });
    // Slot 0 is empty: the root passes everything to the host and xdp-lb (slot 1) sees nothing.
    await expect(httpGet(client, `http://${a.vip}/`, { timeoutMs: 1500 })).rejects.toThrow();
    const add = await lbInProcess('chain', 'add', chain, '0', FILTER_OBJ, '--next', '1', '--set', 'filter_udp_port=9999');
    expect(add.err).toBe('');
    expect(add.out).toMatch(/, passing on to slot 1$/);
    for (let i = 0; i < 4; i++) expect((await httpGet(client, `http://${a.vip}/`, { timeoutMs: 3000 })).body.trim()).toMatch(/^http\d$/);
    expect(await udpRequest(client, { address: a.lb, port: 7000, timeoutMs: 1500 })).toBe('lb');
    await expect(udpRequest(client, { address: a.lb, port: 9999, timeoutMs: 800 })).rejects.toThrow();
    expect(e2e.lb().status(instance).services[0]!.counters.newFlows).toBeGreaterThanOrEqual(4);
    // Replaced atomically by the same filter letting 9999 through; removed, the chain stays for xdp-lb.
    const replaced = await lbInProcess('chain', 'add', chain, '0', FILTER_OBJ, '--next', '1', '--replace');
    expect(replaced.err).toBe('');
    expect(await udpRequest(client, { address: a.lb, port: 9999, timeoutMs: 1500 })).toBe('lb');
    const removed = await lbInProcess('chain', 'remove', chain, '0');
    expect(removed.out).toMatch(/^chain \S+: slot 0 emptied \(program \d+\)$/);
    expect(
      e2e
        .lb()
        .chains(chain)[0]!
        .slots.map((x) => x.slot),
    ).toEqual([1]);
    e2e.lb().undeploy(instance);
    expect(e2e.lb().chains()).toEqual([]);
  });
});
