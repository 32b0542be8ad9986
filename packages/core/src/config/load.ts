import { readFileSync } from 'node:fs';
import { parse as parseYaml, stringify as stringifyYaml, YAMLParseError } from 'yaml';
import { clusterInput } from './cluster.js';
import { formatVip } from './prefix.js';
import { defaultServiceName, type ResolveContext, resolveConfig } from './resolve.js';
import { ConfigError } from './errors.js';
import type { ConfigInput, HealthCheckInput } from './schema.js';
import type { HealthCheckConfig, LbConfig } from './types.js';

/** Reads and resolves a YAML (or JSON) config file; throws ConfigError naming the file. */
export function loadConfigFile(file: string, ctx: ResolveContext = {}): LbConfig {
  return resolveConfig(readConfigFile(file), { ...ctx, source: file });
}

/** The parsed but unvalidated content of a config file; ConfigError if unreadable or not YAML. */
export function readConfigFile(file: string): unknown {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new ConfigError([{ path: '', message: `cannot read ${file}: ${(e as Error).message}` }], file);
  }
  return parseYamlText(text, file);
}

export function parseConfigText(text: string, ctx: ResolveContext = {}): LbConfig {
  return resolveConfig(parseYamlText(text, ctx.source ?? 'config'), ctx);
}

function parseYamlText(text: string, source: string): unknown {
  try {
    return parseYaml(text, { prettyErrors: true, uniqueKeys: true }) ?? {};
  } catch (e) {
    const msg = e instanceof YAMLParseError ? e.message.split('\n')[0]! : (e as Error).message;
    throw new ConfigError([{ path: '', message: `not valid YAML: ${msg}` }], source);
  }
}

/**
 * The config as input the tool accepts again (`lb config dump`): resolving the output of this
 * function gives back an equal LbConfig.
 */
export function toInput(cfg: LbConfig): ConfigInput {
  return {
    instance: cfg.instance,
    strategy: cfg.strategy,
    hashSeed: cfg.hashSeed,
    interfaces: cfg.interfaces.map((i) => ({ name: i.name, mode: i.mode })),
    limits: { ...cfg.limits },
    ...(cfg.snat ? { snat: { addresses: cfg.snat.addresses.map((a) => a.text), ports: `${cfg.snat.portMin}-${cfg.snat.portMax}` } } : {}),
    ...(cfg.chain
      ? { chain: { name: cfg.chain.name, slot: cfg.chain.slot, ...(cfg.chain.next !== undefined ? { next: cfg.chain.next } : {}) } }
      : {}),
    services: cfg.services.map((s) => ({
      // A default name is derived again on load; only a chosen one is written out.
      ...(s.name === defaultServiceName(s) ? {} : { name: s.name }),
      vip: formatVip(s.vip, s.prefix, s.port),
      protocol: s.protocol,
      forward: s.forward,
      strategy: s.strategy,
      options: { ...s.options },
      backends: s.backends.map((b) => ({
        address: b.key,
        weight: b.weight,
        state: b.state,
        ...(b.quicServerId !== undefined ? { quicServerId: b.quicServerId } : {}),
      })),
      ...(s.health ? { health: healthInput(s.health) } : {}),
      ...(s.quic ? { quic: true } : {}),
    })),
    ...(cfg.announce ? { announce: structuredClone(cfg.announce) } : {}),
    ...(cfg.cluster ? { cluster: clusterInput(cfg.cluster) } : {}),
  };
}

/** A resolved health check as input: http-only fields only on http checks. */
function healthInput(h: HealthCheckConfig): HealthCheckInput {
  const { path, expectStatus, ...common } = h;
  return h.type === 'http' ? { ...common, path, expectStatus } : { ...common };
}

export function dumpConfigYaml(cfg: LbConfig): string {
  return stringifyYaml(toInput(cfg));
}
