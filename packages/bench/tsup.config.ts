import { defineConfig } from 'tsup';

export default defineConfig({
  entry: ['src/index.ts'],
  format: ['esm'],
  dts: true,
  target: 'node20',
  platform: 'node',
  sourcemap: true,
  clean: true,
  // The native addon is loaded at run time from its own package, never bundled.
  external: [/\.node$/, /^@xdp-lb\//],
});
