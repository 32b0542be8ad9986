// The CLI suites' end-to-end plumbing: testkit's (per-file isolation, labs, load, leftovers; see
// packages/testkit) with the LoadBalancer composed as the CLI composes it, and the CLI itself run
// in-process, as the built binary, as nobody, and bundled from its sources.
//
// Every suite calls `useE2e()` at module level, BEFORE anything calls the LoadBalancer (see
// testkit's useE2e).
import { chmodSync, copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { exec } from '@xdp-lb/netlab';
import { type E2e, useE2e as useKitE2e } from '@xdp-lb/testkit';
import { buildProgram, composeLoadBalancer, run, type Io } from '../../src/index.js';

// Everything of testkit's but what this file composes for the CLI (declared here, so it wins).
export * from '@xdp-lb/testkit';

export const CLI_MAIN = fileURLToPath(new URL('../../dist/main.js', import.meta.url));
export const XDP_PASS_OBJ = fileURLToPath(new URL('../../../../bpf/obj/xdp_pass.bpf.o', import.meta.url));
const CLI_MAIN_SRC = fileURLToPath(new URL('../../src/main.ts', import.meta.url));
const NATIVE_ADDON = fileURLToPath(new URL('../../../native/build/Release/xdp_lb_native.node', import.meta.url));

/** testkit's useE2e with the CLI's LoadBalancer (core's root with the built-in strategies). */
export const useE2e = (): E2e => useKitE2e(composeLoadBalancer);

// ---------------------------------------------------------------------------------------------
// The CLI

export interface CliResult {
  code: number;
  out: string;
  err: string;
}

/** `lb ...argv` in this process, against this suite's pins and state (a capturing Io). */
export async function lbInProcess(...argv: string[]): Promise<CliResult> {
  const stdout: string[] = [];
  const stderr: string[] = [];
  const io: Io = { out: (s) => stdout.push(s), err: (s) => stderr.push(s) };
  const code = await run(buildProgram(composeLoadBalancer, io), argv, io);
  return { code, out: stdout.join('\n'), err: stderr.join('\n') };
}

/**
 * The built binary (`node packages/cli/dist/main.js ...argv`) as a subprocess, with this suite's
 * XDP_LB_BPFFS / XDP_LB_STATE_DIR. `asNobody` drops to uid/gid 65534 with no groups (setpriv).
 */
export async function lbBinary(argv: string[], opts: { asNobody?: boolean; timeoutMs?: number } = {}): Promise<CliResult> {
  if (opts.asNobody) return lbAsNobody(argv, opts);
  if (!existsSync(CLI_MAIN)) throw new Error(`${CLI_MAIN} is missing: run \`npx nx run cli:build\` first`);
  return lbCommand([process.execPath, CLI_MAIN, ...argv], argv, opts);
}

async function lbCommand(cmd: string[], argv: readonly string[], opts: { timeoutMs?: number }): Promise<CliResult> {
  const r = await exec(cmd, { check: false, timeoutMs: opts.timeoutMs ?? 30_000, cwd: '/' });
  if (r.timedOut) throw new Error(`lb ${argv.join(' ')} timed out: ${r.stderr}`);
  return { code: r.code ?? -1, out: r.stdout.trimEnd(), err: r.stderr.trimEnd() };
}

/**
 * `lb ...argv` as nobody (uid/gid 65534, no groups, setpriv). nobody may not be able to reach the
 * checkout at all (a clone under a root-only directory, as `mktemp -d` makes one), so it runs
 * from a world-readable copy in a fresh /tmp directory: the CLI bundled from source and the
 * native addon (XDP_LB_NATIVE_ADDON); the directory is removed afterwards.
 */
export async function lbAsNobody(argv: string[], opts: { timeoutMs?: number } = {}): Promise<CliResult> {
  const dir = mkdtempSync('/tmp/xlb-nobody-');
  try {
    chmodSync(dir, 0o755);
    const main = await bundleCli(join(dir, 'lb.mjs'));
    const addon = join(dir, 'xdp_lb_native.node');
    copyFileSync(NATIVE_ADDON, addon);
    chmodSync(main, 0o644);
    chmodSync(addon, 0o644);
    const as = ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups', '--'];
    return await lbCommand([...as, 'env', `XDP_LB_NATIVE_ADDON=${addon}`, process.execPath, main, ...argv], argv, opts);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * The CLI as one ESM file built from the TypeScript sources (the `@xdp-lb/source` condition).
 * `import.meta.url` is replaced in each module by its source file's URL, so that everything located
 * relative to a module (the native addon, the strategies' BPF objects) is found as from source.
 */
export async function bundleCli(out: string): Promise<string> {
  const esbuild = await import('esbuild');
  await esbuild.build({
    entryPoints: [CLI_MAIN_SRC],
    outfile: out,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    conditions: ['@xdp-lb/source'],
    logLevel: 'error',
    banner: { js: "import { createRequire as __xlbRequire } from 'node:module'; const require = __xlbRequire(import.meta.url);" },
    plugins: [
      {
        name: 'source-import-meta-url',
        setup(build) {
          build.onLoad({ filter: /\/packages\/.*\.(ts|mjs|js)$/ }, (args) => {
            if (args.path.includes('/node_modules/')) return undefined;
            const text = readFileSync(args.path, 'utf8').replaceAll('import.meta.url', JSON.stringify(pathToFileURL(args.path).href));
            return { contents: text, loader: args.path.endsWith('.ts') ? 'ts' : 'js' };
          });
        },
      },
    ],
  });
  return out;
}
