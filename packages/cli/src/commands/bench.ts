import type { Command } from 'commander';
import { BENCHMARKS, runBench, ttyProgress } from '@xdp-lb/bench';
import { type CommandContext, ExitStatus } from '../program.js';

/** `lb bench [names...] [--quick] [--out DIR]`: one @xdp-lb/bench call, then its summary table. */
export function registerBench(program: Command, { io }: CommandContext): void {
  const list = BENCHMARKS.map((b) => `  ${b.name.padEnd(14)} ${b.title} (~${b.seconds.full} s, --quick ~${b.seconds.quick} s)`).join('\n');
  program
    .command('bench [names...]')
    .description(
      'measure the load balancer side by side with the alternatives; writes bench/results/<date>-<name>/ (results.json, report.md, SVG charts)',
    )
    .option('--quick', 'fewer rounds and cases: everything in under 3 minutes (the CI smoke test)')
    .option('--out <dir>', "parent folder of the results folder (default: the repository's bench/results)")
    .option('--update-readme', 'also rewrite the "latest results" section of the repository\'s bench/README.md from this run')
    .addHelpText(
      'after',
      `\nBenchmarks (default: all, in this order):\n${list}\n\nExamples:\n  lb bench --quick\n  lb bench per-packet packet-rate\n  lb bench --out /tmp/results`,
    )
    .action(async (names: string[], o: { quick?: boolean; out?: string; updateReadme?: boolean }) => {
      const r = await runBench({
        names,
        quick: o.quick ?? false,
        ...(o.out ? { outDir: o.out } : {}),
        updateReadme: o.updateReadme ?? false,
        progress: ttyProgress(),
        cliMain: process.argv[1],
      });
      io.out(r.summary);
      if (r.results.benchmarks.some((b) => b.status === 'failed')) throw new ExitStatus(1);
    });
}
