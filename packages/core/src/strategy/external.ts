import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { z } from 'zod';
import { assembleProgram } from './assemble.js';

export { bpfSourceDir } from './sources.js';
import { SlotTableOptionsSchema, weightedSlotTable } from './slot-table.js';
import type { Strategy } from './strategy.js';

/** Whether a strategy reference names a BPF C fragment on disk rather than an id or a package. */
export function isFragmentPath(ref: string): boolean {
  return ref.endsWith('.c') || ref.startsWith('./') || ref.startsWith('../') || ref.startsWith('/');
}

const FragmentOptionsSchema = SlotTableOptionsSchema;

/**
 * A third-party strategy given as the path of a BPF C fragment (it defines LB_STRATEGY and
 * select_backend() and includes "lb.bpf.h", like the built-ins). Deploy assembles it with the
 * other strategies of the program (assemble.ts); `objectPath`, the fragment compiled alone, is
 * compiled on first use only. Its table is the generic weighted slot table.
 */
export function fragmentStrategy(ref: string, objectPath?: string): Strategy<z.output<typeof FragmentOptionsSchema>> {
  // Not checked here: a running instance's strategies are known by reference (hot updates from
  // another directory need only its table builder); assembling the program checks the file.
  const source = resolve(ref);
  let compiled = objectPath;
  return {
    id: ref,
    description: `third-party fragment ${source}`,
    optionsSchema: FragmentOptionsSchema,
    get objectPath() {
      return (compiled ??= compileFragment(source));
    },
    fragmentPath: source,
    buildTable: (backends, o) => weightedSlotTable(backends, o.maxSlots),
    serviceFlags: () => 0,
  };
}

/** The fragment compiled alone (a program of one strategy), cached by content hash (assemble.ts). */
export function compileFragment(source: string): string {
  return assembleProgram([source]);
}

/** Whether a strategy reference is the folder of a strategy package (a package.json in it). */
export function isPackageDir(ref: string): boolean {
  return existsSync(join(ref, 'package.json'));
}

/** The file URL of a strategy package folder's entry (package.json "main", else index.js), for import(). */
export function packageEntry(dir: string): string {
  const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { main?: string };
  return pathToFileURL(resolve(dir, pkg.main ?? 'index.js')).href;
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
