import type { Command } from 'commander';

/** Help is laid out at this width in the reference, whatever the terminal, so the file is stable. */
const WIDTH = 100;

function helpOf(c: Command): string {
  let text = '';
  c.configureHelp({ helpWidth: WIDTH });
  const saved = c.configureOutput();
  c.configureOutput({ ...saved, writeOut: (s) => (text += s), writeErr: () => {}, getOutHelpWidth: () => WIDTH });
  c.outputHelp();
  c.configureOutput(saved);
  return text.trimEnd();
}

function walk(c: Command, path: string[], out: string[]): void {
  const name = [...path, c.name()].join(' ');
  out.push(`## ${name}`, '', '```text', helpOf(c), '```', '');
  for (const sub of c.commands) walk(sub, [...path, c.name()], out);
}

/**
 * The CLI reference (packages/cli/REFERENCE.md): every command's `--help`, generated from the
 * command tree itself so it cannot drift; tests/reference.test.ts compares it with the file.
 */
export function cliReference(program: Command): string {
  const out = [
    '# lb command reference',
    '',
    'Generated from the commands themselves (`--help` of each, 100 columns); do not edit by hand.',
    'Regenerate with `npx vitest run tests/reference.test.ts -u` in packages/cli.',
    '',
  ];
  walk(program, [], out);
  return out.join('\n');
}
