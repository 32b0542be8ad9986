/**
 * The only place that loads the native addon. It is looked up next to the package, in
 * build/Release (what `npm run build-native` and `npx xdp-lb-native-build` produce) and then
 * build/Debug; the environment variable XDP_LB_NATIVE_ADDON names another file (a debug build, or a
 * bundled copy of this module that no longer sits inside the package).
 *
 * When no addon is there, or none loads (the prebuilt one is for linux-x64 with glibc and libbpf
 * 1.x: another architecture or libbpf soname fails in dlopen), the error names the documented step
 * that builds it for this machine.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { NativeBinding } from './types.js';

const ADDON_FILE = 'xdp_lb_native.node';

/** What to do about it, in every load error. Kept in step with scripts/build-addon.mjs. */
const HOW_TO_BUILD =
  'build it for this machine with `npx xdp-lb-native-build` (needs cmake, make, g++, pkg-config, ' +
  'libbpf-dev, libelf-dev, zlib1g-dev: apt-get install cmake make g++ pkg-config libbpf-dev libelf-dev zlib1g-dev); ' +
  'in the xdp-lb repository: `npx nx run native:build-native`';

function candidates(): { paths: string[]; override: boolean } {
  const override = process.env.XDP_LB_NATIVE_ADDON;
  if (override) return { paths: [override], override: true };
  // This file is src/load.ts or dist/index.js: either way the package root is one level up.
  const root = join(dirname(fileURLToPath(import.meta.url)), '..');
  return { paths: [join(root, 'build', 'Release', ADDON_FILE), join(root, 'build', 'Debug', ADDON_FILE)], override: false };
}

const firstLine = (err: unknown) => String((err as Error)?.message ?? err).split('\n')[0];

function loadBinding(): NativeBinding {
  const { paths, override } = candidates();
  const found = paths.filter((p) => existsSync(p));
  if (found.length === 0) {
    const where = override
      ? `XDP_LB_NATIVE_ADDON=${paths[0]} does not exist`
      : `the native addon is not built (looked for ${paths.join(', ')})`;
    throw new Error(`@xdp-lb/native: ${where}; ${HOW_TO_BUILD}`);
  }
  const require = createRequire(import.meta.url);
  let first: unknown;
  for (const p of found) {
    try {
      return require(p) as NativeBinding;
    } catch (err) {
      first ??= err;
    }
  }
  throw new Error(
    `@xdp-lb/native: the native addon ${found[0]} does not load on this machine (${firstLine(first)}; ` +
      `${process.platform}-${process.arch}); ${HOW_TO_BUILD}`,
    { cause: first },
  );
}

export const binding: NativeBinding = loadBinding();
