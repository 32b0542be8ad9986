// `lb doctor` against the real kernel, and what deploy says about an interface that runs libxdp's
// dispatcher. The kernel decides whether extension (freplace) programs load; the report must say
// what it decided and what to use instead, and the interface check must name what holds it.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { BpfLink, BpfObject, ifNameToIndex, inNetns, xdpAttachNetlink, xdpDetachNetlink, xdpQuery } from '@xdp-lb/native';
import { exec, tutorialAddresses, tutorialTopology } from '@xdp-lb/netlab';
import { lbInProcess, useE2e } from './helpers/e2e.js';

const e2e = useE2e();
const CC = fileURLToPath(new URL('../../../bpf/scripts/cc.sh', import.meta.url));
const DISPATCHER_SRC = fileURLToPath(new URL('./fixtures/xdp_dispatcher.bpf.c', import.meta.url));
const EXT_TARGET = fileURLToPath(new URL('../../../bpf/obj/xdp_ext_target.bpf.o', import.meta.url));
const EXT_MEMBER = fileURLToPath(new URL('../../../bpf/obj/xdp_ext_member.bpf.o', import.meta.url));
const work = mkdtempSync(join(tmpdir(), 'xlb-doctor-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

interface Report {
  ok: boolean;
  checks: { id: string; status: string; detail: string }[];
}
const byId = (r: Report, id: string) => r.checks.find((c) => c.id === id)!;

/** Whether this kernel loads an extension program, asked directly of the kernel here (not via core). */
async function kernelLoadsExtensions(): Promise<{ ok: boolean; code?: string }> {
  const target = BpfObject.open(EXT_TARGET);
  const member = BpfObject.open(EXT_MEMBER);
  try {
    await target.load();
    member.program('xdp_ext_member').setAttachTarget(target.program('xdp_ext_target'), 'ext_slot0');
    await member.load();
    BpfLink.attachExtension(member.program('xdp_ext_member')).dispose();
    return { ok: true };
  } catch (e) {
    return { ok: false, code: (e as { code?: string }).code };
  } finally {
    member.dispose();
    target.dispose();
  }
}

describe.skipIf(process.getuid?.() !== 0)('lb doctor', () => {
  it('reports every check, probes chain mode and extension programs for real, and exits 0', async () => {
    const r = await lbInProcess('doctor', '-o', 'json');
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    const report = JSON.parse(r.out) as Report;
    expect(report.ok).toBe(true);
    expect(report.checks.map((c) => c.id)).toEqual([
      'privileges',
      'bpf',
      'xdp',
      'jit',
      'btf',
      'bpffs',
      'live-frames',
      'chain',
      'libxdp',
      'lockdown',
      'clang',
    ]);
    expect(byId(report, 'chain')).toMatchObject({ status: 'ok', detail: expect.stringContaining('chain: {name, slot, next}') });
    const kernel = await kernelLoadsExtensions();
    const libxdp = byId(report, 'libxdp');
    if (kernel.ok) {
      expect(libxdp).toMatchObject({ status: 'ok', detail: expect.stringContaining('libxdp') });
    } else {
      expect(libxdp.status).toBe('warn');
      expect(libxdp.detail).toContain(`(${kernel.code})`);
      expect(libxdp.detail).toMatch(/extension \(freplace\) programs.*libxdp's dispatcher.*chain mode/);
    }
  });

  it('prints a table, and exits 1 naming a missing interface', async () => {
    const table = await lbInProcess('doctor');
    expect(table.code).toBe(0);
    expect(table.out.split('\n')[0]).toMatch(/^CHECK\s+RESULT\s+DETAIL$/);
    expect(table.out).toMatch(/chain mode \(tail calls\)\s+ok/);
    const missing = await lbInProcess('doctor', '--iface', 'xlbnope0');
    expect(missing.code).toBe(1);
    expect(missing.out).toMatch(/interface xlbnope0\s+FAIL\s+no such interface/);
  });

  it("names libxdp's dispatcher on an interface, and deploy refuses it with what to do instead", async () => {
    const opts = { clients: 1, backends: 1 };
    const a = tutorialAddresses(opts);
    const lab = await e2e.lab(tutorialTopology(opts));
    const ns = lab.host('lb').netns;
    const obj = join(work, 'xdp_dispatcher.bpf.o');
    await exec(['bash', CC, DISPATCHER_SRC, obj]);
    const dispatcher = BpfObject.open(obj);
    await dispatcher.load();
    const ifindex = inNetns(ns.path, () => ifNameToIndex('eth0'));
    try {
      inNetns(ns.path, () => xdpAttachNetlink(ifindex, dispatcher.program('xdp_dispatcher'), 'skb'));
      const progId = dispatcher.program('xdp_dispatcher').id;

      const doc = await lbInProcess('doctor', '--iface', 'eth0', '--netns', ns.name, '-o', 'json');
      expect(doc.code).toBe(0);
      const iface = byId(JSON.parse(doc.out) as Report, 'interface:eth0');
      expect(iface.status).toBe('warn');
      expect(iface.detail).toContain(`XDP program ${progId} (xdp_dispatcher), generic, netlink`);
      expect(iface.detail).toContain("libxdp's dispatcher");
      expect(iface.detail).toContain('xdp-loader unload eth0 --all');

      const instance = e2e.instance('libxdp');
      const dep = await lbInProcess(
        'deploy',
        '--instance',
        instance,
        '--netns',
        ns.name,
        '--iface',
        'eth0',
        '--vip',
        `${a.vip}:80`,
        '--backend',
        a.backends[0]!,
      );
      expect(dep.code).toBe(1);
      expect(dep.err).toMatch(
        new RegExp(`^lb: interface eth0 has XDP program ${progId}, libxdp's dispatcher .*chain mode \\(chain: \\{name, slot, next\\}\\)$`),
      );
      // Refused before anything was touched: the dispatcher still holds the interface, nothing is pinned.
      expect(inNetns(ns.path, () => xdpQuery(ifindex)).progId).toBe(progId);
      expect(e2e.leftovers(instance)).toEqual({ pins: [], state: false });
    } finally {
      inNetns(ns.path, () => xdpDetachNetlink(ifindex, 'skb'));
      dispatcher.dispose();
    }
  });
});
