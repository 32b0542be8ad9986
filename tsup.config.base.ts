// Shared tsup settings: every package's tsup.config.ts is a call of tsupConfig() with what differs
// (its entries, mostly), as every vitest.config.ts merges vitest.config.base.ts.
import type { Options } from 'tsup';

/** ESM for Node 20 with declarations and source maps into a clean dist/; `overrides` win, `external` adds. */
export function tsupConfig(overrides: Options = {}): Options {
  return {
    entry: ['src/index.ts'],
    format: ['esm'],
    dts: true,
    target: 'node20',
    platform: 'node',
    sourcemap: true,
    clean: true,
    ...overrides,
    // The native addon and the other workspace packages are loaded at run time from their own
    // packages, never bundled.
    external: [/\.node$/, /^@xdp-lb\//, ...(overrides.external ?? [])],
  };
}
