// Prebuilds the program of the built-in strategies (the registry's: src/compose.ts) into obj/,
// where composeLoadBalancer() tells core to look before compiling: a host that runs only
// built-in strategies needs no clang. core names the object by the content hash of its sources, so
// a stale one is never used (it is just not found, and core compiles into its cache instead).
import { createLoadBalancer, assembleProgram } from '@xdp-lb/core';
import { fileURLToPath } from 'node:url';
import { BUILTIN_STRATEGIES } from '../dist/index.js';

const obj = fileURLToPath(new URL('../obj', import.meta.url));
const fragments = createLoadBalancer(BUILTIN_STRATEGIES)
  .strategies.builtins()
  .map((s) => s.fragmentPath);
const out = assembleProgram(fragments, { cacheDir: obj });
console.log(`built-in strategies' program: ${out}`);
