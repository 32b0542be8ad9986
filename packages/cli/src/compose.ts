import 'reflect-metadata';
import { Container } from 'inversify';
import { coreModule, LoadBalancer, StrategyContribution, type Strategy } from '@xdp-lb/core';
import { hash } from '@xdp-lb/strategy-hash';
import { random } from '@xdp-lb/strategy-random';
import { roundRobin } from '@xdp-lb/strategy-round-robin';

/** The built-in strategies, contributed to core's registry. */
export const BUILTIN_STRATEGIES: readonly Strategy<any>[] = [hash, roundRobin, random];

/** The CLI's composition root: the only place that touches the container. */
export function composeLoadBalancer(): LoadBalancer {
  const container = new Container();
  container.load(coreModule);
  for (const s of BUILTIN_STRATEGIES) container.bind<Strategy<any>>(StrategyContribution).toConstantValue(s);
  return container.get(LoadBalancer);
}
