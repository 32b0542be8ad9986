// Failures against the real kernel: each is a Node-style error with a code, a message naming the
// object and a hint where one is obvious, and nothing (fds, objects) is left behind.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { BpfLink, BpfMap, BpfObject, BpfProgram, ifIndexToName, ifNameToIndex, inNetns } from '@xdp-lb/native';
import { bpfFdCount, fixture } from './helpers/fixtures.js';
import { createPinDir } from './helpers/pins.js';
import { announceSkip, bpfSkipReason, byIdSkipReason } from './helpers/requirements.js';

announceSkip('errors', bpfSkipReason);

describe.skipIf(bpfSkipReason !== null)('errors', () => {
  it('a missing object file: ENOENT with path and syscall', () => {
    const fds = bpfFdCount();
    const path = '/nonexistent/xlb/missing.bpf.o';
    expect(() => BpfObject.open(path)).toThrow(
      expect.objectContaining({
        code: 'ENOENT',
        errno: -2,
        syscall: 'bpf_object__open_file',
        path,
        message: `open ${path}: No such file or directory`,
      }),
    );
    expect(bpfFdCount()).toBe(fds);
  });

  it('a corrupt object (garbage bytes, a truncated ELF): libbpf format errors', () => {
    const fds = bpfFdCount();
    expect(() => BpfObject.open(Buffer.from('this is not an ELF file at all'), { name: 'garbage.bpf.o' })).toThrow(
      expect.objectContaining({
        code: 'ELIBBPF_FORMAT',
        syscall: 'bpf_object__open_mem',
        message: expect.stringMatching(/^open garbage\.bpf\.o: BPF object format invalid \(.*not a proper ELF object/),
      }),
    );
    const truncated = readFileSync(fixture('config_verdict')).subarray(0, 200);
    let error: (Error & { code?: string }) | undefined;
    try {
      BpfObject.open(truncated, { name: 'truncated.bpf.o' });
    } catch (e) {
      error = e as Error & { code?: string };
    }
    expect(error?.message).toMatch(/^open truncated\.bpf\.o: /);
    expect(error?.code).toMatch(/^E/);
    expect(bpfFdCount()).toBe(fds);
  });

  it('a program the verifier rejects: EACCES, the log in err.verifierLog, its tail in the message', async () => {
    const fds = bpfFdCount();
    const obj = BpfObject.open(fixture('rejected'));
    const error = (await obj.load().catch((e: unknown) => e)) as Error & Record<string, unknown>;
    expect(error).toBeInstanceOf(Error);
    expect(error).toMatchObject({ code: 'EACCES', errno: -13, syscall: 'bpf_object__load' });
    expect(error.message).toMatch(
      /^load rejected\.bpf\.o: Permission denied \(verifier rejected program 'xdp_unchecked': .*invalid access to packet/,
    );
    expect(error.verifierLog).toContain('invalid access to packet');
    expect(error.verifierLog).toContain('processed');
    expect(obj.state).toBe('load-failed');
    await expect(obj.load()).rejects.toMatchObject({ code: 'ERR_LB_LOAD_FAILED' });
    obj.dispose();
    expect(bpfFdCount()).toBe(fds);
  });

  it('a bad interface name: ENODEV naming it; a name that cannot exist: RangeError', () => {
    expect(() => ifNameToIndex('xlb-nope0')).toThrow(
      expect.objectContaining({ code: 'ENODEV', syscall: 'if_nametoindex', message: expect.stringContaining("'xlb-nope0'") }),
    );
    expect(() => ifNameToIndex('a-name-longer-than-15')).toThrow(RangeError);
    expect(() => ifIndexToName(0x7ffffff0)).toThrow(expect.objectContaining({ syscall: 'if_indextoname' }));
  });

  it('opening pins that are missing or of another kind', () => {
    const pins = createPinDir();
    const map = BpfMap.create({ type: 2, keySize: 4, valueSize: 4, maxEntries: 1 });
    try {
      map.pin(pins.at('a_map'));
      expect(() => BpfProgram.fromPinned(pins.at('a_map'))).toThrow(
        expect.objectContaining({ code: 'EINVAL', message: expect.stringContaining('the pin is a BPF map, not a program') }),
      );
      expect(() => BpfLink.fromPinned(pins.at('a_map'))).toThrow(expect.objectContaining({ code: 'EINVAL' }));
      expect(() => BpfMap.fromPinned(pins.at('missing'))).toThrow(
        expect.objectContaining({ code: 'ENOENT', syscall: 'bpf_obj_get', path: pins.at('missing') }),
      );
      expect(() => map.pin('/sys/fs/bpf/xlb-no-such-dir/x')).toThrow(expect.objectContaining({ code: 'ENOENT' }));
    } finally {
      map.dispose();
      pins.remove();
    }
  });

  it.skipIf(byIdSkipReason !== null)('ids that do not exist', () => {
    expect(() => BpfMap.fromId(0x7ffffff0)).toThrow(expect.objectContaining({ code: 'ENOENT', syscall: 'bpf_map_get_fd_by_id' }));
    expect(() => BpfProgram.fromId(0x7ffffff0)).toThrow(expect.objectContaining({ code: 'ENOENT' }));
    expect(() => BpfLink.fromId(0x7ffffff0)).toThrow(expect.objectContaining({ code: 'ENOENT' }));
  });

  it('arguments of the wrong type or range are TypeError / RangeError at the boundary', () => {
    expect(() => BpfObject.open(42 as never)).toThrow(TypeError);
    expect(() => BpfObject.open(fixture('config_verdict'), { name: 7 } as never)).toThrow(TypeError);
    expect(() => BpfLink.attachXdp({} as never, 1, { mode: 'skb' })).toThrow(/program must be a BpfProgram/);
    expect(() => BpfMap.fromId(-1)).toThrow(RangeError);
    expect(() => inNetns('/run/netns/x', 'not a function' as never)).toThrow(TypeError);
  });

  it('handles cannot be constructed from JS', () => {
    for (const cls of [BpfObject, BpfMap, BpfProgram, BpfLink]) {
      expect(() => new (cls as unknown as new () => unknown)()).toThrow(/cannot be constructed directly/);
    }
  });
});
