import { Option, type Command } from 'commander';
import { FORWARD_MODES, splitProtocol, type ForwardMode } from '@xdp-lb/core';
import { FORWARD_HELP, parseOptions, STRATEGY_IDS, UsageError } from '../flags.js';
import { type CommandContext, instanceOption, uninterrupted } from '../program.js';

const collect = (v: string, prev: string[] = []) => [...prev, v];

export function registerService(program: Command, { lb, io }: CommandContext): void {
  const service = program
    .command('service')
    .description("add or remove services of a running instance, or change a service's strategy")
    .addHelpText(
      'after',
      '\nExamples:\n  lb service add --vip 198.18.0.10:443 --backend 198.18.0.11 --backend 198.18.0.12\n  lb service strategy 198.18.0.10:443 round-robin\n  lb service remove 198.18.0.10:443',
    );
  service
    .command('add')
    .description('add a service')
    .requiredOption('--vip <addr[/len]:port[/tcp|/udp]>', 'the service address (a prefix: every address of it; port * for every port)')
    .option('--backend <addr[:port][@weight]>', 'a backend (repeatable)', collect)
    .addOption(new Option('--forward <mode>', FORWARD_HELP).choices(FORWARD_MODES).default('nat'))
    .option('--name <name>', 'service name')
    .option('--strategy <id>', `the service's strategy (${STRATEGY_IDS}, or the path of a .bpf.c fragment); default the instance's`)
    .option('--opt <key=value>', "an option of the service's strategy (repeatable)", collect)
    .addOption(instanceOption())
    .addHelpText(
      'after',
      '\nExamples:\n  lb service add --vip 198.18.0.10:443 --backend 198.18.0.11\n  lb service add --vip 198.18.0.10:53/udp --forward dsr --strategy round-robin --backend 198.18.0.11 --name dns\n  lb service add --vip 198.18.10.0/28:80 --forward dsr --backend 198.18.0.11  # 16 VIPs, one service',
    )
    .action(
      async (o: {
        vip: string;
        backend?: string[];
        forward: ForwardMode;
        name?: string;
        strategy?: string;
        opt?: string[];
        instance: string;
      }) => {
        if (!o.backend?.length) throw new UsageError('service add needs at least one --backend');
        const { vip, protocol: proto } = splitProtocol(o.vip);
        await uninterrupted(io, 'the update', () =>
          lb().update(o.instance, {
            kind: 'service-add',
            service: {
              vip,
              ...(proto ? { protocol: proto as 'tcp' | 'udp' } : {}),
              forward: o.forward,
              ...(o.strategy ? { strategy: o.strategy } : {}),
              ...(o.opt?.length ? { options: parseOptions(o.opt) } : {}),
              backends: o.backend!,
              ...(o.name ? { name: o.name } : {}),
            },
          }),
        );
        io.out(`added service ${o.name ?? o.vip}`);
      },
    );
  service
    .command('strategy <service> <strategy>')
    .description(
      'move a service to another strategy: hot (established flows keep their backend, new flows follow it) for any strategy the running program carries',
    )
    .option('--opt <key=value>', 'an option of the new strategy (repeatable; none: its defaults)', collect)
    .addOption(instanceOption())
    .addHelpText(
      'after',
      '\nExamples:\n  lb service strategy 198.18.0.10:80 round-robin\n  lb service strategy web hash --opt hashFields=source',
    )
    .action(async (ref: string, strategy: string, o: { opt?: string[]; instance: string }) => {
      await uninterrupted(io, 'the update', () =>
        lb().update(o.instance, {
          kind: 'service-strategy',
          service: ref,
          strategy,
          ...(o.opt?.length ? { options: parseOptions(o.opt) } : {}),
        }),
      );
      io.out(`service ${ref}: strategy ${strategy}`);
    });
  service
    .command('remove <service>')
    .description('remove a service: its VIP stops being balanced at once')
    .addOption(instanceOption())
    .addHelpText('after', '\nExamples:\n  lb service remove 198.18.0.10:443\n  lb service remove dns')
    .action(async (ref: string, o: { instance: string }) => {
      await uninterrupted(io, 'the update', () => lb().update(o.instance, { kind: 'service-remove', service: ref }));
      io.out(`removed service ${ref}`);
    });
}
