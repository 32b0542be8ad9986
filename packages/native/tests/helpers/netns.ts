/**
 * A network namespace of our own with a veth pair inside (a <-> b, both up), uniquely named per
 * run (xlbn-<pid>-<random>, veths xa-<random> and xb-<random>) and deleted again, also when a test
 * fails. Traffic in the tests stays inside it.
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';

export interface VethNetns {
  name: string;
  /** /run/netns/NAME, for inNetns(). */
  path: string;
  /** The veth pair inside, both up. */
  a: string;
  b: string;
  remove(): void;
}

function ip(args: string[]): void {
  const r = spawnSync('ip', args, { encoding: 'utf8', timeout: 10_000 });
  if (r.status !== 0) throw new Error(`ip ${args.join(' ')}: ${(r.stderr || r.error?.message || '').trim()}`);
}

export function createVethNetns(): VethNetns {
  const tag = randomBytes(3).toString('hex');
  const name = `xlbn-${process.pid}-${tag}`;
  const a = `xa-${tag}`;
  const b = `xb-${tag}`;
  ip(['netns', 'add', name]);
  const remove = () => {
    spawnSync('ip', ['netns', 'delete', name], { timeout: 10_000 });
  };
  try {
    ip(['-n', name, 'link', 'add', a, 'type', 'veth', 'peer', 'name', b]);
    ip(['-n', name, 'link', 'set', a, 'up']);
    ip(['-n', name, 'link', 'set', b, 'up']);
  } catch (e) {
    remove();
    throw e;
  }
  return { name, path: `/run/netns/${name}`, a, b, remove };
}
