#!/usr/bin/env node
import { exitStatusOnExit, guardBrokenPipe } from './broken-pipe.js';
import { composeLoadBalancer } from './compose.js';
import { buildProgram, run } from './program.js';

exitStatusOnExit(guardBrokenPipe());
let lb: ReturnType<typeof composeLoadBalancer> | undefined;
const program = buildProgram(() => (lb ??= composeLoadBalancer()));
process.exitCode = await run(program, process.argv.slice(2));
