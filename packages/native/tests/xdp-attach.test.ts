// XDP attach on a real veth inside a network namespace this test creates: bpf_link attach in skb
// and drv mode, pinning, reopening and updating the link from a second process, atomic update,
// detach; netlink attach; offload (hw) refusal; live-frames packet generation to the veth peer.
import { existsSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  BpfLink,
  BpfObject,
  type BpfProgram,
  TestRunFlags,
  XdpFlags,
  type XdpMode,
  ifNameToIndex,
  inNetns,
  xdpAttachNetlink,
  xdpDetachNetlink,
  xdpMd,
  xdpQuery,
} from '@xdp-lb/native';
import { bpfFdCount, fixture, u32 } from './helpers/fixtures.js';
import { createVethNetns, type VethNetns } from './helpers/netns.js';
import { ethernetFrame } from './helpers/packets.js';
import { createPinDir, type PinDir } from './helpers/pins.js';
import { announceSkip, liveFramesSkipReason, netnsSkipReason } from './helpers/requirements.js';
import { prepareSecondProcess, type SecondProcess } from './helpers/second-process.js';

announceSkip('XDP attach', netnsSkipReason);
if (netnsSkipReason === null) announceSkip('XDP attach: live frames', liveFramesSkipReason, true);

describe.skipIf(netnsSkipReason !== null)('XDP attach on a veth in a private network namespace', () => {
  let ns: VethNetns;
  let pins: PinDir;
  let obj: BpfObject;
  let first: BpfProgram;
  let second: BpfProgram;
  let child: SecondProcess;
  // Everything attached here, so afterAll can let go of it even when a test failed half-way.
  const links: BpfLink[] = [];

  beforeAll(async () => {
    ns = createVethNetns();
    pins = createPinDir();
    obj = BpfObject.open(fixture('attach_pair'));
    await obj.load();
    first = obj.program('xdp_first');
    second = obj.program('xdp_second');
    child = await prepareSecondProcess();
  });

  afterAll(() => {
    for (const link of links) link.dispose();
    obj?.dispose();
    pins?.remove(); // removes pinned links too, which detaches them
    ns?.remove(); // and the veths go with the namespace
    child?.remove();
  });

  const query = (ifindex: number) => inNetns(ns.path, () => xdpQuery(ifindex));
  const ifindexOf = (name: string) => inNetns(ns.path, () => ifNameToIndex(name));

  it('resolves interface names inside the namespace only', () => {
    expect(ifindexOf(ns.a)).toBeGreaterThan(0);
    expect(() => ifNameToIndex(ns.a)).toThrow(expect.objectContaining({ code: 'ENODEV' }));
  });

  it.each(['skb', 'drv'] as XdpMode[])('%s mode: link attach, pin, reopen and update from a second process, detach', (mode) => {
    const linkPin = pins.at(`link-${mode}`);
    const programPin = pins.at(`second-${mode}`);
    const { ifindex, link } = inNetns(ns.path, () => {
      const ifindex = ifNameToIndex(ns.a);
      const link = BpfLink.attachXdp(first, ifindex, { mode });
      links.push(link);
      return { ifindex, link };
    });
    const linkId = link.info().id;
    expect(link.info()).toMatchObject({ progId: first.id, ifindex });
    expect(query(ifindex)).toMatchObject({ mode, progId: first.id, [`${mode}ProgId`]: first.id, attachment: 'link', linkId });

    link.pin(linkPin);
    second.pin(programPin);
    const r = child.run('reopen-link.mjs', [linkPin, programPin]);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const report = JSON.parse(r.stdout);
    expect(report.before).toMatchObject({ id: linkId, progId: first.id, ifindex });
    expect(report.after).toMatchObject({ id: linkId, progId: second.id, ifindex });
    // The pinned link outlived the second process and runs what it swapped in.
    expect(query(ifindex)).toMatchObject({ mode, progId: second.id, attachment: 'link', linkId });

    // Compare-and-swap update from this process: only if the link still runs `second`.
    link.update(first, { expectedProgram: second });
    expect(query(ifindex).progId).toBe(first.id);
    expect(() => link.update(second, { expectedProgram: second })).toThrow(expect.objectContaining({ code: 'EPERM' }));

    link.detach();
    expect(query(ifindex)).toMatchObject({ mode: 'none', progId: 0, attachment: null });
    expect(link.info().ifindex).toBe(0);
    expect(() => link.update(second)).toThrow(expect.objectContaining({ code: 'ENOLINK' }));

    link.unpin();
    second.unpin(programPin);
    link.dispose();
    expect(existsSync(linkPin)).toBe(false);
    expect(existsSync(programPin)).toBe(false);
    expect(() => link.info()).toThrow(expect.objectContaining({ code: 'ERR_LB_DISPOSED' }));
  });

  it('an unpinned link lives as long as its fd: dispose detaches', () => {
    const ifindex = ifindexOf(ns.a);
    const link = inNetns(ns.path, () => BpfLink.attachXdp(first, ifindex, { mode: 'skb' }));
    links.push(link);
    expect(query(ifindex).mode).toBe('skb');
    link.dispose();
    expect(query(ifindex).mode).toBe('none');
  });

  it('netlink attach shows as a netlink attachment and blocks links until detached', () => {
    const ifindex = ifindexOf(ns.a);
    inNetns(ns.path, () => xdpAttachNetlink(ifindex, first, 'drv'));
    try {
      expect(query(ifindex)).toMatchObject({ mode: 'drv', drvProgId: first.id, attachment: 'netlink' });
      expect(query(ifindex).linkId).toBeUndefined();
      expect(() => inNetns(ns.path, () => xdpAttachNetlink(ifindex, second, 'drv', XdpFlags.UPDATE_IF_NOEXIST))).toThrow(
        expect.objectContaining({ code: 'EBUSY', syscall: 'bpf_xdp_attach' }),
      );
      expect(() => inNetns(ns.path, () => BpfLink.attachXdp(second, ifindex, { mode: 'drv' }))).toThrow(
        expect.objectContaining({ code: 'EBUSY', message: expect.stringContaining('already attached') }),
      );
    } finally {
      inNetns(ns.path, () => xdpDetachNetlink(ifindex, 'drv'));
    }
    expect(query(ifindex).mode).toBe('none');
  });

  it('offload (hw) mode fails clearly on a veth and leaves nothing behind', () => {
    const ifindex = ifindexOf(ns.a);
    const fds = bpfFdCount();
    const expected = expect.objectContaining({
      code: 'EINVAL',
      errno: -22,
      message: expect.stringContaining('offload (hw) XDP is not supported by this interface'),
    });
    expect(() => inNetns(ns.path, () => BpfLink.attachXdp(first, ifindex, { mode: 'hw' }))).toThrow(expected);
    expect(() => inNetns(ns.path, () => xdpAttachNetlink(ifindex, first, 'hw'))).toThrow(expected);
    expect(bpfFdCount()).toBe(fds);
    expect(query(ifindex).mode).toBe('none');
  });

  it.skipIf(liveFramesSkipReason !== null)(
    'live frames: XDP_TX from a test run goes out of veth a and reaches the program on its peer b',
    async () => {
      const live = BpfObject.open(fixture('live_frames'));
      try {
        await live.load();
        const frame = ethernetFrame({ dst: '02:00:00:00:00:0b', src: '02:00:00:00:00:0a', etherType: 0x88b5 });
        const frames = 64;
        inNetns(ns.path, () => {
          const xa = ifNameToIndex(ns.a);
          const xb = ifNameToIndex(ns.b);
          // veth hands XDP_TX'd frames only to a peer that runs an XDP program in native mode.
          links.push(BpfLink.attachXdp(live.program('xdp_count_probe'), xb, { mode: 'drv' }));
          const result = live.program('xdp_tx_all').testRun({
            data: frame,
            repeat: frames,
            ctx: xdpMd({ packetLength: frame.length, ingressIfindex: xa }),
            flags: TestRunFlags.XDP_LIVE_FRAMES,
          });
          expect(result.data).toBeNull();
        });
        // The peer processes the frames in its NAPI poll, shortly after the run returns.
        const counter = live.map('t_probe_rx');
        const deadline = Date.now() + 3000;
        let received = 0n;
        while (Date.now() < deadline) {
          received = (counter.lookup(u32(0)) as Buffer).readBigUInt64LE(0);
          if (received >= BigInt(frames)) break;
          await new Promise((r) => setTimeout(r, 20));
        }
        expect(received).toBe(BigInt(frames));
      } finally {
        links.pop()?.dispose();
        live.dispose();
      }
    },
  );
});
