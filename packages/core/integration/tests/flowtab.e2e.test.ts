// The flow table's control plane (limits.flowTable, limits.flowTableBuckets) with the real program
// on the tutorial lab: deploy sizes lb_ft4 and sets ft_mask from it (a flow's slot is in the bucket
// the TypeScript lb_ft_hash names), `lb status` counts the table's flows, a re-deploy with another
// bucket count moves the live flows into lb_ct (they keep their backend), and turning the table off
// moves them too and leaves a 1-bucket map. Flows are BPF_PROG_TEST_RUN packets of fixed tuples
// through the attached program, in the LB's namespace (as testkit's probe()).
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { Abi, FlowTab, FlowTable, instancePaths, resolveConfig } from '@xdp-lb/core';
import { BpfMap, BpfProgram, inNetns, xdpMd } from '@xdp-lb/native';
import { buildFrame, type Lab, parseFrame, tutorialAddresses, tutorialTopology } from '@xdp-lb/netlab';
import { describeLab } from '@xdp-lb/netlab/vitest';
import { useE2e, VERDICTS } from './support.js';

const e2e = useE2e();
const addr = tutorialAddresses({ clients: 1, backends: 2 });
const HASH_SEED = 0x2545f491;

const withMap = <T>(instance: string, name: string, f: (m: BpfMap) => T): T => {
  const m = BpfMap.fromPinned(join(instancePaths(instance).maps, name));
  try {
    return f(m);
  } finally {
    m.dispose();
  }
};

describeLab('the flow table', () => {
  it('sized by deploy, found where lb_ft_hash says, counted by status, moved to lb_ct on a resize and when off', async () => {
    const lab: Lab = await e2e.lab(tutorialTopology({ clients: 1, backends: 2 }));
    const instance = e2e.instance('flowtab');
    const cfg = (limits: Record<string, unknown>) => ({
      instance,
      interfaces: ['eth0'],
      hashSeed: HASH_SEED,
      limits: { conntrackSize: 4096, ...limits },
      services: [
        { vip: `${addr.vip}:53`, protocol: 'udp', forward: 'ipip', backends: addr.backends },
        { vip: `${addr.vip}:80`, forward: 'ipip', backends: addr.backends },
      ],
    });
    const flows = Array.from({ length: 24 }, (_, i) => ({
      saddr: { text: `198.18.3.${10 + i}`, family: 4 as const },
      daddr: { text: addr.vip, family: 4 as const },
      sport: 20000 + 7 * i,
      dport: 53,
      proto: Abi.IPPROTO_UDP,
    }));
    const syn = { ...flows[0]!, sport: 33333, dport: 80, proto: Abi.IPPROTO_TCP };
    /** One packet of `t` through the attached program: where it went (the outer destination: the backend). */
    let st: ReturnType<ReturnType<typeof e2e.lb>['status']> | undefined; // the attached program, read once per deploy
    const deploy = async (limits: Record<string, unknown>) => {
      const r = await e2e.deploy(lab, cfg(limits));
      st = e2e.lb().status(instance);
      return r;
    };
    const send = (t: FlowTab.FtTuple): string => {
      st ??= e2e.lb().status(instance);
      const ipv4 = { src: t.saddr.text, dst: t.daddr.text };
      const frame = Buffer.from(
        buildFrame(
          t.proto === Abi.IPPROTO_TCP
            ? { eth: {}, ipv4, tcp: { sport: t.sport, dport: t.dport, flags: 'S' } }
            : { eth: {}, ipv4, udp: { sport: t.sport, dport: t.dport }, payload: 'flowtab' },
        ),
      );
      const prog = BpfProgram.fromId(st.interfaces[0]!.progId!);
      try {
        const r = inNetns(`/run/netns/${lab.host('lb').netns.name}`, () =>
          prog.testRun({ data: frame, ctx: xdpMd({ packetLength: frame.length, ingressIfindex: st!.interfaces[0]!.ifindex }) }),
        );
        expect(VERDICTS[r.retval]).toMatch(/^(TX|REDIRECT)$/);
        return parseFrame(r.data as Buffer).ipv4!.dst;
      } finally {
        prog.dispose();
      }
    };
    const pinnedBuckets = () => withMap(instance, Abi.MAPS.ft4, (m) => m.maxEntries);
    const ctKeys = () => withMap(instance, Abi.MAPS.ct, (m) => new Set([...m.keys()].map((k) => k.toString('hex'))));
    const flowKey = (t: FlowTab.FtTuple) =>
      Abi.encodeFlow({ src: t.saddr, dst: t.daddr, sport: t.sport, dport: t.dport, proto: t.proto }).toString('hex');
    try {
      // Default: 2 slots per conntrack entry, 4096 / 2 buckets.
      await deploy({});
      expect(pinnedBuckets()).toBe(2048);
      expect(e2e.lb().status(instance).flowTable).toEqual({ buckets: 2048, established: 0, halfOpen: 0 });

      const backendOf = new Map(flows.map((t) => [flowKey(t), send(t)]));
      send(syn);
      // Each flow is in the bucket the TypeScript hash names with the deployed seed and size: the
      // data plane's ft_mask is the map's size - 1.
      withMap(instance, Abi.MAPS.ft4, (m) => {
        for (const t of flows) {
          const b = m.lookup(Abi.u32(FlowTab.ftBucketOf(t, HASH_SEED, 2048))) as Buffer;
          const slot = Abi.decodeFtBucket(b).find((s) => s.saddr.text === t.saddr.text && s.sport === t.sport);
          expect(slot, `${t.saddr.text}:${t.sport} in bucket ${FlowTab.ftBucketOf(t, HASH_SEED, 2048)}`).toMatchObject({
            state: Abi.CT_OPEN,
            fwd: Abi.FWD_IPIP,
            proto: Abi.IPPROTO_UDP,
            dport: 53,
          });
        }
      });
      const counted = e2e.lb().status(instance);
      expect(counted.flowTable).toEqual({ buckets: 2048, established: flows.length, halfOpen: 1 });
      expect(counted.conntrack.entries).toBeGreaterThanOrEqual(flows.length);
      expect(counted.halfOpen.entries).toBeGreaterThanOrEqual(1);
      // Not in lb_ct: the table holds them.
      const before = ctKeys();
      expect(flows.filter((t) => before.has(flowKey(t)))).toEqual([]);
      // A starting cluster peer's pull carries them, each with its backend's address.
      const table = new FlowTable(instance);
      try {
        table.refresh(resolveConfig(cfg({})));
        const pulled = new Map((await table.live(process.hrtime.bigint())).map((f) => [f.tuple.toString('hex'), f.backendAddr]));
        for (const t of flows)
          expect(pulled.get(flowKey(t).slice(0, 74)), `${t.saddr.text}:${t.sport} pulled`).toEqual(
            Abi.encodeAddr({ text: backendOf.get(flowKey(t))!, family: 4 }),
          );
        expect(pulled.has(flowKey(syn).slice(0, 74)), 'a half-open flow is not pulled').toBe(false);
      } finally {
        table.close();
      }

      // Another bucket count: a new empty table, the live flows moved to lb_ct, same backends.
      const r = await deploy({ flowTableBuckets: 4096 });
      expect(r.warnings).toContainEqual(
        expect.stringMatching(
          /^limits\.flowTableBuckets 2048 -> 4096: a new, empty flow table; \d+ flows of the old one moved to the conntrack table/,
        ),
      );
      expect(pinnedBuckets()).toBe(4096);
      const moved = ctKeys();
      expect(flows.filter((t) => !moved.has(flowKey(t)))).toEqual([]);
      expect(withMap(instance, Abi.MAPS.ctSyn, (m) => [...m.keys()].map((k) => k.toString('hex')))).toContain(flowKey(syn));
      const after = e2e.lb().status(instance);
      expect(after.flowTable).toEqual({ buckets: 4096, established: 0, halfOpen: 0 });
      expect(after.conntrack.entries).toBeGreaterThanOrEqual(flows.length);
      for (const t of flows) expect(send(t), `${t.saddr.text}:${t.sport} keeps its backend`).toBe(backendOf.get(flowKey(t)));

      // Off: a 1-bucket table, never read; new flows go to lb_ct.
      const fresh = flows.map((t) => ({ ...t, sport: t.sport + 1 }));
      for (const t of fresh) send(t);
      const off = await deploy({ flowTable: false });
      expect(off.warnings).toContainEqual(
        expect.stringMatching(/^limits\.flowTable off: the flow table emptied; \d+ flows of the old one moved/),
      );
      expect(pinnedBuckets()).toBe(1);
      expect(e2e.lb().status(instance).flowTable).toBeUndefined();
      const offKeys = ctKeys();
      expect(fresh.filter((t) => !offKeys.has(flowKey(t)))).toEqual([]);
      const newFlow = { ...flows[0]!, sport: 5555 };
      send(newFlow);
      expect(ctKeys().has(flowKey(newFlow))).toBe(true);

      // On again: a table of the default size, the off table's single bucket replaced.
      const on = await deploy({});
      expect(on.warnings).toContain('limits.flowTable on: a flow table of 2048 buckets');
      expect(pinnedBuckets()).toBe(2048);
    } finally {
      e2e.lb().undeploy(instance);
    }
  }, 120_000);
});
