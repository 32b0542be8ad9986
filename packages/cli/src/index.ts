// @xdp-lb/cli: the `lb` command. Importable for embedding and tests; the binary is dist/main.js.
export { buildProgram, CLI_VERSION, run, type Io } from './program.js';
export { cliReference } from './reference.js';
export { composeLoadBalancer, BUILTIN_STRATEGIES } from './compose.js';
export { configFromFlags, UsageError } from './flags.js';
