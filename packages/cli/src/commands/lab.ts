import type { Command } from 'commander';
import { Lab, tutorialAddresses, tutorialTopology } from '@xdp-lb/netlab';
import { type CommandContext, outputOption } from '../program.js';
import { json, table } from '../render/table.js';
import { UsageError } from '../flags.js';

/** `lb lab up|down|status`: the tutorial's topology in network namespaces, kept until `down`. */
export function registerLab(program: Command, { io }: CommandContext): void {
  const lab = program
    .command('lab')
    .description("the tutorial's topology (clients, lb, http backends) in network namespaces on a bridge")
    .addHelpText('after', '\nExamples:\n  lb lab up --clients 2 --backends 3\n  lb lab status\n  lb lab down --all');
  lab
    .command('up')
    .description('build a lab and keep it (addresses from 198.18.0.0/24; backends answer HTTP with their name)')
    .option('--clients <n>', 'client hosts', '2')
    .option('--backends <n>', 'web backends', '2')
    .option('--dsr', 'backends hold the VIP on loopback (for --forward dsr)')
    .addOption(outputOption())
    .addHelpText('after', '\nExamples:\n  lb lab up\n  lb lab up --clients 3 --backends 4 --dsr -o json')
    .action(async (o: { clients: string; backends: string; dsr?: boolean; output: string }) => {
      const opts = { clients: Number(o.clients), backends: Number(o.backends), vipOnBackendsLoopback: o.dsr ?? false };
      const l = await Lab.up(tutorialTopology(opts), { persistent: true });
      const a = tutorialAddresses(opts);
      const lbNs = l.host('lb').netns.name;
      if (o.output === 'json')
        return io.out(json({ id: l.id, addresses: a, hosts: l.hosts.map((h) => ({ name: h.name, netns: h.netns.name, ipv4: h.ipv4 })) }));
      io.out(l.describe());
      io.out(
        `\nDeploy into it:\n  lb deploy --netns ${lbNs} --iface eth0 --vip ${a.vip}:80 ${a.backends.map((b) => `--backend ${b}`).join(' ')}`,
      );
      io.out(`Then, from a client:\n  nsenter --net=/run/netns/${l.host('client1').netns.name} curl -s http://${a.vip}/`);
      io.out(`Tear down:\n  lb undeploy && lb lab down ${l.id}`);
    });
  lab
    .command('down [id]')
    .description('remove a lab (its namespaces, bridge and processes)')
    .option('--all', 'remove every lab made by lb lab up (never the labs of running tests or demos)')
    .addHelpText('after', '\nExamples:\n  lb lab down xlb1234-ab12\n  lb lab down --all')
    .action((id: string | undefined, o: { all?: boolean }) => {
      // Without an id nothing is guessed: "the only lab" used to be whoever's lab was up (another
      // user's, a test run's). --all takes only the persistent labs, the ones `lb lab up` makes.
      if (id && o.all) throw new UsageError('give a lab id or --all, not both');
      if (!id && !o.all) throw new UsageError(`which lab? give its id (lb lab status lists them) or --all for every lab made by lb lab up`);
      const ids = o.all
        ? Lab.list()
            .filter((m) => m.persistent)
            .map((m) => m.id)
        : [id!];
      if (!ids.length) throw new Error('no lab made by lb lab up is up');
      for (const i of ids) {
        Lab.destroyById(i);
        io.out(`removed lab ${i}`);
      }
    });
  lab
    .command('status')
    .description('list the labs that are up')
    .addOption(outputOption())
    .addHelpText('after', '\nExamples:\n  lb lab status\n  lb lab status -o json')
    .action((o: { output: string }) => {
      const labs = Lab.list();
      if (o.output === 'json') return io.out(json(labs));
      if (!labs.length) return io.out('no lab is up');
      io.out(
        table(
          ['ID', 'HOSTS'],
          labs.map((m) => [m.id, m.hosts.map((h) => h.name).join(' ')]),
        ),
      );
    });
}
