import { isAbsolute } from 'node:path';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { testBackends } from '@xdp-lb/core/strategy';
import { RANDOM_DEFAULTS, RandomOptionsSchema, buildRandomTable, random } from '../src/index.js';

const message = (input: unknown) => {
  const r = RandomOptionsSchema.safeParse(input);
  return r.success ? '' : z.prettifyError(r.error);
};

describe('RandomOptionsSchema', () => {
  it('fills the defaults', () => {
    expect(RandomOptionsSchema.parse({})).toEqual({ maxSlots: 65536 });
    expect(RandomOptionsSchema.parse({})).toEqual(RANDOM_DEFAULTS);
    expect(RandomOptionsSchema.parse({ maxSlots: 1024 })).toEqual({ maxSlots: 1024 });
  });

  it('says what is wrong', () => {
    expect(message({ maxSlots: 0 })).toMatch(/maxSlots must be at least 1/);
    expect(message({ maxSlots: 2.5 })).toMatch(/maxSlots must be an integer/);
    expect(message({ maxSlots: 1 << 24 })).toMatch(/maxSlots must be at most 16777215/);
    expect(message({ maxSlots: 'many' })).toMatch(/expected number/);
    expect(message({ seed: 1 })).toMatch(/unknown random option\(s\) 'seed'.*takes maxSlots/);
  });
});

describe('random strategy', () => {
  it('has its id, object path and no service flags', () => {
    expect(random.id).toBe('random');
    expect(isAbsolute(random.objectPath)).toBe(true);
    expect(random.objectPath).toMatch(/strategies\/random\/obj\/lb_random\.bpf\.o$/);
    expect(random.serviceFlags()).toBe(0);
  });

  it('buildTable is buildRandomTable with the maxSlots option', () => {
    const bs = testBackends(3, (i) => [1, 500, 1000][i]!);
    expect(random.buildTable(bs, RandomOptionsSchema.parse({ maxSlots: 100 }))).toEqual(buildRandomTable(bs, 100));
    expect(random.buildTable([], RandomOptionsSchema.parse({}))).toEqual(new Uint32Array(0));
  });
});
