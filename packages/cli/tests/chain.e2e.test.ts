// Chained mode (coexisting with another XDP program): xdp-lb in slot 0 of a chain root, a filter
// of our own in slot 1 getting what xdp-lb passes on. Real traffic in a lab: the VIP is balanced,
// the filter drops what it filters among the host's own traffic, the rest reaches the host; leaving
// the chain keeps the root on the interface while another member uses it.
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { BpfMap, BpfObject, BpfProgram, ifNameToIndex, inNetns, xdpQuery } from '@xdp-lb/native';
import { httpGet, tutorialAddresses, tutorialTopology, udpRequest } from '@xdp-lb/netlab';
import { useE2e } from './helpers/e2e.js';

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

describe.skipIf(process.getuid?.() !== 0)('chained with another XDP program', () => {
  it('balances the VIP in slot 0 and hands the rest to a filter in slot 1', async () => {
    const opts = { clients: 1, backends: 2 };
    const a = tutorialAddresses(opts);
    const lab = await e2e.lab(tutorialTopology(opts));
    const lbHost = lab.host('lb');
    await lbHost.startUdpEcho({ port: 7000 });
    await lbHost.startUdpEcho({ port: 9999 });
    const instance = e2e.instance('chain');
    const chain = `c${process.pid}`;
    await e2e.deploy(lab, {
      instance,
      interfaces: ['eth0:native'],
      chain: { name: chain, slot: 0, next: 1 },
      snat: { addresses: [a.lb], ports: e2e.snatPorts() },
      services: [{ vip: `${a.vip}:80`, backends: a.backends }],
    });
    // The interface runs the chain root, not xdp_lb itself.
    const dir = join(chainRoot, chain);
    const rootProg = BpfProgram.fromPinned(join(dir, 'xdp_root'));
    const rootId = rootProg.id;
    rootProg.dispose();
    const onIface = inNetns(lbHost.netns.path, () => xdpQuery(ifNameToIndex('eth0')));
    expect(onIface.progId).toBe(rootId);

    // A filter of our own joins the chain in slot 1: it drops UDP to port 9999.
    const filter = BpfObject.open(FILTER_OBJ);
    const array = BpfMap.fromPinned(join(dir, 'lb_root_progs'));
    try {
      filter.setVariable('filter_udp_port', u32(9999));
      filter.map('lb_root_progs').reuseFd(array);
      await filter.load();
      array.update(u32(1), filter.program(filter.programs()[0]!.name));
    } finally {
      filter.dispose();
    }
    const client = lab.host('client1');
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
    array.delete(u32(1));
    array.dispose();
    rmSync(dir, { recursive: true, force: true });
    expect(inNetns(lbHost.netns.path, () => xdpQuery(ifNameToIndex('eth0'))).progId).toBe(0);
  });
});
