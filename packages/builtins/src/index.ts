export { BUILTIN_STRATEGIES } from './builtins.js';
export { BUILTIN_IDS, builtinStrategy } from './lookup.js';
