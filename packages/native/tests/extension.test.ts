// Extension ("freplace") programs: setAttachTarget before load, BpfLink.attachExtension after. A
// kernel may refuse BPF_PROG_TYPE_EXT outright (lockdown, no trampolines: this project's CI kernel
// does); then the load must fail with a system error naming the load, and nothing may leak. Where
// the kernel allows them, the replaced function's verdict must change for real.
import { describe, expect, it } from 'vitest';
import { BpfLink, BpfObject, ProgType } from '@xdp-lb/native';
import { bpfFdCount, fixture } from './helpers/fixtures.js';
import { ethernetFrame } from './helpers/packets.js';

const XDP_DROP = 1;
const XDP_PASS = 2;
const frame = () => ethernetFrame({ dst: '02:00:00:00:00:01', src: '02:00:00:00:00:02', etherType: 0x0800 });

async function loadedTarget(): Promise<BpfObject> {
  const target = BpfObject.open(fixture('freplace_target'));
  await target.load();
  return target;
}

describe('extension programs', () => {
  it('the target answers through its slot function until replaced', async () => {
    const target = await loadedTarget();
    try {
      expect(target.program('xdp_slotted').testRun({ data: frame() }).retval).toBe(XDP_PASS);
    } finally {
      target.dispose();
    }
  });

  it('setAttachTarget refuses a function the target does not have, naming it', async () => {
    const target = await loadedTarget();
    const ext = BpfObject.open(fixture('freplace_drop'));
    try {
      expect(ext.program('drop_slot').type).toBe(ProgType.EXT);
      expect(() => ext.program('drop_slot').setAttachTarget(target.program('xdp_slotted'), 'no_such_slot')).toThrow(
        expect.objectContaining({ syscall: 'bpf_program__set_attach_target', message: expect.stringContaining('no_such_slot') }),
      );
    } finally {
      ext.dispose();
      target.dispose();
    }
  });

  it('setAttachTarget needs an unloaded object and a loaded target', async () => {
    const ext = BpfObject.open(fixture('freplace_drop'));
    const unloaded = BpfObject.open(fixture('freplace_target'));
    try {
      expect(() => ext.program('drop_slot').setAttachTarget(unloaded.program('xdp_slotted'), 'verdict_slot')).toThrow(
        expect.objectContaining({ code: 'ERR_LB_NOT_LOADED' }),
      );
      // @ts-expect-error: a number is not a program
      expect(() => ext.program('drop_slot').setAttachTarget(7, 'verdict_slot')).toThrow(TypeError);
    } finally {
      ext.dispose();
      unloaded.dispose();
    }
    const target = await loadedTarget();
    try {
      expect(() => target.program('xdp_slotted').setAttachTarget(null, 'verdict_slot')).toThrow(
        expect.objectContaining({ code: 'ERR_LB_ALREADY_LOADED' }),
      );
    } finally {
      target.dispose();
    }
  });

  it('replaces the slot where the kernel allows extensions, or refuses the load with a system error', async () => {
    const before = bpfFdCount();
    const target = await loadedTarget();
    const ext = BpfObject.open(fixture('freplace_drop'));
    try {
      const slotted = target.program('xdp_slotted');
      ext.program('drop_slot').setAttachTarget(slotted, 'verdict_slot');
      let loadError: unknown;
      await ext.load().catch((e: unknown) => (loadError = e));
      if (loadError !== undefined) {
        // Refused: a kernel decision, reported as one, and the object is unusable afterwards.
        expect(loadError).toMatchObject({ syscall: 'bpf_object__load', code: expect.stringMatching(/^E[A-Z]+$/) });
        expect(['EPERM', 'EINVAL', 'EOPNOTSUPP', 'ENOTSUPP', 'EACCES']).toContain((loadError as { code: string }).code);
        expect(ext.state).toBe('load-failed');
        expect(slotted.testRun({ data: frame() }).retval).toBe(XDP_PASS);
        return;
      }
      expect(slotted.testRun({ data: frame() }).retval).toBe(XDP_PASS);
      const link = BpfLink.attachExtension(ext.program('drop_slot'));
      expect(link.info().progId).toBe(ext.program('drop_slot').id);
      expect(slotted.testRun({ data: frame() }).retval).toBe(XDP_DROP);
      link.dispose();
      expect(slotted.testRun({ data: frame() }).retval).toBe(XDP_PASS);
    } finally {
      ext.dispose();
      target.dispose();
    }
    expect(bpfFdCount()).toBe(before);
  });

  it('attachExtension refuses a program that is not an extension', async () => {
    const target = await loadedTarget();
    try {
      expect(() => BpfLink.attachExtension(target.program('xdp_slotted'))).toThrow(
        expect.objectContaining({ syscall: 'bpf_raw_tracepoint_open', message: expect.stringContaining('xdp_slotted') }),
      );
    } finally {
      target.dispose();
    }
  });
});
