#!/usr/bin/env node
import { composeLoadBalancer } from './compose.js';
import { buildProgram, run } from './program.js';

let lb: ReturnType<typeof composeLoadBalancer> | undefined;
const program = buildProgram(() => (lb ??= composeLoadBalancer()));
process.exitCode = await run(program, process.argv.slice(2));
