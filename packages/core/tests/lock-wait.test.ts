// The one line a waiting writer prints names the holder. A holder writes its name into the lock
// file just after flock() succeeds; a waiter that reads the file in that window found it empty and
// said "another process holds it" (seen once in cli's concurrency.e2e). Each case below opens that
// window on purpose: the file is emptied under a held lock and its name written back later.
import { mkdtempSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { instancePaths } from '@xdp-lb/core';
import { lockInstance, lockInstanceSync } from '../src/state/lock.js';

const dir = mkdtempSync(join(tmpdir(), 'xlb-lock-'));
process.env.XDP_LB_STATE_DIR = dir;
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Holds `instance`'s lock with its file emptied; writes the holder's name back after `ms` (never: -1). */
function holdNameless(instance: string, ms: number) {
  const held = lockInstanceSync(instance);
  const file = join(instancePaths(instance).stateDir, 'lock');
  const name = readFileSync(file, 'utf8');
  truncateSync(file, 0);
  const t = ms >= 0 ? setTimeout(() => writeFileSync(file, name), ms) : undefined;
  return {
    release() {
      clearTimeout(t);
      held.release();
    },
  };
}

describe('a writer waiting for the lock', () => {
  it('names the holder whose name arrives just after it started waiting', async () => {
    const h = holdNameless('named', 8);
    const said: string[] = [];
    await expect(lockInstance('named', { timeoutMs: 300, onWait: (m) => said.push(m) })).rejects.toThrow(
      /locked by another command: pid \d+/,
    );
    h.release();
    expect(said).toHaveLength(1);
    expect(said[0]).toMatch(new RegExp(`^instance named is locked: pid ${process.pid} \\(.*\\) holds it since \\S+; waiting up to 0.3 s$`));
  });

  it('says "another process" once when no name ever comes', async () => {
    const h = holdNameless('nameless', -1);
    const said: string[] = [];
    await expect(lockInstance('nameless', { timeoutMs: 300, onWait: (m) => said.push(m) })).rejects.toThrow(/locked/);
    h.release();
    expect(said).toEqual(['instance nameless is locked: another process holds it; waiting up to 0.3 s']);
  });

  it('the synchronous path alike', () => {
    const h = holdNameless('sync', -1);
    const said: string[] = [];
    expect(() => lockInstanceSync('sync', { timeoutMs: 200, onWait: (m) => said.push(m) })).toThrow(/locked/);
    h.release();
    expect(said).toEqual(['instance sync is locked: another process holds it; waiting up to 0.2 s']);
  });
});
