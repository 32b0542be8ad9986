import { isAbsolute } from 'node:path';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { testBackends } from '@xdp-lb/core/strategy';
import { ROUND_ROBIN_DEFAULTS, RoundRobinOptionsSchema, buildRoundRobinTable, roundRobin } from '../src/index.js';

const message = (input: unknown) => {
  const r = RoundRobinOptionsSchema.safeParse(input);
  return r.success ? '' : z.prettifyError(r.error);
};

describe('RoundRobinOptionsSchema', () => {
  it('fills the defaults', () => {
    expect(RoundRobinOptionsSchema.parse({})).toEqual({ maxSlots: 65536 });
    expect(RoundRobinOptionsSchema.parse({})).toEqual(ROUND_ROBIN_DEFAULTS);
    expect(RoundRobinOptionsSchema.parse({ maxSlots: 1024 })).toEqual({ maxSlots: 1024 });
  });

  it('says what is wrong', () => {
    expect(message({ maxSlots: 0 })).toMatch(/maxSlots must be at least 1/);
    expect(message({ maxSlots: 2.5 })).toMatch(/maxSlots must be an integer/);
    expect(message({ maxSlots: (1 << 18) + 1 })).toMatch(/maxSlots must be at most 262144/);
    expect(message({ maxSlots: 'many' })).toMatch(/expected number/);
    expect(message({ seed: 1 })).toMatch(/unknown round-robin option\(s\) 'seed'.*takes maxSlots/);
  });
});

describe('round-robin strategy', () => {
  it('has its id, object path and no service flags', () => {
    expect(roundRobin.id).toBe('round-robin');
    expect(isAbsolute(roundRobin.objectPath)).toBe(true);
    expect(roundRobin.objectPath).toMatch(/strategies\/round-robin\/obj\/lb_round-robin\.bpf\.o$/);
    expect(roundRobin.serviceFlags()).toBe(0);
  });

  it('buildTable is buildRoundRobinTable with the maxSlots option', () => {
    const bs = testBackends(3, (i) => [1, 500, 1000][i]!);
    expect(roundRobin.buildTable(bs, RoundRobinOptionsSchema.parse({ maxSlots: 100 }))).toEqual(buildRoundRobinTable(bs, 100));
    expect(roundRobin.buildTable([], RoundRobinOptionsSchema.parse({}))).toEqual(new Uint32Array(0));
  });
});
