// BpfProgram.testRun against the real kernel: a program that swaps the MAC addresses returns XDP_TX
// and the rewritten frame; the async form, the context and the output-size error.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BpfObject, type BpfProgram, probe, ProgType, TestRunFlags, XDP_MD_SIZE, XdpAction, xdpMd } from '@xdp-lb/native';
import { fixture } from './helpers/fixtures.js';
import { ethernetFrame, mac } from './helpers/packets.js';
import { announceSkip, bpfSkipReason } from './helpers/requirements.js';

announceSkip('testRun', bpfSkipReason);

const CLIENT = '02:00:00:00:00:01';
const LB = '02:00:00:00:00:02';

describe.skipIf(bpfSkipReason !== null)('BpfProgram.testRun', () => {
  let obj: BpfObject;
  let swap: BpfProgram;

  beforeAll(async () => {
    obj = BpfObject.open(fixture('swap_mac'));
    await obj.load();
    swap = obj.program('xdp_swap_mac');
  });
  afterAll(() => obj?.dispose());

  it('probe().liveFrames says what a live-frames run of a real program gets', async () => {
    // The probe's verdict is what tests and `lb doctor` act on: it must agree with the kernel.
    const p = probe();
    const fixtureObj = BpfObject.open(fixture('live_frames'));
    await fixtureObj.load();
    const live = fixtureObj.program('xdp_drop_all');
    const run = () =>
      live.testRun({ data: ethernetFrame({ dst: LB, src: CLIENT, etherType: 0x88b5 }), flags: TestRunFlags.XDP_LIVE_FRAMES });
    if (p.liveFrames) {
      expect(p.liveFramesErrno).toBeUndefined();
      expect(run).not.toThrow();
    } else {
      expect(p.reasons.join('\n')).toContain(`live frames (BPF_F_TEST_XDP_LIVE_FRAMES): ${p.liveFramesErrno}`);
      expect(run).toThrow(expect.objectContaining({ code: p.liveFramesErrno }));
    }
    fixtureObj.dispose();
  });

  it('identifies the loaded program', () => {
    expect(swap.type).toBe(ProgType.XDP);
    expect(swap.info()).toMatchObject({ name: 'xdp_swap_mac', type: ProgType.XDP, id: swap.id });
    expect(swap.tag).toMatch(/^[0-9a-f]{16}$/);
  });

  it('returns XDP_TX and the frame with its MAC addresses swapped, payload untouched', () => {
    const input = ethernetFrame({ dst: LB, src: CLIENT, etherType: 0x0800, payloadLength: 100 });
    const result = swap.testRun({ data: input });
    expect(result.retval).toBe(XdpAction.TX);
    const out = result.data!;
    expect(out).toHaveLength(input.length);
    expect(out.subarray(0, 6)).toEqual(mac(CLIENT));
    expect(out.subarray(6, 12)).toEqual(mac(LB));
    expect(out.subarray(12)).toEqual(input.subarray(12));
    // The caller's buffer is not modified.
    expect(input.subarray(0, 6)).toEqual(mac(LB));
  });

  it('repeats and reports the kernel-measured average duration', () => {
    const result = swap.testRun({ data: ethernetFrame({ dst: LB, src: CLIENT, etherType: 0x0800 }), repeat: 1000 });
    expect(result.retval).toBe(XdpAction.TX);
    expect(result.durationNs).toBeGreaterThanOrEqual(0);
    expect(result.durationNs).toBeLessThan(1_000_000);
  });

  it('testRunAsync gives the same result on a worker thread', async () => {
    const input = ethernetFrame({ dst: LB, src: CLIENT, etherType: 0x86dd });
    const result = await swap.testRunAsync({ data: input });
    expect(result.retval).toBe(XdpAction.TX);
    expect(result.data).toEqual(swap.testRun({ data: input }).data);
    // With repeat the kernel runs the program on its own previous output: an even number of swaps
    // gives the input back.
    expect((await swap.testRunAsync({ data: input, repeat: 10 })).data).toEqual(input);
  });

  it('passes a struct xdp_md context in and out', () => {
    const data = ethernetFrame({ dst: LB, src: CLIENT, etherType: 0x0800 });
    const result = swap.testRun({ data, ctx: xdpMd({ packetLength: data.length }) });
    expect(result.ctx).toHaveLength(XDP_MD_SIZE);
    expect(result.ctx!.readUInt32LE(4)).toBe(data.length); // data_end
    // A context that contradicts the packet is refused.
    expect(() => swap.testRun({ data, ctx: xdpMd({ packetLength: data.length + 1 }) })).toThrow(
      expect.objectContaining({ code: 'EINVAL' }),
    );
  });

  it('fails clearly when the output does not fit dataSizeOut', async () => {
    const data = ethernetFrame({ dst: LB, src: CLIENT, etherType: 0x0800 });
    expect(() => swap.testRun({ data, dataSizeOut: 10 })).toThrow(
      expect.objectContaining({ code: 'ENOSPC', syscall: 'bpf_prog_test_run_opts', message: expect.stringContaining('dataSizeOut (10)') }),
    );
    await expect(swap.testRunAsync({ data, dataSizeOut: 10 })).rejects.toMatchObject({ code: 'ENOSPC' });
  });

  it('checks its options at the boundary', async () => {
    expect(() => swap.testRun({} as never)).toThrow(TypeError);
    expect(() => swap.testRun({ data: Buffer.alloc(60), repeat: -1 })).toThrow(RangeError);
    await expect(swap.testRunAsync(undefined as never)).rejects.toThrow(TypeError);
  });
});
