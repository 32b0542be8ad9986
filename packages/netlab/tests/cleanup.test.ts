// Cleanup guarantees, tested from outside: a child process builds a lab, starts a process in it,
// then dies (uncaught error, unhandled rejection, process.exit, SIGTERM, SIGINT, a failing vitest
// test). Nothing of it may remain. After SIGKILL, which no hook survives, its processes still die
// (pdeathsig) and gcStale removes the rest.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { Lab, gcStale, listNetns } from '../src/index.js';
import { processAlive } from '../src/netns/procfs.js';
import { describeLab } from '../src/vitest.js';

const here = (p: string): string => fileURLToPath(new URL(p, import.meta.url));
const PREFIX = 'xlbct';
let dir = '';
let bundle = '';

interface Child {
  report: Promise<{ id: string; pid: number }>;
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  pid: number;
  output: () => string;
}

function startChild(mode: string, prefix = PREFIX): Child {
  const child = spawn(process.execPath, [here('./fixtures/lab-child.mjs'), mode], {
    env: { ...process.env, NETLAB_BUNDLE: bundle, NETLAB_PREFIX: prefix, XDP_LB_NETLAB_ROOT: here('..') },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) =>
    child.on('close', (code, signal) => r({ code, signal })),
  );
  const report = new Promise<{ id: string; pid: number }>((resolve, reject) => {
    child.stdout.on('data', () => {
      const line = out.split('\n').find((l) => l.startsWith('{"id"'));
      if (line) resolve(JSON.parse(line) as { id: string; pid: number });
    });
    void exit.then(() => reject(new Error(`child exited before reporting:\n${out}`)));
  });
  const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
  void exit.then(() => clearTimeout(timer));
  return { report, exit, pid: child.pid as number, output: () => out };
}

async function gone(id: string, pid: number): Promise<void> {
  const end = Date.now() + 5000;
  while (processAlive(pid) && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
  expect(processAlive(pid), `process ${pid} in the lab`).toBe(false);
  expect(listNetns().filter((n) => n.startsWith(id))).toEqual([]);
  expect(Lab.list().map((m) => m.id)).not.toContain(id);
}

describeLab('cleanup', () => {
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'netlab-cleanup-'));
    bundle = join(dir, 'netlab.mjs');
    await build({
      entryPoints: [here('../src/index.ts')],
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node20',
      outfile: bundle,
      logLevel: 'silent',
    });
  });
  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
    gcStale(PREFIX);
  });

  it.each([
    ['an uncaught exception', 'throw', { code: 1 }],
    ['an unhandled rejection', 'reject', { code: 1 }],
    ['process.exit()', 'exit', { code: 3 }],
  ])('happens on %s', async (_what, mode, exit) => {
    const c = startChild(mode);
    const { id, pid } = await c.report;
    expect(await c.exit, c.output()).toMatchObject(exit);
    await gone(id, pid);
  });

  it.each(['SIGTERM', 'SIGINT', 'SIGHUP'] as const)('happens on %s, and the process still dies of it', async (sig) => {
    const c = startChild('wait');
    const { id, pid } = await c.report;
    expect(listNetns().filter((n) => n.startsWith(id)).length).toBe(3);
    process.kill(c.pid, sig);
    expect(await c.exit).toMatchObject({ signal: sig });
    await gone(id, pid);
  });

  it('after SIGKILL: the lab processes die with their owner, gcStale removes the rest', async () => {
    const prefix = 'xlbgc'; // ours alone: no other run's garbage collection can take it first
    const c = startChild('wait', prefix);
    const { id, pid } = await c.report;
    process.kill(c.pid, 'SIGKILL');
    await c.exit;
    const end = Date.now() + 5000;
    while (processAlive(pid) && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
    expect(processAlive(pid), 'pdeathsig killed the lab process').toBe(false);
    expect(listNetns().filter((n) => n.startsWith(id)).length).toBe(3);
    const report = gcStale(prefix);
    expect(report.runs).toEqual([id]);
    expect(report.namespaces.sort()).toEqual(['a', 'b', 'sw'].map((h) => `${id}-${h}`));
    await gone(id, pid);
    expect(gcStale(prefix).runs).toEqual([]);
  });

  it('gcStale leaves live owners alone', async () => {
    const c = startChild('wait');
    const { id } = await c.report;
    try {
      expect(gcStale(PREFIX).runs).not.toContain(id);
      expect(listNetns().filter((n) => n.startsWith(id)).length).toBe(3);
    } finally {
      process.kill(c.pid, 'SIGTERM');
      await c.exit;
    }
  });

  it('happens when a vitest test fails while its lab is up', async () => {
    const out = join(dir, 'lab-id');
    const vitest = join(createRequire(import.meta.url).resolve('vitest/package.json'), '../vitest.mjs');
    const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('VITEST') && k !== 'NODE_OPTIONS'));
    const child = spawn(process.execPath, [vitest, 'run', '--config', here('./fixtures/failing-suite/vitest.config.ts')], {
      env: { ...env, NETLAB_FIXTURE_OUT: out, NETLAB_PREFIX: PREFIX },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let log = '';
    child.stdout.on('data', (d: Buffer) => (log += d.toString()));
    child.stderr.on('data', (d: Buffer) => (log += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 50_000);
    const code = await new Promise<number | null>((r) => child.on('close', r));
    clearTimeout(timer);
    expect(code, log).toBe(1);
    expect(log).toContain('torn down anyway');
    expect(existsSync(out), log).toBe(true);
    const id = readFileSync(out, 'utf8');
    expect(id).toMatch(new RegExp(`^${PREFIX}\\d+-[0-9a-f]{4}$`));
    expect(listNetns().filter((n) => n.startsWith(id))).toEqual([]);
  }, 60_000);
});
