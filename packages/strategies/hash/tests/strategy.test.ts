import { isAbsolute } from 'node:path';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { testBackends } from '@xdp-lb/core/strategy';
import { HASH_DEFAULTS, HashOptionsSchema, buildMaglevTable, hash } from '../src/index.js';

const message = (input: unknown) => {
  const r = HashOptionsSchema.safeParse(input);
  return r.success ? '' : z.prettifyError(r.error);
};

describe('HashOptionsSchema', () => {
  it('fills the defaults', () => {
    expect(HashOptionsSchema.parse({})).toEqual({ tableSize: 65537, hashFields: 'five-tuple' });
    expect(HashOptionsSchema.parse({})).toEqual(HASH_DEFAULTS);
    expect(HashOptionsSchema.parse({ tableSize: 655373, hashFields: 'source' })).toEqual({
      tableSize: 655373,
      hashFields: 'source',
    });
  });

  it('says why a table size is wrong', () => {
    expect(message({ tableSize: 65536 })).toMatch(/tableSize must be a prime.*65536 is not \(try 65537\)/);
    expect(message({ tableSize: 1.5 })).toMatch(/tableSize must be an integer/);
    expect(message({ tableSize: 50 })).toMatch(/tableSize must be at least 100/);
    expect(message({ tableSize: '65537' })).toMatch(/expected number/);
    expect(message({ tableSize: 16777259 })).toMatch(/too large/);
  });

  it('says which hash fields exist', () => {
    expect(message({ hashFields: 'dst' })).toMatch(/hashFields must be one of 'five-tuple', 'source'/);
  });

  it('is strict: an unknown option names the ones that exist', () => {
    expect(message({ tablesize: 65537 })).toMatch(/unknown hash option\(s\) 'tablesize'.*tableSize and hashFields/);
  });
});

describe('hash strategy', () => {
  it('has its id, object path and flags', () => {
    expect(hash.id).toBe('hash');
    expect(isAbsolute(hash.objectPath)).toBe(true);
    expect(hash.objectPath).toMatch(/strategies\/hash\/obj\/lb_hash\.bpf\.o$/);
    expect(hash.serviceFlags(HashOptionsSchema.parse({}))).toBe(0);
    expect(hash.serviceFlags(HashOptionsSchema.parse({ hashFields: 'source' }))).toBe(1);
  });

  it('buildTable is buildMaglevTable with the tableSize option', () => {
    const bs = testBackends(5);
    expect(hash.buildTable(bs, HashOptionsSchema.parse({ tableSize: 1009 }))).toEqual(buildMaglevTable(bs, 1009));
    expect(hash.buildTable([], HashOptionsSchema.parse({}))).toEqual(new Uint32Array(0));
  });
});
