import { Option, type Command } from 'commander';
import { FORWARD_MODES, primaryAddress } from '@xdp-lb/core';
import { configFromFlags, type DeployFlags, FORWARD_HELP, refuseFlagsWithFile, STRATEGY_IDS } from '../flags.js';
import { type CommandContext, outputOption, uninterrupted } from '../program.js';
import { json } from '../render/table.js';

const collect = (v: string, prev: string[] = []) => [...prev, v];

export function registerDeploy(program: Command, { lb, io }: CommandContext): void {
  program
    .command('deploy')
    .description('validate, load the XDP program, fill its maps and attach it (re-deploy: atomic swap, conntrack kept)')
    .option('-f, --file <lb.yaml>', 'config file (YAML); the flags below build a one-service config instead (an error next to -f)')
    .option(
      '--strategy <id>',
      `the service's backend selection: ${STRATEGY_IDS}, or the path of a .bpf.c fragment (a file's services: their default)`,
      undefined,
    )
    .addOption(
      new Option(
        '--mode <mode>',
        'XDP mode for every --iface: native (driver, the fast path), generic (skb), auto (native, else generic); offload (hw) is refused: not supported',
      ).choices(['native', 'generic', 'offload', 'auto']),
    )
    .option('--iface <name[:mode]>', 'interface to attach to (repeatable; NAME:MODE overrides --mode)', collect)
    .option(
      '--vip <addr[/len]:port[/tcp|/udp]>',
      'the service address clients connect to (a prefix: every address of it, e.g. 198.18.10.0/28:80; port * for every port)',
    )
    .option('--backend <addr[:port][@weight]>', 'a backend (repeatable)', collect)
    .addOption(new Option('--forward <mode>', FORWARD_HELP).choices(FORWARD_MODES))
    .option('--snat <addr>', "NAT source address (repeatable; default: the first --iface's own address)", collect)
    .option('--snat-ports <min-max>', "NAT source port range, outside the host's ephemeral range (default 20000-29999)")
    .option('--opt <key=value>', 'strategy option, e.g. tableSize=65537 or hashFields=source (repeatable)', collect)
    .option('--hash-seed <n>', 'flow hash seed: equal on every LB node of a cluster')
    .option('--conntrack-size <n>', 'conntrack entries (default 1048576)')
    .option('--chain-slot <n>', 'run as slot N (0-15) of an XDP chain root, beside other XDP programs (bpf/README.md "Chaining")')
    .option('--chain-next <n>', 'the chain slot that gets what xdp-lb passes on (default: none, XDP_PASS)')
    .option('--chain-name <name>', 'which chain (default: default): pins under /sys/fs/bpf/xdp-chain/<name>/')
    .option('--instance <name>', 'instance name (default: default)')
    .option('--netns <name>', 'network namespace of the interfaces (pins still go to the host bpffs)')
    .option('--force', 'replace another program attached over netlink (not atomic)')
    .addOption(outputOption())
    .addHelpText(
      'after',
      `
Examples:
  lb deploy --strategy hash --mode native --iface eth0 --vip 198.18.0.10:80 --backend 198.18.0.11 --backend 198.18.0.12@2
  lb deploy --forward dsr --iface eth0:generic --vip 198.18.0.10:53/udp --backend 198.18.0.11
  lb deploy -f deploy/examples/lb.yaml --netns lab-lb`,
    )
    .action(async (opts: DeployFlags & { file?: string; netns?: string; force?: boolean; output: string }) => {
      if (opts.file) refuseFlagsWithFile(opts);
      const netns = opts.netns ?? null;
      const deployOpts = { netns, force: opts.force ?? false };
      const input = opts.file ? undefined : configFromFlags(opts, (i) => primaryAddress(netns, i));
      const result = await uninterrupted(io, 'the deploy', () =>
        input ? lb().deploy(input, { ...deployOpts, source: 'flags' }) : lb().deployFile(opts.file!, deployOpts),
      );
      for (const w of result.warnings) io.err(`lb: warning: ${w}`);
      if (opts.output === 'json') return io.out(json(result));
      io.out(`${result.redeploy ? 're-deployed' : 'deployed'} instance ${result.instance}`);
      for (const i of result.interfaces) io.out(`  ${i.name} (ifindex ${i.ifindex}): ${i.mode} XDP, program ${i.progId}`);
      for (const l of result.links) io.out(`  ${l}`);
      if (result.upgradedFrom !== undefined) io.out(`  pinned maps upgraded in place from layout v${result.upgradedFrom} (conntrack kept)`);
    });
}
