// Resolving a config of given services with any strategy options, for the tests of one service
// feature (prefix VIPs, QUIC, mixed families): the config, or the lines of its ConfigError.
import { expect } from 'vitest';
import { z } from 'zod';
import { ConfigError, type LbConfig, resolveConfig, type ResolveContext } from '../../src/index.js';

export const ctx: ResolveContext = {
  strategyOptions: () => z.object({}).strict(),
  strategyIds: () => ['hash'],
  interfaceExists: () => true,
};
const base = { interfaces: ['eth0'], snat: { addresses: ['198.18.0.2', '2001:db8::2'] } };

export function resolveServices(services: unknown[]): LbConfig {
  return resolveConfig({ ...base, services }, ctx);
}

export function problems(services: unknown[]): string[] {
  try {
    resolveServices(services);
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return (e as ConfigError).lines();
  }
  throw new Error('expected a ConfigError');
}
