import type { Command } from 'commander';
import { type CommandContext, instanceOption, outputOption } from '../program.js';
import { renderStatus } from '../render/status.js';
import { json } from '../render/table.js';

export function registerStatus(program: Command, { lb, io }: CommandContext): void {
  program
    .command('status')
    .description('interfaces and XDP mode obtained, program, strategy, services, backends with state and counters')
    .addOption(instanceOption())
    .addOption(outputOption())
    .addHelpText('after', '\nExamples:\n  lb status\n  lb status -o json | jq .services')
    .action((opts: { instance: string; output: string }) => {
      const s = lb().status(opts.instance);
      io.out(opts.output === 'json' ? json(s) : renderStatus(s));
      // Said on stderr too, so that a script or a human scanning the table cannot miss it.
      for (const svc of s.services) if (!svc.serving) io.err(`lb: warning: service ${svc.name} cannot serve: ${svc.problem}`);
    });
}
