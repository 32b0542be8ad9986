/**
 * A network namespace of our own with a veth pair inside (xa <-> xb, both up), uniquely named per
 * run (xlbn-<pid>-<random>) and deleted again, also when a test fails. Traffic in the tests stays
 * inside it.
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';

export interface VethNetns {
  name: string;
  /** /run/netns/NAME, for inNetns(). */
  path: string;
  remove(): void;
}

function ip(args: string[]): void {
  const r = spawnSync('ip', args, { encoding: 'utf8', timeout: 10_000 });
  if (r.status !== 0) throw new Error(`ip ${args.join(' ')}: ${(r.stderr || r.error?.message || '').trim()}`);
}

export function createVethNetns(): VethNetns {
  const name = `xlbn-${process.pid}-${randomBytes(3).toString('hex')}`;
  ip(['netns', 'add', name]);
  const remove = () => {
    spawnSync('ip', ['netns', 'delete', name], { timeout: 10_000 });
  };
  try {
    ip(['-n', name, 'link', 'add', 'xa', 'type', 'veth', 'peer', 'name', 'xb']);
    ip(['-n', name, 'link', 'set', 'xa', 'up']);
    ip(['-n', name, 'link', 'set', 'xb', 'up']);
  } catch (e) {
    remove();
    throw e;
  }
  return { name, path: `/run/netns/${name}`, remove };
}
