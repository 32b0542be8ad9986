import { injectable, multiInject, optional } from 'inversify';
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

  constructor(@multiInject(StrategyContribution) @optional() contributions: Strategy<any>[] = []) {
    for (const s of contributions ?? []) this.register(s);
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

  get(id: string): Strategy<any> {
    const s = this.byId.get(id);
    if (!s) throw new Error(`unknown strategy "${id}" (one of ${this.ids().join(', ')})`);
    return s;
  }
}
