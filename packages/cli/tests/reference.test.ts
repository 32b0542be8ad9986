// The CLI reference (REFERENCE.md) is every command's --help: it must match the code, and the
// version the CLI prints is its package.json's.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { buildProgram, CLI_VERSION, cliReference, composeLoadBalancer, run, type Io } from '../src/index.js';

const quiet: Io = { out: () => {}, err: () => {} };

describe('CLI reference', () => {
  it('REFERENCE.md is the --help of every command (regenerate with -u)', async () => {
    await expect(cliReference(buildProgram(composeLoadBalancer, quiet))).toMatchFileSnapshot('../REFERENCE.md');
  });

  it('--version prints the package version', async () => {
    const out: string[] = [];
    const code = await run(buildProgram(composeLoadBalancer, { out: (s) => out.push(s), err: () => {} }), ['--version'], quiet);
    const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
    expect(code).toBe(0);
    expect(CLI_VERSION).toBe(pkg.version);
    expect(out.join('\n')).toBe(pkg.version);
  });
});
