// Naming. Every namespace a run creates is called `<prefix><pid>-<4 hex>-<label>`: the pid says who
// owns it (so a later run can tell a dead owner's leftovers from a live neighbour's lab), the random
// part keeps two runs of one process apart. Interfaces live only inside our namespaces, so their
// names never meet anyone else's; they only have to fit IFNAMSIZ (15 characters).
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync } from 'node:fs';

export const NETNS_DIR = '/run/netns';
export const DEFAULT_PREFIX = 'xlb';
export const IFNAMSIZ = 15;

/** Throws unless `prefix` is lower-case letters/digits ending in a letter (so `<prefix><pid>` parses back). */
export function checkPrefix(prefix: string): void {
  if (!/^[a-z](?:[a-z0-9]{0,6}[a-z])?$/.test(prefix)) {
    throw new TypeError(`netns prefix ${JSON.stringify(prefix)} must be 1-8 lower-case letters/digits, starting and ending with a letter`);
  }
}

/** A fresh run id `<prefix><pid>-<4 hex>` that no existing namespace uses. */
export function newRunId(prefix = DEFAULT_PREFIX): string {
  checkPrefix(prefix);
  const taken = new Set(listNetns());
  for (let i = 0; i < 64; i++) {
    const id = `${prefix}${process.pid}-${randomBytes(2).toString('hex')}`;
    if (![...taken].some((n) => n === id || n.startsWith(`${id}-`))) return id;
  }
  throw new Error(`could not find a free run id for prefix ${prefix}`);
}

/** Splits a namespace name made by `newRunId` into its parts, or undefined for anyone else's names. */
export function parseNetnsName(name: string, prefix = DEFAULT_PREFIX): { runId: string; pid: number; label: string } | undefined {
  const m = new RegExp(`^(${prefix}(\\d+)-[0-9a-f]{4})(?:-(.+))?$`).exec(name);
  if (!m) return undefined;
  return { runId: m[1] as string, pid: Number(m[2]), label: m[3] ?? '' };
}

/** Names in /run/netns (what `ip netns list` shows). */
export function listNetns(): string[] {
  try {
    return readdirSync(NETNS_DIR);
  } catch {
    return [];
  }
}

export function netnsExists(name: string): boolean {
  return existsSync(`${NETNS_DIR}/${name}`);
}

/** Throws unless `name` is usable as a lab host name (it ends up in namespace and interface names). */
export function checkHostName(name: string): void {
  if (!/^[a-z][a-z0-9]{0,31}$/.test(name) || name === 'sw') {
    throw new TypeError(`host name ${JSON.stringify(name)} must be lower-case letters and digits, start with a letter, and not be "sw"`);
  }
}

/** Throws unless `name` is a valid Linux interface name. */
export function checkIfName(name: string): void {
  if (!/^[A-Za-z0-9_.-]{1,15}$/.test(name) || name === '.' || name === '..') {
    throw new TypeError(`interface name ${JSON.stringify(name)} is not valid (1-15 of [A-Za-z0-9_.-])`);
  }
}

/**
 * The switch-side veth name for a host interface: `client1-eth0` when it fits 15 characters,
 * else `h<index>-<ifname>`; readable in `ip -n <switch> link`.
 */
export function peerIfName(host: string, hostIndex: number, ifname: string): string {
  const readable = `${host}-${ifname}`;
  if (readable.length <= IFNAMSIZ) return readable;
  return `h${hostIndex}-${ifname}`.slice(0, IFNAMSIZ);
}
