// The `lb` binary whose reader goes away (issue 15 #7): `lb --help | head -1` crashed with an
// unhandled EPIPE and a stack trace. Real pipes whose read end is closed before the child writes
// (node starts in ~100 ms, the read end is closed at once), and a shell pipeline.
import { spawn, spawnSync } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { EXIT_BROKEN_PIPE, guardBrokenPipe } from '../src/broken-pipe.js';
import { CLI_MAIN } from './helpers/e2e.js';

/** Runs the built `lb` with its stdout or stderr a pipe whose read end this process closes at once. */
function runWithClosedPipe(
  which: 'stdout' | 'stderr',
  ...argv: string[]
): Promise<{ code: number | null; signal: string | null; other: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI_MAIN, ...argv], { stdio: ['ignore', 'pipe', 'pipe'] });
    const closed = which === 'stdout' ? child.stdout : child.stderr;
    const other = which === 'stdout' ? child.stderr : child.stdout;
    closed.destroy();
    let text = '';
    other.on('data', (d: Buffer) => (text += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, other: text });
    });
  });
}

const built = existsSync(CLI_MAIN);
if (!built) console.warn(`[cli broken-pipe] skipped: ${CLI_MAIN} not built (npx nx run cli:build)`);

describe.skipIf(!built)('lb with a closed output pipe', () => {
  it('lb --help, stdout closed: no crash, exit 141 (128 + SIGPIPE), nothing on stderr', async () => {
    const r = await runWithClosedPipe('stdout', '--help');
    expect(r.other, 'stderr').toBe('');
    expect(r.signal).toBeNull();
    expect(r.code).toBe(EXIT_BROKEN_PIPE);
  });

  it('a usage error, stderr closed: no crash, the usage exit status 2', async () => {
    const r = await runWithClosedPipe('stderr', 'deplyo');
    expect(r.other, 'stdout').toBe('');
    expect(r.code).toBe(2);
  });

  it('lb --help | head -1 in a shell with pipefail: the first line, lb exits 141, no stack trace', () => {
    const r = spawnSync(
      'bash',
      [
        '-c',
        `set -o pipefail; "${process.execPath}" "${CLI_MAIN}" --help | head -c 0; echo "status \${PIPESTATUS[0]}"; "${process.execPath}" "${CLI_MAIN}" --help | head -1`,
      ],
      { encoding: 'utf8', timeout: 20_000 },
    );
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe(`status ${EXIT_BROKEN_PIPE}\nUsage: lb [options] [command]\n`);
  });
});

describe('guardBrokenPipe', () => {
  const stream = () => new EventEmitter() as unknown as NodeJS.WriteStream;
  const epipe = Object.assign(new Error('write EPIPE'), { code: 'EPIPE' });

  it('stops once, on the first EPIPE, and turns success into 141; failures keep their status', () => {
    const out = stream();
    const err = stream();
    let stops = 0;
    const pipe = guardBrokenPipe([out, err], () => stops++);
    expect(pipe.exitCode(0)).toBe(0);
    out.emit('error', epipe);
    err.emit('error', epipe);
    out.emit('error', Object.assign(new Error('write after end'), { code: 'ERR_STREAM_DESTROYED' }));
    expect(stops).toBe(1);
    expect(pipe.broken).toBe(true);
    expect(pipe.exitCode(0)).toBe(141);
    expect(pipe.exitCode(2)).toBe(2);
  });

  it('leaves other errors alone (they still throw)', () => {
    const out = stream();
    guardBrokenPipe([out], () => {});
    expect(() => out.emit('error', Object.assign(new Error('EIO'), { code: 'EIO' }))).toThrow('EIO');
  });
});
