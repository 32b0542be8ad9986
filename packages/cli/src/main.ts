#!/usr/bin/env node
import { exitStatusOnExit, guardBrokenPipe } from './broken-pipe.js';
import { composeLoadBalancer } from './compose.js';
import { buildProgram, run } from './program.js';

// `lb`, not `node`, in ps and in the lock holder a waiting command names (core's state/lock.ts).
process.title = 'lb';
exitStatusOnExit(guardBrokenPipe());
let lb: ReturnType<typeof composeLoadBalancer> | undefined;
const program = buildProgram(() => (lb ??= composeLoadBalancer()));
process.exitCode = await run(program, process.argv.slice(2));
