// Vitest helpers for suites that need a lab (entry `@xdp-lb/netlab/vitest`, kept apart from the
// main entry so that only tests load vitest).
import { afterAll, beforeAll, describe } from 'vitest';
import { Lab } from './lab/lab.js';
import type { LabHost } from './lab/host.js';
import type { LabOptions, LabSpec } from './lab/spec.js';
import { labSupport, type Support } from './lab/support.js';

export interface LabRef {
  /** The running lab (throws before `beforeAll` has built it). */
  readonly lab: Lab;
  /** Shorthand for `lab.host(name)`. */
  host(name: string): LabHost;
}

/**
 * Builds the lab in `beforeAll` and destroys it in `afterAll`, whatever the tests did. Call it
 * inside a `describe` (or at the top of a file). The exit hooks back this up if the worker dies.
 */
export function useLab(spec: LabSpec | (() => LabSpec), options: LabOptions & { timeoutMs?: number } = {}): LabRef {
  let current: Lab | undefined;
  const timeout = options.timeoutMs ?? 60_000;
  beforeAll(async () => {
    current = await Lab.up(typeof spec === 'function' ? spec() : spec, options);
  }, timeout);
  afterAll(async () => {
    await current?.destroy();
    current = undefined;
  }, timeout);
  return {
    get lab(): Lab {
      if (!current) throw new Error('useLab: the lab is not up (used outside a test, or beforeAll failed)');
      return current;
    },
    host(name: string): LabHost {
      return this.lab.host(name);
    },
  };
}

/**
 * `describe`, or `describe.skip` with the reason in its name when the machine cannot run labs
 * (not root, tools missing).
 */
export function describeLab(name: string, fn: () => void, support: Support = labSupport()): void {
  if (support.ok) describe(name, fn);
  else describe.skip(`${name} [skipped: ${support.reason}]`, fn);
}

export { labSupport, labToolsSupport, type Support } from './lab/support.js';
