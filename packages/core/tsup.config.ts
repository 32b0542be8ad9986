import { defineConfig } from 'tsup';

export default defineConfig({
  entry: { index: 'src/index.ts', 'strategy/kit': 'src/strategy/kit.ts' },
  format: ['esm'],
  dts: true,
  target: 'node20',
  platform: 'node',
  sourcemap: true,
  clean: true,
  // The native addon is loaded at run time from its own package, never bundled.
  external: [/\.node$/, /^@xdp-lb\//],
});
