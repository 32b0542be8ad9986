// The registry is the list: every strategy package of the workspace is in it exactly once (a package
// added without its registration line fails here), the config reference names each, and a lookup
// of an unknown id says which ids exist.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { BUILTIN_IDS, BUILTIN_STRATEGIES, builtinStrategy } from '../src/index.js';

const STRATEGY_DIR = fileURLToPath(new URL('../../strategies/', import.meta.url));
const packages = readdirSync(STRATEGY_DIR, { withFileTypes: true })
  .filter((d) => d.isDirectory() && existsSync(`${STRATEGY_DIR}${d.name}/package.json`))
  .map((d) => d.name);
const dependencies = Object.keys(
  (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { dependencies: Record<string, string> }).dependencies,
);

describe('the built-in strategies', () => {
  it('hold every package under packages/strategies/, each once, under its folder name', () => {
    expect([...BUILTIN_IDS].sort()).toEqual([...packages].sort());
    expect(new Set(BUILTIN_IDS).size).toBe(BUILTIN_IDS.length);
  });

  it('each is a dependency of this package (what an install of it brings)', () => {
    for (const id of BUILTIN_IDS) expect(dependencies, id).toContain(`@xdp-lb/strategy-${id}`);
  });

  it('each carries its fragment, so one program can hold them all', () => {
    for (const s of BUILTIN_STRATEGIES) expect(s.fragmentPath && existsSync(s.fragmentPath), s.id).toBe(true);
  });

  it("each is named in docs/config.md's `strategy` row (the table users read)", () => {
    const doc = readFileSync(new URL('../../../docs/config.md', import.meta.url), 'utf8');
    const row = doc.split('\n').find((l) => l.startsWith('| `strategy` |'));
    expect(row, 'docs/config.md has a `strategy` row').toBeDefined();
    for (const id of BUILTIN_IDS) expect(row, id).toContain(`\`${id}\``);
  });

  it('a lookup finds each by id; an unknown id is one line naming the known ones', () => {
    for (const s of BUILTIN_STRATEGIES) expect(builtinStrategy(s.id)).toBe(s);
    expect(() => builtinStrategy('least-conn')).toThrow(/^no built-in strategy "least-conn" \(built-ins: hash, round-robin, random\)$/);
  });
});
