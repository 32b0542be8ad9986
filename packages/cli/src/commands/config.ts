import type { Command } from 'commander';
import { dumpConfigYaml, toInput } from '@xdp-lb/core';
import { type CommandContext, instanceOption, outputOption } from '../program.js';
import { json } from '../render/table.js';

export function registerConfig(program: Command, { lb, io }: CommandContext): void {
  const config = program.command('config').description('check a config file, or print the applied one (round-trips)');
  config
    .command('check <file>')
    .description('validate a config file without touching the kernel')
    .option('--netns <name>', 'check that the interfaces exist in this network namespace')
    .option('--no-interfaces', 'do not check that interfaces exist')
    .addHelpText('after', '\nExamples:\n  lb config check lb.yaml\n  lb config check lb.yaml --no-interfaces')
    .action(async (file: string, o: { netns?: string; interfaces: boolean }) => {
      const cfg = await lb().checkConfigFile(file, { netns: o.netns ?? null, checkInterfaces: o.interfaces });
      io.out(
        `${file}: ok (${cfg.services.length} service(s), ${cfg.services.reduce((n, s) => n + s.backends.length, 0)} backend(s), ${strategiesText(cfg.services.map((s) => s.strategy))})`,
      );
    });
  config
    .command('dump')
    .description('print the applied config of a running instance, as a file lb deploy -f accepts')
    .addOption(instanceOption())
    .addOption(outputOption().choices(['yaml', 'json']).default('yaml'))
    .addHelpText('after', '\nExamples:\n  lb config dump > lb.yaml\n  lb config dump -o json')
    .action(async (o: { instance: string; output: string }) => {
      const cfg = await lb().config(o.instance);
      io.out(o.output === 'json' ? json(toInput(cfg)) : dumpConfigYaml(cfg).trimEnd());
    });
}

/** "strategy hash", or "strategies hash, round-robin" when the services use several. */
function strategiesText(ids: readonly string[]): string {
  const set = [...new Set(ids)];
  return `${set.length === 1 ? 'strategy' : 'strategies'} ${set.join(', ')}`;
}
