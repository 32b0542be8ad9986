import type { Command } from 'commander';
import type { DataplaneReading } from '@xdp-lb/core';
import { type CommandContext, instanceOption, outputOption } from '../program.js';
import { human, table } from '../render/table.js';
import { UsageError } from '../flags.js';

/** Rates between two readings, per service and backend. */
export function rates(a: DataplaneReading, b: DataplaneReading, seconds: number) {
  const rate = (x: bigint, y: bigint) => Math.max(0, Number(y - x) / seconds);
  return b.services.map((svc) => {
    // By identity, not position: a service added or removed between two ticks shifts the list.
    const prev = a.services.find((x) => x.name === svc.name && x.id === svc.id);
    return {
      service: svc.name,
      pps: rate(prev?.counters.packets ?? 0n, svc.counters.packets),
      bps: rate(prev?.counters.bytes ?? 0n, svc.counters.bytes) * 8,
      flowsPerSec: rate(prev?.counters.newFlows ?? 0n, svc.counters.newFlows),
      backends: svc.backends.map((be) => {
        const p = prev?.backends.find((x) => x.key === be.key);
        return {
          backend: be.key,
          state: be.state,
          pps: rate(p?.counters.packets ?? 0n, be.counters.packets),
          flowsPerSec: rate(p?.counters.newFlows ?? 0n, be.counters.newFlows),
        };
      }),
    };
  });
}

export function registerStats(program: Command, { lb, io }: CommandContext): void {
  program
    .command('stats')
    .description('live per-service and per-backend rates, refreshing until Ctrl-C (or --count)')
    .addOption(instanceOption())
    .option('--interval <seconds>', 'refresh interval', '1')
    .option('--count <n>', 'stop after n refreshes')
    .addOption(outputOption())
    .addHelpText('after', '\nExamples:\n  lb stats\n  lb stats --count 1 -o json')
    .action(async (opts: { instance: string; interval: string; count?: string; output: string }) => {
      const interval = Number(opts.interval);
      if (!/^\d+(\.\d+)?$/.test(opts.interval) || interval < 0.1 || interval > 3600)
        throw new UsageError(`--interval "${opts.interval}" must be a number of seconds from 0.1 to 3600`);
      if (opts.count !== undefined && (!/^\d+$/.test(opts.count) || Number(opts.count) < 1))
        throw new UsageError(`--count "${opts.count}" must be a whole number of refreshes, 1 or more`);
      const count = opts.count !== undefined ? Number(opts.count) : Infinity;
      let stop = false;
      const onInt = () => (stop = true);
      process.once('SIGINT', onInt);
      // The counters alone: no conntrack walk (a syscall per entry) on each tick, unlike status.
      let prev = lb().reading(opts.instance);
      for (let n = 0; n < count && !stop; n++) {
        await new Promise((r) => setTimeout(r, interval * 1000));
        const cur = lb().reading(opts.instance);
        const r = rates(prev, cur, interval);
        prev = cur;
        if (opts.output === 'json') {
          io.out(JSON.stringify({ time: new Date().toISOString(), services: r }));
          continue;
        }
        const rows = r.flatMap((s) => [
          [s.service, '', human(s.pps), human(s.bps), human(s.flowsPerSec)],
          ...s.backends.map((b) => ['', `${b.backend} (${b.state})`, human(b.pps), '', human(b.flowsPerSec)]),
        ]);
        io.out(`${new Date().toISOString()}\n${table(['SERVICE', 'BACKEND', 'PKT/S', 'BIT/S', 'FLOWS/S'], rows)}\n`);
      }
      process.off('SIGINT', onInt);
    });
}
