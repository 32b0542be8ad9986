import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { BpfObject } from '@xdp-lb/native';
import { createLoadBalancer } from '../src/index.js';

const fragment = new URL('../../../deploy/examples/strategies/subnet-affinity/bpf/subnet-affinity.bpf.c', import.meta.url).pathname;
const root = process.getuid?.() === 0;

describe.skipIf(!root)('third-party strategy fragment', () => {
  const cache = mkdtempSync(join(tmpdir(), 'xlb-cache-'));
  process.env.XDP_LB_CACHE_DIR = cache;
  afterAll(() => rmSync(cache, { recursive: true, force: true }));

  it('is compiled once, cached by content, validated like a built-in, and loads in the kernel', async () => {
    const lb = createLoadBalancer([]);
    const input = {
      strategy: fragment,
      interfaces: ['lo'],
      services: [{ vip: '198.18.0.10:80', forward: 'dsr', backends: ['198.18.0.11@2', '198.18.0.12'] }],
    };
    const cfg = await lb.checkConfig(input);
    expect(cfg.strategy).toBe(fragment);
    const s = lb.strategies.get(fragment);
    const mtime = statSync(s.objectPath).mtimeMs;
    expect(s.objectPath.startsWith(join(cache, 'strategies'))).toBe(true);
    // A second process (a fresh registry) finds the cached object instead of compiling again.
    const again = createLoadBalancer([]);
    await again.checkConfig(input);
    expect(again.strategies.get(fragment).objectPath).toBe(s.objectPath);
    expect(statSync(s.objectPath).mtimeMs).toBe(mtime);
    // Generic weighted slot table: weight 2 gives two slots.
    expect(
      Array.from(
        s.buildTable(
          [
            { id: 7, key: '198.18.0.11:80', weight: 2 },
            { id: 9, key: '198.18.0.12:80', weight: 1 },
          ],
          cfg.services[0]!.options,
        ),
      ),
    ).toEqual([7, 7, 9]);
    const obj = BpfObject.open(s.objectPath);
    try {
      await obj.load();
      expect(obj.program('xdp_lb').name).toBe('xdp_lb');
    } finally {
      obj.dispose();
    }
  });

  it('reports a compile error in one line, before anything is loaded', async () => {
    const bad = join(cache, 'broken.bpf.c');
    (await import('node:fs')).writeFileSync(bad, 'this is not C;\n');
    await expect(
      createLoadBalancer([]).checkConfig({
        strategy: bad,
        interfaces: ['lo'],
        services: [{ vip: '198.18.0.10:80', forward: 'dsr', backends: ['198.18.0.11'] }],
      }),
    ).rejects.toThrow(/^compile .*broken\.bpf\.c: .*error/);
  });
});
