// The kernel probes behind `lb doctor`: they run the real mechanism (BPF_PROG_TEST_RUN of loaded
// programs) and release everything; the explanation of a refused extension names what to use.
import { mkdtempSync, readdirSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { lockdownMode, probeExtensions, probeTailCalls } from '../src/dataplane/probes.js';
import { explainExtensions } from '../src/lifecycle/doctor.js';

const bpfFds = () =>
  readdirSync('/proc/self/fd').filter((fd) => {
    try {
      return readlinkSync(`/proc/self/fd/${fd}`).startsWith('anon_inode:bpf');
    } catch {
      return false;
    }
  }).length;

describe.skipIf(process.getuid?.() !== 0)('kernel probes', () => {
  it('chain mode: the root passes with an empty slot and runs the program put in slot 0', async () => {
    const before = bpfFds();
    expect(await probeTailCalls()).toEqual({ ok: true, detail: expect.stringContaining('tail call') });
    expect(bpfFds()).toBe(before);
  });

  it('extension programs: ok, or the stage and errno the kernel refused with; nothing held afterwards', async () => {
    const before = bpfFds();
    const o = await probeExtensions();
    if (!o.ok) {
      expect(['load', 'attach', 'run']).toContain(o.stage);
      if (o.stage !== 'run') expect(o.code).toMatch(/^E[A-Z]+$/);
    }
    expect(bpfFds()).toBe(before);
  });
});

describe('explaining extension probes', () => {
  it('a refusal names the stage, the errno, libxdp and the chain mode to use instead', () => {
    const load = explainExtensions({ ok: false, stage: 'load', code: 'EPERM', detail: 'x' });
    expect(load).toBe(
      "this kernel refuses to load extension (freplace) programs (EPERM), which libxdp's dispatcher needs: xdp-loader/libxdp multi-program mode cannot work here; " +
        'to run xdp-lb next to other XDP programs use its chain mode (chain: {name, slot, next}: a root program and tail calls)',
    );
    expect(explainExtensions({ ok: false, stage: 'attach', code: 'EINVAL', detail: 'x' })).toMatch(
      /^this kernel refuses to attach extension \(freplace\) programs \(EINVAL\)/,
    );
    expect(explainExtensions({ ok: false, stage: 'run', detail: 'x' })).toMatch(
      /^this kernel does not run extension \(freplace\) programs, which/,
    );
    expect(explainExtensions({ ok: true, detail: 'x' })).toMatch(/^extension programs work: libxdp's dispatcher/);
  });
});

describe('lockdownMode', () => {
  it('reads the bracketed mode of securityfs, or null when the file is absent', () => {
    const dir = mkdtempSync(join(tmpdir(), 'xlb-lockdown-'));
    try {
      const f = join(dir, 'lockdown');
      writeFileSync(f, 'none [integrity] confidentiality\n');
      expect(lockdownMode(f)).toBe('integrity');
      writeFileSync(f, '[none] integrity confidentiality\n');
      expect(lockdownMode(f)).toBe('none');
      expect(lockdownMode(join(dir, 'absent'))).toBeNull();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
