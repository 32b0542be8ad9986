import type { Command } from 'commander';
import { type CommandContext, instanceOption } from '../program.js';

export function registerUndeploy(program: Command, { lb, io }: CommandContext): void {
  program
    .command('undeploy')
    .description('detach from every interface and remove all pins and state of the instance')
    .addOption(instanceOption())
    .addHelpText('after', '\nExamples:\n  lb undeploy\n  lb undeploy --instance edge')
    .action((opts: { instance: string }) => {
      const r = lb().undeploy(opts.instance);
      io.out(`undeployed instance ${r.instance}${r.detached.length ? ` (detached from ${r.detached.join(', ')})` : ''}`);
    });
}
