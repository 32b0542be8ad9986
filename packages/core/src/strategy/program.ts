import type { Strategy } from './strategy.js';

/**
 * The strategies one loaded program carries, in fragment order: a service's lb_svc.strategy is
 * its strategy's index here (bpf/lib/dispatch.h). Built from the registry at deploy, and from the
 * saved state (its ids, in the same order) for hot updates.
 */
export class ProgramStrategies {
  private readonly byId: Map<string, { strategy: Strategy<any>; index: number }>;

  constructor(
    /** The loaded (or to be loaded) BPF object. */
    readonly objectPath: string,
    readonly list: readonly Strategy<any>[],
  ) {
    this.byId = new Map(list.map((strategy, index) => [strategy.id, { strategy, index }]));
  }

  get ids(): string[] {
    return this.list.map((s) => s.id);
  }

  carries(id: string): boolean {
    return this.byId.has(id);
  }

  /** The strategy `id`; throws naming what the program carries. */
  of(id: string): Strategy<any> {
    return this.entry(id).strategy;
  }

  /** lb_svc.strategy of a service of strategy `id`. */
  index(id: string): number {
    return this.entry(id).index;
  }

  private entry(id: string) {
    const e = this.byId.get(id);
    if (!e) throw new Error(`strategy "${id}" is not in the program (it carries ${this.ids.join(', ')}): a deploy loads one that does`);
    return e;
  }
}
