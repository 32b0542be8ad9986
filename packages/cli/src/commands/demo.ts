import { Option, type Command } from 'commander';
import { httpGet, Lab, ping, tutorialAddresses, tutorialTopology } from '@xdp-lb/netlab';
import { STRATEGY_IDS } from '../flags.js';
import { type CommandContext, ExitStatus } from '../program.js';
import { renderStatus } from '../render/status.js';
import { table } from '../render/table.js';

interface DemoOptions {
  strategy: string;
  forward: 'nat' | 'dsr';
  mode: string;
  clients: string;
  backends: string;
  requests: string;
  keep?: boolean;
}

/**
 * The README's main job: the tutorial's lab, the LB deployed in it, real HTTP from every client,
 * which backend served what, the LB's counters, and traffic that is not for the LB still working.
 */
export function registerDemo(program: Command, { lb, io }: CommandContext): void {
  program
    .command('demo')
    .description('build the lab, deploy the load balancer, send real HTTP from several clients, show what it did, tear down')
    .addOption(new Option('--strategy <id>', STRATEGY_IDS).default('hash'))
    .addOption(new Option('--forward <mode>', "nat (the tutorial's one-arm full NAT) or dsr").choices(['nat', 'dsr']).default('nat'))
    .addOption(new Option('--mode <mode>', "XDP mode on the LB's interface").choices(['native', 'generic']).default('native'))
    .option('--clients <n>', 'client hosts', '3')
    .option('--backends <n>', 'web backends', '3')
    .option('--requests <n>', 'HTTP requests per client (each a new connection)', '12')
    .option('--keep', 'leave the lab and the deployment up (remove with lb undeploy --instance demo && lb lab down --all)')
    .addHelpText('after', '\nExamples:\n  lb demo\n  lb demo --strategy round-robin --forward dsr --mode generic')
    .action(async (o: DemoOptions) => {
      const n = { clients: Number(o.clients), backends: Number(o.backends) };
      const topo = { ...n, vipOnBackendsLoopback: o.forward === 'dsr' };
      const a = tutorialAddresses(topo);
      io.out(`== lab: ${n.clients} client(s), lb ${a.lb}, ${n.backends} web backend(s) ${a.backends.join(' ')}; VIP ${a.vip}:80`);
      const lab = await Lab.up(tutorialTopology(topo), { persistent: o.keep ?? false });
      const instance = 'demo';
      let deployed = false;
      try {
        const lbHost = lab.host('lb');
        // A service of the LB host itself, on its own address: it must keep working (not for a VIP).
        await lbHost.startHttpServer({ port: 8080, name: 'lb-host-itself' });
        if (lb().instances().includes(instance)) lb().undeploy(instance); // a leftover of an interrupted demo
        io.out(`== deploy: strategy ${o.strategy}, forward ${o.forward}, ${o.mode} XDP on lb:eth0`);
        const r = await lb().deploy(
          {
            instance,
            strategy: o.strategy,
            interfaces: [`eth0:${o.mode}`],
            ...(o.forward === 'nat' ? { snat: { addresses: [a.lb] } } : {}),
            services: [{ vip: `${a.vip}:80`, forward: o.forward, backends: a.backends }],
          },
          { netns: lbHost.netns.name },
        );
        deployed = true;
        for (const w of r.warnings) io.err(`lb: warning: ${w}`);
        for (const i of r.interfaces) io.out(`   attached to ${i.name}: ${i.mode} XDP, program id ${i.progId}`);
        for (const l of r.links) io.out(`   ${l}`);

        io.out(`== traffic: ${o.requests} HTTP requests from each client to http://${a.vip}/ (a new TCP connection each)`);
        const served = new Map<string, Map<string, number>>();
        let failed = 0;
        const clients = lab.hosts.filter((h) => h.name.startsWith('client'));
        await Promise.all(
          clients.map(async (c) => {
            const row = new Map<string, number>();
            served.set(c.name, row);
            for (let i = 0; i < Number(o.requests); i++) {
              try {
                const res = await httpGet(c, `http://${a.vip}/`, { timeoutMs: 3000 });
                const who = res.body.trim();
                row.set(who, (row.get(who) ?? 0) + 1);
              } catch {
                failed++;
              }
            }
          }),
        );
        const names = lab.hosts.filter((h) => h.name.startsWith('http')).map((h) => h.name);
        io.out(
          table(
            ['CLIENT', ...names.map((x) => `-> ${x}`)],
            [...served].map(([c, row]) => [`${c} (${lab.host(c).ipv4})`, ...names.map((x) => row.get(x) ?? 0)]),
          ),
        );
        io.out(`   ${failed === 0 ? 'every request answered' : `${failed} request(s) FAILED`}`);

        io.out('== traffic that is not for the load balancer passes untouched');
        const own = await httpGet(clients[0]!, `http://${a.lb}:8080/`, { timeoutMs: 3000 }).then(
          (x) => x.body.trim(),
          (e: Error) => `failed: ${e.message}`,
        );
        io.out(`   HTTP to the LB host's own address ${a.lb}:8080 -> ${own}`);
        io.out(`   ping ${a.lb} -> ${(await ping(clients[0]!, a.lb)) ? 'reply' : 'NO reply'}`);

        io.out('== lb status');
        io.out(renderStatus(lb().status(instance)));
        if (failed > 0) throw new ExitStatus(1);
      } finally {
        if (!o.keep) {
          if (deployed) lb().undeploy(instance);
          await lab.destroy();
          io.out('== removed the deployment and the lab');
        } else io.out(`== kept: lab ${lab.id}, instance ${instance}`);
      }
    });
}
