/**
 * Runs a script in a second Node process against this package's source: src/index.ts is bundled
 * with esbuild into a temporary directory (the addon stays external and is found through
 * XDP_LB_NATIVE_ADDON), and the script gets the bundle's path as its last argument.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { build } from 'esbuild';

const packageRoot = fileURLToPath(new URL('../..', import.meta.url));

export interface SecondProcess {
  run(script: string, args: string[]): { status: number | null; stdout: string; stderr: string };
  remove(): void;
}

export async function prepareSecondProcess(): Promise<SecondProcess> {
  const dir = mkdtempSync(join(tmpdir(), 'xlb-native-'));
  const bundle = join(dir, 'native.mjs');
  await build({
    entryPoints: [join(packageRoot, 'src/index.ts')],
    outfile: bundle,
    bundle: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    logLevel: 'silent',
  });
  return {
    run(script, args) {
      const r = spawnSync(process.execPath, [join(packageRoot, 'tests/child', script), ...args, pathToFileURL(bundle).href], {
        encoding: 'utf8',
        timeout: 30_000,
        env: { ...process.env, XDP_LB_NATIVE_ADDON: join(packageRoot, 'build/Release/xdp_lb_native.node') },
      });
      return { status: r.status, stdout: r.stdout ?? '', stderr: r.stderr ?? r.error?.message ?? '' };
    },
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}
