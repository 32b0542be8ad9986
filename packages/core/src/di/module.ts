import 'reflect-metadata';
import { Container, ContainerModule } from 'inversify';
import { Agent } from '../agent/agent.js';
import { AgentParts, realAgentParts } from '../agent/parts.js';
import { LoadBalancer } from '../lifecycle/load-balancer.js';
import { StrategyContribution, StrategyRegistry } from '../strategy/registry.js';
import type { Strategy } from '../strategy/strategy.js';

/** Core's bindings. Strategy packages contribute by binding StrategyContribution. */
export const coreModule = new ContainerModule((options) => {
  options.bind(StrategyRegistry).toSelf().inSingletonScope();
  options.bind(LoadBalancer).toSelf().inSingletonScope();
  // One Agent per start (`lb serve`); it drives the container's LoadBalancer.
  options.bind(Agent).toSelf();
  // What the agent touches the world with (prober, announcer, server, watcher, gauge): rebind
  // for another prober or announcer; the agent's unit tests pass fakes (tests/agent-policy.test.ts).
  options.bind(AgentParts).toConstantValue(realAgentParts);
});

/** Composition root for library users: a LoadBalancer that knows the given strategies. */
export function createLoadBalancer(strategies: readonly Strategy<any>[]): LoadBalancer {
  const container = new Container();
  container.load(coreModule);
  for (const s of strategies) container.bind<Strategy<any>>(StrategyContribution).toConstantValue(s);
  return container.get(LoadBalancer);
}
