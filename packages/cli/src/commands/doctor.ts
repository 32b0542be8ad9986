import type { Command } from 'commander';
import type { DoctorCheck } from '@xdp-lb/core';
import { type CommandContext, ExitStatus, outputOption } from '../program.js';
import { json, table } from '../render/table.js';

const MARK: Record<DoctorCheck['status'], string> = { ok: 'ok', warn: 'WARN', fail: 'FAIL', info: '-' };

export function registerDoctor(program: Command, { lb, io }: CommandContext): void {
  program
    .command('doctor')
    .description(
      'what this machine lets xdp-lb do, found by trying: privileges, bpf(), XDP, JIT, BTF, bpffs, chain mode, libxdp (extension programs), clang; with --iface, each interface',
    )
    .option('--iface <names>', 'also look at these interfaces (comma-separated): driver, MTU, the XDP program holding them now')
    .option('--netns <name>', 'network namespace of the interfaces')
    .addOption(outputOption())
    .addHelpText(
      'after',
      `
Exits 1 when a check xdp-lb cannot do without fails (FAIL); WARN marks what limits it (no JIT, no
chain mode, no libxdp dispatcher, an interface held by another program). Changes nothing: the probes
load small programs, run them once with BPF_PROG_TEST_RUN and release them.

Examples:
  lb doctor
  lb doctor --iface ens5,ens6 -o json`,
    )
    .action(async (opts: { iface?: string; netns?: string; output: string }) => {
      const interfaces = (opts.iface ?? '')
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean);
      const report = await lb().doctor({ interfaces, netns: opts.netns ?? null });
      if (opts.output === 'json') io.out(json(report));
      else
        io.out(
          table(
            ['CHECK', 'RESULT', 'DETAIL'],
            report.checks.map((c) => [c.title, MARK[c.status], c.detail]),
          ),
        );
      if (!report.ok) throw new ExitStatus(1);
    });
}
