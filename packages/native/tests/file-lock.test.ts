// flock(fd, op): taken by one open file description at a time, never blocking, and released by the
// kernel when its holder's descriptor closes, also when the holder process is killed (SIGKILL):
// what makes core's instance lock safe to wait on.
import { spawn } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { flock } from '@xdp-lb/native';

const dir = mkdtempSync(join(tmpdir(), 'xlb-flock-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const ADDON = fileURLToPath(new URL('../build/Release/xdp_lb_native.node', import.meta.url));

describe('flock', () => {
  it('one exclusive holder; a second description gets false at once; unlock and close free it', () => {
    const file = join(dir, 'a');
    const a = openSync(file, 'w');
    const b = openSync(file, 'r');
    try {
      expect(flock(a, 'exclusive')).toBe(true);
      expect(flock(b, 'exclusive')).toBe(false);
      expect(flock(b, 'shared')).toBe(false);
      expect(flock(a, 'unlock')).toBe(true);
      expect(flock(b, 'exclusive')).toBe(true);
    } finally {
      closeSync(b);
    }
    expect(flock(a, 'exclusive')).toBe(true);
    closeSync(a);
  });

  it('a killed holder leaves no lock behind', async () => {
    const file = join(dir, 'b');
    const child = spawn(
      process.execPath,
      [
        '-e',
        `const n = require(${JSON.stringify(ADDON)}); const fd = require('fs').openSync(${JSON.stringify(file)}, 'w'); n.flock(fd, 'exclusive'); console.log('held'); setInterval(() => {}, 1000);`,
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    await new Promise<void>((res) => child.stdout!.once('data', () => res()));
    const fd = openSync(file, 'r');
    try {
      expect(flock(fd, 'exclusive')).toBe(false);
      child.kill('SIGKILL');
      await new Promise((res) => child.once('exit', res));
      expect(flock(fd, 'exclusive')).toBe(true);
    } finally {
      closeSync(fd);
    }
  });

  it('refuses a bad operation and a closed descriptor like Node system errors', () => {
    const fd = openSync(join(dir, 'c'), 'w');
    expect(() => flock(fd, 'both' as 'exclusive')).toThrow(TypeError);
    closeSync(fd);
    expect(() => flock(fd, 'exclusive')).toThrow(expect.objectContaining({ code: 'EBADF', syscall: 'flock' }));
  });
});
