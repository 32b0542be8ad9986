import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { weightedSlotTable } from './slot-table.js';
import type { Strategy } from './strategy.js';

/** Whether a strategy reference names a BPF C fragment on disk rather than an id or a package. */
export function isFragmentPath(ref: string): boolean {
  return ref.endsWith('.c') || ref.startsWith('./') || ref.startsWith('../') || ref.startsWith('/');
}

const FragmentOptionsSchema = z.object({ maxSlots: z.number().int().min(1).max(1 << 20).default(65536) }).strict();

/**
 * A third-party strategy given as the path of a BPF C fragment (it defines select_backend() and
 * includes "lb.bpf.h", like the built-ins). Compiled with clang once; the object is cached under
 * the hash of the fragment, the skeleton's headers and the compiler, so an edit of any of them
 * recompiles and nothing else does. Its table is the generic weighted slot table.
 */
export function fragmentStrategy(ref: string, objectPath?: string): Strategy<z.output<typeof FragmentOptionsSchema>> {
  const source = resolve(ref);
  return {
    id: ref,
    description: `third-party fragment ${source}`,
    optionsSchema: FragmentOptionsSchema,
    objectPath: objectPath ?? compileFragment(source),
    buildTable: (backends, o) => weightedSlotTable(backends, o.maxSlots),
    serviceFlags: () => 0,
  };
}

/** Where the skeleton's headers are: $XDP_LB_BPF_DIR, else the bpf/ folder of this workspace. */
export function bpfSourceDir(): string {
  if (process.env.XDP_LB_BPF_DIR) return process.env.XDP_LB_BPF_DIR;
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    if (existsSync(join(dir, 'bpf', 'lb.bpf.h'))) return join(dir, 'bpf');
    dir = dirname(dir);
  }
  throw new Error('cannot find the data plane sources (bpf/lb.bpf.h): set XDP_LB_BPF_DIR');
}

export function compileFragment(source: string): string {
  if (!existsSync(source)) throw new Error(`strategy fragment ${source} does not exist`);
  const bpf = bpfSourceDir();
  const clang = spawnSync('clang', ['--version'], { encoding: 'utf8' });
  if (clang.status !== 0) throw new Error('compiling a strategy fragment needs clang (apt-get install clang llvm)');
  const h = createHash('sha256').update(readFileSync(source)).update(clang.stdout);
  for (const f of headerFiles(bpf)) h.update(f).update(readFileSync(f));
  const cacheDir = join(process.env.XDP_LB_CACHE_DIR ?? '/var/cache/xdp-lb', 'strategies');
  const out = join(cacheDir, `${h.digest('hex').slice(0, 32)}.bpf.o`);
  if (existsSync(out)) return out;
  mkdirSync(cacheDir, { recursive: true, mode: 0o700 });
  const tmp = `${out}.tmp-${process.pid}`;
  const r = spawnSync('bash', [join(bpf, 'scripts', 'cc.sh'), source, tmp, `-I${dirname(source)}`], { encoding: 'utf8' });
  if (r.status !== 0) {
    const first = (r.stderr || r.error?.message || '').split('\n').find((l) => /error/.test(l)) ?? r.stderr.split('\n')[0];
    throw new Error(`compile ${source}: ${first?.trim()}`);
  }
  renameSync(tmp, out);
  return out;
}

function headerFiles(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) {
      if (name !== 'obj' && name !== 'node_modules') out.push(...headerFiles(p));
    } else if (name.endsWith('.h') || name === 'cc.sh') out.push(p);
  }
  return out;
}

/** A strategy published as a package: it exports `strategy` (or a default export) implementing Strategy. */
export async function importStrategyPackage(ref: string): Promise<Strategy<any>> {
  let mod: Record<string, unknown>;
  try {
    mod = (await import(ref)) as Record<string, unknown>;
  } catch (e) {
    throw new Error(`strategy "${ref}": not a built-in id, and the package cannot be loaded (${(e as Error).message.split('\n')[0]})`);
  }
  const s = (mod.strategy ?? mod.default) as Strategy<any> | undefined;
  if (!s || typeof s.buildTable !== 'function' || typeof s.objectPath !== 'string') {
    throw new Error(`strategy package "${ref}" exports no Strategy (expected \`export const strategy\` or a default export)`);
  }
  return s;
}
