import { FORWARD_MODES, FORWARD_MODE_TEXT, splitProtocol, type ConfigInput, type ForwardMode } from '@xdp-lb/core';
import { BUILTIN_STRATEGIES } from './compose.js';

/** The built-in strategy ids for help texts: the registry's (compose.ts), never a copied list. */
export const STRATEGY_IDS = BUILTIN_STRATEGIES.map((s) => s.id).join(', ');

/** --forward's help: every mode core knows, with its one line. */
export const FORWARD_HELP = FORWARD_MODES.map((m) => `${m}: ${FORWARD_MODE_TEXT[m]}`).join('; ');

export interface DeployFlags {
  instance?: string;
  strategy?: string;
  mode?: string;
  iface?: string[];
  vip?: string;
  backend?: string[];
  forward?: string;
  snat?: string[];
  snatPorts?: string;
  opt?: string[];
  hashSeed?: string;
  conntrackSize?: string;
  chainSlot?: string;
  chainNext?: string;
  chainName?: string;
}

/**
 * The flags of the common one-service deploy, as a config input: the same validation then applies
 * to flags and files. `--iface NAME:MODE` overrides `--mode` for one interface.
 */
export function configFromFlags(f: DeployFlags, defaultSnat: (iface: string) => string | undefined): ConfigInput {
  const missing = [!f.iface?.length && '--iface', !f.vip && '--vip', !f.backend?.length && '--backend'].filter(Boolean);
  if (missing.length) throw new UsageError(`deploy needs ${missing.join(', ')} (or -f FILE)`);
  const { vip, protocol: proto } = splitProtocol(f.vip!);
  const forward = f.forward ?? 'nat';
  const interfaces = f.iface!.map((i) => (i.includes(':') ? i : f.mode ? `${i}:${f.mode}` : i));
  const snatAddrs = f.snat?.length
    ? f.snat
    : forward === 'nat'
      ? [defaultSnat(f.iface![0]!.split(':')[0]!)].filter((x): x is string => !!x)
      : [];
  return {
    ...(f.instance ? { instance: f.instance } : {}),
    ...(f.strategy ? { strategy: f.strategy } : {}),
    ...(f.hashSeed !== undefined ? { hashSeed: Number(f.hashSeed) } : {}),
    ...(f.conntrackSize !== undefined ? { limits: { conntrackSize: Number(f.conntrackSize) } } : {}),
    interfaces,
    ...(f.chainSlot !== undefined
      ? {
          chain: {
            slot: Number(f.chainSlot),
            ...(f.chainNext !== undefined ? { next: Number(f.chainNext) } : {}),
            ...(f.chainName ? { name: f.chainName } : {}),
          },
        }
      : {}),
    ...(snatAddrs.length ? { snat: { addresses: snatAddrs, ...(f.snatPorts ? { ports: f.snatPorts } : {}) } } : {}),
    services: [
      {
        vip,
        ...(proto ? { protocol: proto as 'tcp' | 'udp' } : {}),
        forward: forward as ForwardMode,
        options: parseOptions(f.opt ?? []),
        backends: f.backend!,
      },
    ],
  };
}

/** The option each DeployFlags key comes from (for messages). */
const FLAG_NAMES: Record<keyof DeployFlags, string> = {
  instance: '--instance',
  strategy: '--strategy',
  mode: '--mode',
  iface: '--iface',
  vip: '--vip',
  backend: '--backend',
  forward: '--forward',
  snat: '--snat',
  snatPorts: '--snat-ports',
  opt: '--opt',
  hashSeed: '--hash-seed',
  conntrackSize: '--conntrack-size',
  chainSlot: '--chain-slot',
  chainNext: '--chain-next',
  chainName: '--chain-name',
};

/**
 * `-f FILE` says everything the one-service flags would: a flag next to it used to be dropped
 * without a word (the file won). Now it is a usage error naming the flags.
 */
export function refuseFlagsWithFile(f: DeployFlags): void {
  const given = (Object.keys(FLAG_NAMES) as (keyof DeployFlags)[]).filter((k) => f[k] !== undefined).map((k) => FLAG_NAMES[k]);
  if (given.length)
    throw new UsageError(
      `${given.join(', ')} cannot be used with -f: the file says ${given.length > 1 ? 'them' : 'it'} (edit the file, or deploy from flags without -f)`,
    );
}

/** `--opt tableSize=65537 --opt hashFields=source`: numbers and booleans are typed. */
export function parseOptions(pairs: readonly string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const p of pairs) {
    const eq = p.indexOf('=');
    if (eq < 1) throw new UsageError(`--opt "${p}" must be KEY=VALUE`);
    const v = p.slice(eq + 1);
    out[p.slice(0, eq)] = /^-?\d+(\.\d+)?$/.test(v) ? Number(v) : v === 'true' ? true : v === 'false' ? false : v;
  }
  return out;
}

/** A usage error: the CLI shows help and exits 2. */
export class UsageError extends Error {
  override name = 'UsageError';
}
