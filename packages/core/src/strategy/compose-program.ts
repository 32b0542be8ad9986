import type { LbConfig } from '../config/types.js';
import { assembleProgram } from './assemble.js';
import { ProgramStrategies } from './program.js';
import type { StrategyRegistry } from './registry.js';
import type { Strategy } from './strategy.js';

/**
 * The program a config needs: every built-in strategy (so that a service moves between them hot,
 * with one map write), then the third-party ones its services use, by reference. Built-ins alone
 * are prebuilt (the registry's prebuilt directories); a program with a third-party fragment is
 * compiled once and cached by content hash (assemble.ts). A strategy that ships only a compiled
 * object (no fragmentPath) runs alone: as the only strategy of its instance.
 */
export async function programFor(registry: StrategyRegistry, cfg: Pick<LbConfig, 'services'>): Promise<ProgramStrategies> {
  const used = [...new Set(cfg.services.map((s) => s.strategy))];
  const builtins = registry.builtins().filter((s) => s.fragmentPath);
  const builtinIds = new Set(builtins.map((s) => s.id));
  const extra: Strategy<any>[] = [];
  for (const ref of used.filter((id) => !builtinIds.has(id)).sort()) {
    const s = await registry.resolve(ref);
    if (!s)
      throw new Error(
        `unknown strategy "${ref}" (one of ${registry.ids().join(', ')}, the path of a .bpf.c fragment, or a strategy package)`,
      );
    extra.push(s);
  }
  const objectOnly = extra.filter((s) => !s.fragmentPath);
  if (objectOnly.length) {
    if (used.length === 1) return new ProgramStrategies(objectOnly[0]!.objectPath, objectOnly);
    throw new Error(
      `strategy "${objectOnly[0]!.id}" ships a compiled object only (no fragmentPath): it cannot share a program with ${used.filter((u) => u !== objectOnly[0]!.id).join(', ')}; give it its own instance`,
    );
  }
  const list = [...builtins, ...extra];
  return new ProgramStrategies(
    assembleProgram(
      list.map((s) => s.fragmentPath!),
      { prebuilt: registry.prebuiltDirs },
    ),
    list,
  );
}

/** The program an instance runs, from its saved strategy ids (fragment order) and object. */
export async function programOf(registry: StrategyRegistry, ids: readonly string[], objectPath: string): Promise<ProgramStrategies> {
  const list: Strategy<any>[] = [];
  for (const id of ids) {
    const s = await registry.resolve(id);
    if (!s) throw new Error(`the running program carries strategy "${id}", which this process cannot load`);
    list.push(s);
  }
  return new ProgramStrategies(objectPath, list);
}
