import { existsSync } from 'node:fs';
import { injectable, multiInject, optional } from 'inversify';
import { fragmentStrategy, importStrategyPackage, isFragmentPath, isPackageDir, packageEntry } from './external.js';
import type { Strategy } from './strategy.js';

/** DI token: every strategy package binds its Strategy object to this (a contribution). */
export const StrategyContribution = Symbol('StrategyContribution');

/**
 * The strategies this process knows. Built-ins come by contribution from the composition root
 * (the CLI binds the three packages); a library user may register their own.
 */
@injectable()
export class StrategyRegistry {
  private readonly byId = new Map<string, Strategy<any>>();
  /** The contributed (built-in) strategies: every program carries them (ProgramStrategies). */
  private readonly contributed: Strategy<any>[] = [];

  constructor(@multiInject(StrategyContribution) @optional() contributions: Strategy<any>[] = []) {
    for (const s of contributions ?? []) {
      this.register(s);
      this.contributed.push(s);
    }
  }

  /** Directories of prebuilt programs (assemble.ts), searched before the compile cache. */
  readonly prebuiltDirs: string[] = [];

  /** The built-in strategies, by id: the first strategies of every program, in this order. */
  builtins(): Strategy<any>[] {
    return [...this.contributed].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }

  register(strategy: Strategy<any>): void {
    if (this.byId.has(strategy.id)) throw new Error(`strategy "${strategy.id}" is registered twice`);
    this.byId.set(strategy.id, strategy);
  }

  ids(): string[] {
    return [...this.byId.keys()].sort();
  }

  find(id: string): Strategy<any> | undefined {
    return this.byId.get(id);
  }

  /**
   * A strategy by reference: a registered id, the path of a BPF C fragment (compiled once, cached),
   * or a package that exports a Strategy. `objectPath` reuses an already compiled fragment (a
   * deployed instance's). Unknown plain names resolve to undefined, so that config validation can
   * list the known ids.
   */
  async resolve(ref: string, objectPath?: string): Promise<Strategy<any> | undefined> {
    const known = this.byId.get(ref);
    if (known) return known;
    let s: Strategy<any>;
    if (isPackageDir(ref)) s = await importStrategyPackage(packageEntry(ref));
    else if (isFragmentPath(ref)) s = fragmentStrategy(ref, objectPath && existsSync(objectPath) ? objectPath : undefined);
    else {
      try {
        s = await importStrategyPackage(ref);
      } catch (e) {
        if (/Cannot find (package|module)/.test((e as Error).message)) return undefined;
        throw e;
      }
    }
    // Known by the reference the config wrote (a path, a package name): services name it so.
    if (s.id !== ref) s = { ...s, id: ref };
    this.byId.set(ref, s);
    return s;
  }

  get(id: string): Strategy<any> {
    const s = this.byId.get(id);
    if (!s) throw new Error(`unknown strategy "${id}" (one of ${this.ids().join(', ')})`);
    return s;
  }
}
