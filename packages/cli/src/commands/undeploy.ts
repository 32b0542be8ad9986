import type { Command } from 'commander';
import { type CommandContext, instanceOption, uninterrupted } from '../program.js';

export function registerUndeploy(program: Command, { lb, io }: CommandContext): void {
  program
    .command('undeploy')
    .description('detach from every interface and remove all pins and state of the instance')
    .addOption(instanceOption())
    .option(
      '--force',
      'also when the state file is damaged: detach the links pinned under the instance and remove its pins and state (sysctls it changed stay)',
    )
    .addHelpText(
      'after',
      '\nExamples:\n  lb undeploy\n  lb undeploy --instance edge\n  lb undeploy --force --instance edge   # after "state file ... is damaged"',
    )
    .action(async (opts: { instance: string; force?: boolean }) => {
      const r = await uninterrupted(io, 'the undeploy', () => lb().undeploy(opts.instance, { force: opts.force ?? false }));
      for (const w of r.warnings) io.err(`lb: warning: ${w}`);
      io.out(`undeployed instance ${r.instance}${r.detached.length ? ` (detached from ${r.detached.join(', ')})` : ''}`);
    });
}
