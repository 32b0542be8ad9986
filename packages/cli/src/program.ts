import { Command, CommanderError, Option } from 'commander';
import pkg from '../package.json' with { type: 'json' };
import type { LoadBalancer } from '@xdp-lb/core';
import { registerDeploy } from './commands/deploy.js';
import { registerUndeploy } from './commands/undeploy.js';
import { registerStatus } from './commands/status.js';
import { registerStats } from './commands/stats.js';
import { registerBackend } from './commands/backend.js';
import { registerService } from './commands/service.js';
import { registerConfig } from './commands/config.js';
import { registerLab } from './commands/lab.js';
import { registerDemo } from './commands/demo.js';
import { registerBench } from './commands/bench.js';
import { registerServe } from './commands/serve.js';
import { registerDoctor } from './commands/doctor.js';
import { registerChain } from './commands/chain.js';

export interface Io {
  out: (s: string) => void;
  err: (s: string) => void;
}

export const defaultIo: Io = { out: (s) => process.stdout.write(s + '\n'), err: (s) => process.stderr.write(s + '\n') };

/** `-o table|json` for read commands: stable keys in JSON, aligned columns in tables. */
export const outputOption = () => new Option('-o, --output <format>', 'output format').choices(['table', 'json']).default('table');
export const instanceOption = () => new Option('-i, --instance <name>', 'instance name (several LBs on one host)').default('default');

/**
 * The CLI package's version, from its package.json: imported, so the build bundles it (a run as
 * another user, or from a copy without package.json, never reads the file).
 */
export const CLI_VERSION: string = pkg.version;

/**
 * The `lb` command tree. Commands are thin: flags -> one LoadBalancer call -> render.
 * Runtime errors: one line on stderr, exit 1. Usage errors: help with "did you mean", exit 2.
 * A closed output pipe: exit 141 (main.ts, broken-pipe.ts).
 */
export function buildProgram(lb: () => LoadBalancer, io: Io = defaultIo): Command {
  const program = new Command('lb')
    .description('xdp-lb: an XDP layer-4 load balancer (deploy, inspect and change it while traffic flows)')
    .version(CLI_VERSION)
    .showHelpAfterError()
    .showSuggestionAfterError(true)
    .configureOutput({ writeOut: (s) => io.out(s.trimEnd()), writeErr: (s) => io.err(s.trimEnd()) })
    .addHelpText(
      'after',
      `
Examples:
  lb deploy --strategy hash --mode native --iface eth0 --vip 198.18.0.10:80 --backend 198.18.0.11 --backend 198.18.0.12
  lb deploy -f lb.yaml
  lb status -o json
  lb backend drain 198.18.0.10:80 198.18.0.12
  lb demo`,
    );
  program.exitOverride();
  // A change that waits for another command's lock says so at once, not only when it gives up.
  const withNotice = () => {
    const x = lb();
    x.onLockWait ??= (m) => io.err(`lb: ${m}`);
    return x;
  };
  const ctx = { lb: withNotice, io };
  registerDeploy(program, ctx);
  registerUndeploy(program, ctx);
  registerStatus(program, ctx);
  registerStats(program, ctx);
  registerBackend(program, ctx);
  registerService(program, ctx);
  registerConfig(program, ctx);
  registerLab(program, ctx);
  registerDemo(program, ctx);
  registerBench(program, ctx);
  registerServe(program, ctx);
  registerDoctor(program, ctx);
  registerChain(program, ctx);
  for (const c of program.commands) {
    c.exitOverride();
    c.showHelpAfterError();
    for (const sub of c.commands) sub.exitOverride().showHelpAfterError();
  }
  return program;
}

/**
 * Thrown by a command that has already said what went wrong (a report with failed checks, a
 * benchmark that failed): run() returns its exit code and prints nothing more. Setting
 * process.exitCode instead would be overwritten by main's `process.exitCode = await run(...)`.
 */
export class ExitStatus extends Error {
  constructor(readonly exitCode: number) {
    super(`exit ${exitCode}`);
    this.name = 'ExitStatus';
  }
}

export interface CommandContext {
  lb: () => LoadBalancer;
  io: Io;
}

/** Runs argv; returns the exit code (0 ok, 1 runtime failure, 2 usage). */
export async function run(program: Command, argv: readonly string[], io: Io = defaultIo): Promise<number> {
  try {
    await program.parseAsync(argv as string[], { from: 'user' });
    return 0;
  } catch (e) {
    if (e instanceof CommanderError) {
      if (e.code === 'commander.helpDisplayed' || e.code === 'commander.version' || e.code === 'commander.help') return 0;
      return e.exitCode === 0 ? 0 : 2;
    }
    if (e instanceof ExitStatus) return e.exitCode;
    const err = e as Error & { lines?: () => string[]; name?: string };
    if (err.name === 'UsageError') {
      io.err(`lb: ${err.message}`);
      io.err(`Run 'lb ${process.argv[2] ?? ''} --help' for usage.`.replace('  ', ' '));
      return 2;
    }
    if (err.name === 'ConfigError' && typeof err.lines === 'function') {
      for (const line of err.lines()) io.err(`lb: ${line}`);
      return 1;
    }
    io.err(`lb: ${err.message.split('\n')[0]}`);
    return 1;
  }
}

/**
 * Runs a command that changes the kernel and the state to its end. An interrupt in the middle of
 * a deploy used to leave pins and an attached program without a state file (and print nothing):
 * now the first SIGINT/SIGTERM is said and the command finishes (or fails and rolls back) first;
 * a second one exits at once (130), and `lb status` / `lb undeploy --force` then tell and repair
 * what is left.
 */
export async function uninterrupted<T>(io: Io, what: string, fn: () => Promise<T> | T): Promise<T> {
  let got: NodeJS.Signals | undefined;
  const on = (sig: NodeJS.Signals) => {
    if (got) {
      io.err(`lb: ${sig} again: exiting in the middle of ${what}; lb status tells what is left, lb undeploy --force removes it`);
      process.exit(130);
    }
    got = sig;
    io.err(`lb: ${sig}: finishing ${what} first (interrupt again to exit at once)`);
  };
  process.on('SIGINT', on);
  process.on('SIGTERM', on);
  try {
    return await fn();
  } finally {
    process.off('SIGINT', on);
    process.off('SIGTERM', on);
  }
}
