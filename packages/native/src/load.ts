/**
 * The only place that loads the native addon. It is looked up next to the package, in
 * build/Release (what `npm run build-native` produces) and then build/Debug; the environment
 * variable XDP_LB_NATIVE_ADDON names another file (a debug build, or a bundled copy of this module
 * that no longer sits inside the package).
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { NativeBinding } from './types.js';

const ADDON_FILE = 'xdp_lb_native.node';

function candidates(): string[] {
  const override = process.env.XDP_LB_NATIVE_ADDON;
  if (override) return [override];
  // This file is src/load.ts or dist/index.js: either way the package root is one level up.
  const root = join(dirname(fileURLToPath(import.meta.url)), '..');
  return [join(root, 'build', 'Release', ADDON_FILE), join(root, 'build', 'Debug', ADDON_FILE)];
}

function loadBinding(): NativeBinding {
  const paths = candidates();
  const found = paths.find((p) => existsSync(p));
  if (found === undefined) {
    throw new Error(
      `@xdp-lb/native: the native addon is not built (looked for ${paths.join(', ')}); ` +
        'run `npx nx run native:build-native` (needs cmake, g++, libbpf-dev, libelf-dev)',
    );
  }
  const require = createRequire(import.meta.url);
  return require(found) as NativeBinding;
}

export const binding: NativeBinding = loadBinding();
