import { resolve } from 'node:path';
import type { Command } from 'commander';
import type { ChainView } from '@xdp-lb/core';
import { UsageError } from '../flags.js';
import { type CommandContext, outputOption } from '../program.js';
import { json, table } from '../render/table.js';

/** A slot number from the command line: a whole number (range checks are core's, with the chain's size). */
function slotArg(what: string, text: string): number {
  if (!/^\d+$/.test(text)) throw new UsageError(`${what} must be a slot number (0-15), got "${text}"`);
  return Number(text);
}

/** `--set NAME=VALUE`, VALUE a non-negative integer (decimal or 0x hex). */
function parseSets(list: readonly string[]): Record<string, bigint> {
  const out: Record<string, bigint> = {};
  for (const item of list) {
    const m = /^([A-Za-z_]\w*)=(0x[0-9a-fA-F]+|\d+)$/.exec(item);
    if (!m) throw new UsageError(`--set "${item}" must be NAME=VALUE with an unsigned integer VALUE`);
    out[m[1]!] = BigInt(m[2]!);
  }
  return out;
}

function renderChains(views: readonly ChainView[]): string {
  if (views.length === 0) return 'no chains (deploy with chain: {name, slot, next} to create one)';
  return views
    .map((c) => {
      const head = `chain ${c.name}: root program ${c.rootProgId ?? '?'}`;
      const rows = c.slots.map((s) => [s.slot, s.progId, s.name ?? '?', s.owner]);
      return `${head}\n${rows.length ? table(['SLOT', 'PROGRAM', 'NAME', 'OWNER'], rows) : '(no program in any slot)'}`;
    })
    .join('\n\n');
}

const collect = (v: string, acc: string[] = []) => [...acc, v];

export function registerChain(program: Command, { lb, io }: CommandContext): void {
  const chain = program
    .command('chain')
    .description(
      'XDP chains shared with other programs (firewalls, DDoS filters): what runs in each slot, and other programs put next to xdp-lb',
    )
    .addHelpText(
      'after',
      `
A chain is a root program on the interfaces that tail-calls slot 0 of its program array; each
program passes packets on to the next slot it names. xdp-lb joins one with chain: {name, slot, next}
in its config (lb deploy); its slots leave with lb undeploy. See bpf/README.md "Chaining".

Examples:
  lb chain status
  lb chain add edge 0 /usr/lib/bpf/ddos_filter.o --next 1     # a filter before xdp-lb (in slot 1)
  lb chain add edge 2 host_fw.o --program xdp_fw               # after xdp-lb: sees only what it passes
  lb chain remove edge 2`,
    );

  chain
    .command('status')
    .description("every chain (or one): the root, and each slot's program and owner (an xdp-lb instance, or external)")
    .argument('[name]', 'one chain')
    .addOption(outputOption())
    .addHelpText('after', '\nExamples:\n  lb chain status\n  lb chain status edge -o json')
    .action((name: string | undefined, opts: { output: string }) => {
      const views = lb().chains(name);
      io.out(opts.output === 'json' ? json(views) : renderChains(views));
    });

  chain
    .command('add')
    .description('load an XDP object and put its program into a free slot of a chain (all checked before the kernel sees it)')
    .argument('<name>', 'the chain')
    .argument('<slot>', 'the slot (0-15)')
    .argument('<object>', 'the BPF object file')
    .option('--program <name>', "the program to use (default: the object's only XDP program)")
    .option('--next <slot>', 'the slot it passes packets on to (sets its chain_next_slot); without it, it ends the chain')
    .option('--set <name=value>', 'set a global variable of the object before load (repeatable)', collect)
    .option('--replace', 'replace the external program in the slot (atomic)')
    .addHelpText(
      'after',
      `
The object's program must be a plain SEC("xdp") program. To pass packets on it declares the map
lb_root_progs (it gets the root's, by fd) and const volatile __u32 chain_next_slot (set by --next),
like bpf/progs/xdp_filter_sample.bpf.c.

Examples:
  lb chain add edge 0 ddos_filter.o --next 1
  lb chain add edge 0 bpf/obj/xdp_filter_sample.bpf.o --next 1 --set filter_udp_port=9999
  lb chain add edge 2 host_fw.o --program xdp_fw --replace`,
    )
    .action(
      async (name: string, slot: string, object: string, opts: { program?: string; next?: string; set?: string[]; replace?: boolean }) => {
        const added = await lb().chainAdd(
          {
            chain: name,
            slot: slotArg('slot', slot),
            objectPath: resolve(object),
            ...(opts.program ? { program: opts.program } : {}),
            ...(opts.next !== undefined ? { next: slotArg('--next', opts.next) } : {}),
            ...(opts.set?.length ? { set: parseSets(opts.set) } : {}),
          },
          { replace: opts.replace ?? false },
        );
        io.out(
          `chain ${name}: slot ${added.slot} runs program ${added.progId} (${added.name ?? '?'})${opts.next !== undefined ? `, passing on to slot ${opts.next}` : ''}`,
        );
      },
    );

  chain
    .command('remove')
    .description("empty an external program's slot (xdp-lb's own slots leave with lb undeploy)")
    .argument('<name>', 'the chain')
    .argument('<slot>', 'the slot')
    .addHelpText('after', '\nExamples:\n  lb chain remove edge 0')
    .action((name: string, slot: string) => {
      const r = lb().chainRemove(name, slotArg('slot', slot));
      io.out(
        `chain ${name}: slot ${r.removed.slot} emptied (program ${r.removed.progId})${r.chainRemoved ? '; it was the last: the chain and its root are gone' : ''}`,
      );
    });
}
