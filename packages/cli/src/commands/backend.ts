import type { Command } from 'commander';
import type { Mutation } from '@xdp-lb/core';
import { UsageError } from '../flags.js';
import { type CommandContext, instanceOption, uninterrupted } from '../program.js';

/** `lb backend add|remove|drain|activate|weight SERVICE BACKEND`: hot changes, flows kept. */
export function registerBackend(program: Command, { lb, io }: CommandContext): void {
  const backend = program
    .command('backend')
    .description("change a service's backends while traffic flows (established flows keep their backend)")
    .addHelpText(
      'after',
      '\nExamples:\n  lb backend add 198.18.0.10:80 198.18.0.13@2\n  lb backend drain 198.18.0.10:80 198.18.0.11\n  lb backend weight web 198.18.0.12 5',
    );
  const apply = async (instance: string, m: Mutation, verb: string) => {
    const r = await uninterrupted(io, 'the update', () => lb().update(instance, m));
    for (const w of r.warnings) io.err(`lb: warning: ${w}`);
    io.out(`${verb} ${'backend' in m ? m.backend : ''} (${'service' in m ? m.service : ''})`);
  };
  backend
    .command('add <service> <backend>')
    .description('add a backend: ADDR[:PORT][@WEIGHT]; it takes new flows at once')
    .addOption(instanceOption())
    .addHelpText('after', '\nExamples:\n  lb backend add 198.18.0.10:80 198.18.0.13\n  lb backend add web 198.18.0.14:8080@3')
    .action((service: string, b: string, o: { instance: string }) =>
      apply(o.instance, { kind: 'backend-add', service, backend: b }, 'added'),
    );
  backend
    .command('remove <service> <backend>')
    .description('remove a backend: it gets no new flows and its tracked flows move to others')
    .addOption(instanceOption())
    .addHelpText('after', '\nExamples:\n  lb backend remove 198.18.0.10:80 198.18.0.13\n  lb backend remove web 198.18.0.14:8080')
    .action((service: string, b: string, o: { instance: string }) =>
      apply(o.instance, { kind: 'backend-remove', service, backend: b }, 'removed'),
    );
  backend
    .command('drain <service> <backend>')
    .description('drain a backend: no new flows, established flows continue until they end')
    .addOption(instanceOption())
    .addHelpText('after', '\nExamples:\n  lb backend drain 198.18.0.10:80 198.18.0.11\n  lb backend drain web 198.18.0.11 --instance edge')
    .action((service: string, b: string, o: { instance: string }) =>
      apply(o.instance, { kind: 'backend-drain', service, backend: b }, 'draining'),
    );
  backend
    .command('activate <service> <backend>')
    .description('put a drained backend back into rotation')
    .addOption(instanceOption())
    .addHelpText('after', '\nExamples:\n  lb backend activate 198.18.0.10:80 198.18.0.11\n  lb backend activate web 198.18.0.11')
    .action((service: string, b: string, o: { instance: string }) =>
      apply(o.instance, { kind: 'backend-activate', service, backend: b }, 'activated'),
    );
  backend
    .command('weight <service> <backend> <weight>')
    .description("set a backend's weight (1-65535): its share of new flows")
    .addOption(instanceOption())
    .addHelpText('after', '\nExamples:\n  lb backend weight 198.18.0.10:80 198.18.0.12 5\n  lb backend weight web 198.18.0.12 1')
    .action(async (service: string, b: string, w: string, o: { instance: string }) => {
      const weight = Number(w);
      if (!/^\d+$/.test(w) || weight < 1 || weight > 65535) throw new UsageError(`weight "${w}" must be a whole number from 1 to 65535`);
      await apply(o.instance, { kind: 'backend-weight', service, backend: b, weight }, `weight ${weight} for`);
    });
}
