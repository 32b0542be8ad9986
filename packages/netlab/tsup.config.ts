import { defineConfig } from 'tsup';

export default defineConfig({
  // index: the library; vitest: test helpers (a separate entry so the library never loads vitest).
  entry: ['src/index.ts', 'src/vitest.ts'],
  format: ['esm'],
  dts: true,
  target: 'node20',
  platform: 'node',
  sourcemap: true,
  clean: true,
  // The native addon is loaded at run time from its own package, never bundled; vitest belongs to
  // the test runner that imports the vitest entry.
  external: [/\.node$/, /^@xdp-lb\//, 'vitest'],
});
