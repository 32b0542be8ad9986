import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { bpfSourceDir, headerFiles } from './sources.js';

/** bpf/include/lb_abi.h LB_MAX_STRATEGIES: the fragments one program carries at most. */
export const MAX_STRATEGIES = 8;

/**
 * The translation unit of one program carrying several strategy fragments (bpf/lib/dispatch.h):
 * each fragment included with its select_backend() renamed lb_select_<i> (so fragments never
 * collide on it, and their own "#include lb.bpf.h" is a no-op), its id stamped into lb_strat_<i>,
 * its LB_STRATEGY_STATELESS kept as LB_S<i>_STATELESS; then the skeleton once, whose dispatcher
 * switches on the service's lb_svc.strategy. `fragments`: absolute paths, in index order.
 */
export function assemblyUnit(fragments: readonly string[]): string {
  if (fragments.length === 0) throw new RangeError('a program needs at least one strategy fragment');
  if (fragments.length > MAX_STRATEGIES) {
    throw new RangeError(
      `a program carries at most ${MAX_STRATEGIES} strategies (bpf/include/lb_abi.h LB_MAX_STRATEGIES), this one would need ${fragments.length}`,
    );
  }
  const out = [
    '/* Assembled by xdp-lb (packages/core/src/strategy/assemble.ts): one program, several strategies. */',
    '#define LB_ASSEMBLING 1',
  ];
  fragments.forEach((f, i) => {
    out.push(
      '',
      `/* strategy ${i}: ${f} */`,
      `#define select_backend lb_select_${i}`,
      `#include ${JSON.stringify(f)}`,
      '#undef select_backend',
      '#ifndef LB_STRATEGY',
      `#error "strategy fragment ${f} defines no LB_STRATEGY"`,
      '#endif',
      `const volatile char lb_strat_${i}[LB_STRATEGY_LEN] = LB_STRATEGY;`,
      ...(i === 0 ? ['const volatile char lb_strategy[LB_STRATEGY_LEN] = LB_STRATEGY;'] : []),
      '#if defined(LB_STRATEGY_STATELESS) && LB_STRATEGY_STATELESS',
      `#define LB_S${i}_STATELESS 1`,
      '#else',
      `#define LB_S${i}_STATELESS 0`,
      '#endif',
      '#undef LB_STRATEGY',
      '#undef LB_STRATEGY_STATELESS',
    );
  });
  out.push(
    '',
    '#undef LB_ASSEMBLING',
    `#define LB_STRATEGY_LIST(X) ${fragments.map((_, i) => `X(${i})`).join(' ')}`,
    '#include "lb.bpf.h"',
    '',
  );
  return out.join('\n');
}

/** Where compiled programs are cached: $XDP_LB_CACHE_DIR/strategies, default /var/cache/xdp-lb/strategies. */
export function strategyCacheDir(): string {
  return join(process.env.XDP_LB_CACHE_DIR ?? '/var/cache/xdp-lb', 'strategies');
}

/**
 * The content hash of a program: the unit (with each fragment's path as its index: the hash does
 * not depend on where the packages are installed), every fragment and the headers beside it, the
 * skeleton's headers and cc.sh (the compiler flags). Not the compiler's version, so that a prebuilt
 * program is found on a host without clang; after a compiler upgrade clear the cache.
 */
export function programKey(unit: string, fragments: readonly string[]): string {
  let text = unit;
  fragments.forEach((f, i) => (text = text.split(f).join(`<fragment ${i}>`)));
  const h = createHash('sha256').update(text);
  for (const f of fragments) {
    h.update(readFileSync(f));
    for (const side of readdirSync(dirname(f)).sort()) {
      const p = join(dirname(f), side);
      if (side.endsWith('.h') && statSync(p).isFile()) h.update(side).update(readFileSync(p));
    }
  }
  const bpf = bpfSourceDir();
  for (const f of headerFiles(bpf)) h.update(f.slice(bpf.length)).update(readFileSync(f));
  return h.digest('hex').slice(0, 32);
}

export interface AssembleOptions {
  /** Directories searched for an already compiled program before the cache (prebuilt built-ins). */
  prebuilt?: readonly string[];
  /** Where a compiled program goes; default strategyCacheDir(). */
  cacheDir?: string;
}

/**
 * The object of one program carrying `fragments` (BPF C sources, index order): a prebuilt or
 * cached one of the same content hash, else compiled with clang once (bpf/scripts/cc.sh) into the
 * cache. Two fragments that define the same map or function are refused naming both.
 */
export function assembleProgram(fragments: readonly string[], opts: AssembleOptions = {}): string {
  const sources = fragments.map((f) => resolve(f));
  for (const f of sources) if (!existsSync(f)) throw new Error(`strategy fragment ${f} does not exist`);
  const unit = assemblyUnit(sources);
  const name = `lb_${programKey(unit, sources)}.bpf.o`;
  for (const dir of opts.prebuilt ?? []) if (existsSync(join(dir, name))) return join(dir, name);
  const cacheDir = opts.cacheDir ?? strategyCacheDir();
  const out = join(cacheDir, name);
  if (existsSync(out)) return out;
  compileUnit(unit, out, sources);
  return out;
}

/** Compiles `unit` (written beside `out`) into `out`, atomically. */
function compileUnit(unit: string, out: string, fragments: readonly string[]): void {
  const clang = spawnSync('clang', ['--version'], { encoding: 'utf8' });
  if (clang.status !== 0) throw new Error('compiling a program with a third-party strategy needs clang (apt-get install clang llvm)');
  mkdirSync(dirname(out), { recursive: true, mode: 0o700 });
  const src = out.replace(/\.o$/, '.c');
  writeFileSync(src, unit);
  const tmp = `${out}.tmp-${process.pid}`;
  const includes = [...new Set(fragments.map((f) => `-I${dirname(f)}`))];
  const r = spawnSync('bash', [join(bpfSourceDir(), 'scripts', 'cc.sh'), src, tmp, ...includes], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(compileError(r.stderr || r.error?.message || '', fragments));
  renameSync(tmp, out);
}

/**
 * One line from clang's output: a symbol two fragments both define named with both files (a
 * fragment's maps and helpers share one program with the others'), else clang's first error.
 */
export function compileError(stderr: string, fragments: readonly string[]): string {
  const lines = stderr.split('\n');
  const redef = lines.findIndex((l) => /error: redefinition of '([^']+)'/.test(l));
  if (redef >= 0) {
    const symbol = /redefinition of '([^']+)'/.exec(lines[redef]!)![1]!;
    const here = lines[redef]!.split(':')[0]!;
    const prevLine = lines.slice(redef).find((l) => /note: previous definition/.test(l));
    const there = prevLine?.split(':')[0] ?? '?';
    return `strategies ${there} and ${here} both define '${symbol}': the fragments of one program share its names, so a fragment's maps and helpers need names of their own (prefix them with the strategy id)`;
  }
  const first = lines.find((l) => /error/.test(l)) ?? lines[0] ?? '';
  return `compile the program of strategies ${fragments.join(', ')}: ${first.trim()}`;
}
