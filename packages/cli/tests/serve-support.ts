// The CLI's agent suites (serve*.test.ts and the tests that run `lb serve`): testkit's agent
// environment (packages/testkit: isolation, in-process agents, load, map snapshots) with the
// LoadBalancer the CLI composes, plus `lb serve` as a real process (the CLI bundled from its
// sources with esbuild, so no stale dist is ever tested).
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll } from 'vitest';
import { LabProcess } from '@xdp-lb/netlab';
import { type AgentEnv as KitAgentEnv, useAgentEnv as useKitAgentEnv } from '@xdp-lb/testkit';
import { composeLoadBalancer } from '../src/index.js';
import { bundleCli } from './helpers/e2e.js';

// Everything of testkit's but what this file composes for the CLI (declared here, so it wins).
export * from '@xdp-lb/testkit';

export interface AgentEnv extends KitAgentEnv {
  /** `lb serve` as its own process (the CLI bundled from source), in the root namespace. */
  spawnServe(args: string[]): LabProcess;
  /** The bundled CLI (`node <it> ...`). */
  cliBundle(): Promise<string>;
}

export function useAgentEnv(): AgentEnv {
  const base = useKitAgentEnv(composeLoadBalancer);
  const procs: LabProcess[] = [];
  const main = join(base.dir, 'lb-bundle.mjs');
  let bundle: Promise<string> | undefined;
  // Registered after testkit's: vitest runs after-hooks in reverse, so the processes die before
  // the agents stop and the shared cleanup undeploys and destroys the labs.
  afterAll(async () => {
    for (const p of procs) await p.kill('SIGKILL', 500);
  }, 60_000);
  return {
    ...base,
    spawnServe(args: string[]): LabProcess {
      if (!existsSync(main)) throw new Error('call cliBundle() first');
      // --pdeathsig: a worker that dies (even by SIGKILL) takes its agents with it.
      const p = new LabProcess(['setpriv', '--pdeathsig', 'KILL', '--', process.execPath, main, 'serve', ...args], {
        label: `lb serve ${args.join(' ')}`,
        env: { ...process.env },
      });
      procs.push(p);
      return p;
    },
    cliBundle: () => (bundle ??= bundleCli(main)),
  };
}
