import { Option, type Command } from 'commander';
import { Agent, createLogger, type LogFormat, parseListenAddress } from '@xdp-lb/core';
import type { CommandContext } from '../program.js';

interface ServeFlags {
  file: string;
  netns?: string;
  metrics: string;
  log?: LogFormat;
  detachOnExit?: boolean;
  force?: boolean;
  watch: boolean;
  verbose?: boolean;
}

/**
 * `lb serve`: the long-running agent (core's Agent). Runs until SIGTERM or SIGINT; SIGHUP reloads.
 * Exits 0 when stopped by a signal, 1 when it cannot start (a bad file, no privileges, the port taken).
 */
export function registerServe(program: Command, { lb }: CommandContext): void {
  program
    .command('serve')
    .description('run the agent: keep the data plane as the file says (reload on change and SIGHUP), health checks, Prometheus metrics')
    .requiredOption('-f, --file <lb.yaml>', 'config file (YAML), the source of truth; docs/config.md')
    .option('--netns <name>', 'network namespace of the interfaces; health checks run from it too (pins still go to the host bpffs)')
    .option('--metrics <addr:port|off>', '/metrics and /healthz; loopback unless you give another address', '127.0.0.1:9201')
    .addOption(new Option('--log <format>', 'log format (default: text on a terminal, else json)').choices(['json', 'text']))
    .option('--detach-on-exit', 'undeploy when stopped (default: the data plane keeps forwarding without the agent)')
    .option('--force', 'deploy over another program attached over netlink (not atomic)')
    .option('--no-watch', 'reload on SIGHUP only, not when the file changes')
    .option('-v, --verbose', 'debug logs')
    .addHelpText(
      'after',
      `
Signals: SIGHUP re-reads the file and applies it; SIGTERM/SIGINT stop the agent (the data plane
keeps forwarding: links and maps are pinned). A file with errors is rejected and logged; the
running config stays. With an "announce" section (BGP via BIRD, deploy/bgp): SIGUSR1 drains the
node (withdraws its VIPs before an upgrade), SIGUSR2 undrains it. See docs/operations.md.

Examples:
  lb serve -f /etc/xdp-lb/lb.yaml
  lb serve -f lb.yaml --netns lab-lb --metrics 127.0.0.1:9300 --log json
  lb serve -f lb.yaml --metrics off --detach-on-exit`,
    )
    .action(async (opts: ServeFlags) => {
      const agent = new Agent(lb());
      await agent.start({
        file: opts.file,
        netns: opts.netns ?? null,
        metrics: parseListenAddress(opts.metrics),
        detachOnExit: opts.detachOnExit ?? false,
        force: opts.force ?? false,
        watch: opts.watch,
        signals: true,
        log: createLogger({ ...(opts.log ? { format: opts.log } : {}), level: opts.verbose ? 'debug' : 'info' }),
      });
      await agent.stopped;
    });
}
