import type { Strategy } from '@xdp-lb/core';
import { BUILTIN_STRATEGIES } from './builtins.js';

/** The built-in strategies' ids, in the registry's order. */
export const BUILTIN_IDS: readonly string[] = BUILTIN_STRATEGIES.map((s) => s.id);

/** A built-in strategy by id; an unknown id is one line naming it and the known ones. */
export function builtinStrategy(id: string): Strategy<any> {
  const s = BUILTIN_STRATEGIES.find((x) => x.id === id);
  if (!s) throw new Error(`no built-in strategy "${id}" (built-ins: ${BUILTIN_IDS.join(', ')})`);
  return s;
}
