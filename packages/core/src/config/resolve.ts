import type { z } from 'zod';
import { ANY_PORT, formatEndpoint, notUnicast, parseEndpoint, parseIp } from './address.js';
import { formatVip, parseVip, serviceText } from './prefix.js';
import { checkQuic } from './quic.js';
import { resolveCluster } from './cluster.js';
import { LB_DEFAULTS, XDP_MODES, type XdpMode } from './defaults.js';
import { type ConfigIssue, ConfigError, pathOf } from './errors.js';
import { ConfigInputSchema, type ConfigShape } from './schema.js';
import type { BackendConfig, HealthCheckConfig, InterfaceConfig, LbConfig, ServiceConfig, SnatConfig } from './types.js';

/** What resolution may ask of the outside world; each is optional so config stays testable. */
export interface ResolveContext {
  /** The options schema of a strategy id, or undefined when no such strategy exists. */
  strategyOptions?: (id: string) => z.ZodType | undefined;
  /** Known strategy ids, for the "unknown strategy" message. */
  strategyIds?: () => readonly string[];
  /** Why a strategy that is known by reference cannot be used (a fragment file that is gone), if so. */
  strategyProblem?: (id: string) => string | undefined;
  /** Whether a network interface exists (in the namespace the LB runs in). */
  interfaceExists?: (name: string) => boolean;
  /** Where the text came from, for messages ("lb.yaml", "flags"). */
  source?: string;
}

/**
 * Layers 2 and 3: resolve text into addresses, ports and modes, and check what spans fields.
 * Collects every problem before throwing one ConfigError; never touches the kernel.
 */
export function resolveConfig(input: unknown, ctx: ResolveContext = {}): LbConfig {
  const source = ctx.source ?? 'config';
  const shaped = ConfigInputSchema.safeParse(input);
  if (!shaped.success) {
    throw new ConfigError(
      shaped.error.issues.map((i) => ({ path: pathOf(i.path), message: shapeMessage(i) })),
      source,
    );
  }
  const issues: ConfigIssue[] = [];
  const report = (path: string, message: string) => issues.push({ path, message });
  const cfg = shaped.data;

  const interfaces = resolveInterfaces(cfg, report, ctx);
  // A NAT source defaulted from an interface (the CLI's flags) cannot exist when the interface does
  // not: the missing interface is then the one problem to report, not a second one about SNAT.
  const interfaceMissing = issues.some((i) => i.path.startsWith('interfaces'));
  const snat = resolveSnat(cfg, report);
  const optionsOf = strategyOptionsOf(report, ctx);
  // The instance's strategy is the default of its services: unknown, it is reported once, here.
  optionsOf(cfg.strategy, 'strategy');
  const services = cfg.services
    .map((svc, i) =>
      resolveService(
        svc,
        `services.${i}`,
        report,
        optionsOf(svc.strategy ?? cfg.strategy, svc.strategy ? `services.${i}.strategy` : 'strategy'),
        svc.strategy ?? cfg.strategy,
        snat,
        interfaceMissing,
      ),
    )
    .filter((s): s is ServiceConfig => s !== undefined);
  checkServiceUniqueness(services, report);

  const cluster = cfg.cluster ? resolveCluster(cfg.cluster, report) : undefined;
  if (cfg.chain && cfg.chain.next === cfg.chain.slot)
    report('chain.next', `the next slot must differ from xdp-lb's own slot ${cfg.chain.slot}`);
  if (issues.length > 0) throw new ConfigError(issues, source);
  const chain = cfg.chain ? { name: cfg.chain.name, slot: cfg.chain.slot, next: cfg.chain.next } : undefined;
  return {
    instance: cfg.instance,
    strategy: cfg.strategy,
    hashSeed: cfg.hashSeed,
    interfaces,
    limits: cfg.limits,
    snat,
    chain,
    services,
    ...(cfg.announce ? { announce: cfg.announce } : {}),
    ...(cluster ? { cluster } : {}),
  };
}

type Report = (path: string, message: string) => void;

function resolveInterfaces(cfg: ConfigShape, report: Report, ctx: ResolveContext): InterfaceConfig[] {
  const seen = new Set<string>();
  return cfg.interfaces.map((entry, i) => {
    const iface = typeof entry === 'string' ? parseInterfaceText(entry, `interfaces.${i}`, report) : entry;
    if (seen.has(iface.name)) report(`interfaces.${i}`, `interface "${iface.name}" is listed twice`);
    seen.add(iface.name);
    if (ctx.interfaceExists && !ctx.interfaceExists(iface.name)) report(`interfaces.${i}`, `no interface named "${iface.name}"`);
    if (iface.mode === 'offload') report(`interfaces.${i}`, OFFLOAD_UNSUPPORTED);
    return iface;
  });
}

/**
 * Offload (hw) mode is named by the kernel's API, so it is a word the config knows, but xdp-lb
 * cannot run there: an offloaded program must be loaded for one device, and the NICs that take
 * XDP offload (Netronome nfp) run neither LRU hashes, map-in-map, bpf_fib_lookup nor tail calls,
 * which every xdp-lb program uses. Refused before anything is loaded.
 */
export const OFFLOAD_UNSUPPORTED =
  'offload (hw) mode is not supported: no offload-capable NIC runs the maps and helpers xdp-lb needs (LRU hash, map-in-map, FIB lookups); use native';

/** "eth0" or "eth0:generic" (the CLI's NAME:MODE form). */
export function parseInterfaceText(text: string, path: string, report: Report): InterfaceConfig {
  const [name, mode] = text.split(':') as [string, string | undefined];
  if (mode !== undefined && !(XDP_MODES as readonly string[]).includes(mode)) {
    report(path, `unknown XDP mode "${mode}" in "${text}" (one of ${XDP_MODES.join(', ')})`);
  }
  if (!/^[A-Za-z0-9_.@-]{1,15}$/.test(name)) report(path, `"${name}" is not a valid interface name`);
  return { name, mode: (mode as XdpMode | undefined) ?? LB_DEFAULTS.mode };
}

function resolveSnat(cfg: ConfigShape, report: Report): SnatConfig | undefined {
  if (!cfg.snat) return undefined;
  const addresses = cfg.snat.addresses.flatMap((text, i) => {
    const ip = parseIp(text);
    if (!ip) report(`snat.addresses.${i}`, `"${text}" is not an IP address`);
    const bad = ip && notUnicast(ip);
    if (bad) report(`snat.addresses.${i}`, `${bad}: a SNAT address must be a unicast address of the LB`);
    return ip ? [ip] : [];
  });
  const [portMin, portMax] = cfg.snat.ports.split('-').map(Number) as [number, number];
  if (portMin < 1024 || portMax > 65535 || portMin > portMax) {
    report('snat.ports', `port range "${cfg.snat.ports}" must lie within 1024-65535 with MIN <= MAX`);
  }
  return { addresses, portMin, portMax };
}

/** The options schema of a strategy (the instance's or a service's), each unknown id reported once, at `path`. */
function strategyOptionsOf(report: Report, ctx: ResolveContext): (id: string, path: string) => z.ZodType | undefined {
  const reported = new Set<string>();
  return (id, path) => {
    if (!ctx.strategyOptions) return undefined;
    // The first thing wrong with a strategy, not its options' mismatches (which follow from it).
    const problem = ctx.strategyProblem?.(id);
    if (problem) {
      if (!reported.has(id)) report(path, problem);
      reported.add(id);
      return undefined;
    }
    const schema = ctx.strategyOptions(id);
    if (!schema && !reported.has(id)) {
      reported.add(id);
      const known = ctx.strategyIds?.() ?? [];
      report(
        path,
        `unknown strategy "${id}"${known.length ? ` (one of ${known.join(', ')}, the path of a .bpf.c fragment, or a strategy package)` : ''}`,
      );
    }
    return schema;
  };
}

function resolveService(
  svc: ConfigShape['services'][number],
  path: string,
  report: Report,
  optionsSchema: z.ZodType | undefined,
  strategy: string,
  snat: SnatConfig | undefined,
  interfaceMissing: boolean,
): ServiceConfig | undefined {
  let vip;
  try {
    vip = parseVip(svc.vip);
  } catch (e) {
    report(`${path}.vip`, (e as Error).message);
    return undefined;
  }
  if (vip.port === undefined) {
    report(
      `${path}.vip`,
      vip.address.family === 6
        ? ipv6PortHint(svc.vip)
        : `"${svc.vip}" needs a port (e.g. ${formatVip(vip.address, vip.prefix, 80)}, or ${formatVip(vip.address, vip.prefix, ANY_PORT)} for every port)`,
    );
    return undefined;
  }
  const port = vip.port;
  const anyPort = port === ANY_PORT;
  const badVip = notUnicast(vip.address);
  if (badVip) report(`${path}.vip`, `${badVip}: a VIP must be a unicast address`);
  let options: Record<string, unknown> = svc.options;
  if (optionsSchema) {
    const parsed = optionsSchema.safeParse(svc.options);
    if (parsed.success) options = parsed.data as Record<string, unknown>;
    else for (const i of parsed.error.issues) report(pathOf([...path.split('.'), 'options', ...i.path]), i.message);
  }
  if (svc.forward === 'nat') {
    if (!snat) {
      if (!interfaceMissing) report(`${path}.forward`, 'forward "nat" needs a "snat" section with at least one SNAT address');
    } else if (!snat.addresses.some((a) => a.family === vip.address.family)) {
      report(`${path}.forward`, `forward "nat" needs an IPv${vip.address.family} SNAT address for VIP ${vip.address.text}`);
    }
  }
  const backends: BackendConfig[] = [];
  const keys = new Set<string>();
  svc.backends.forEach((entry, j) => {
    const bpath = `${path}.backends.${j}`;
    const b = resolveBackend(entry, port, bpath, report);
    if (!b) return;
    // An any-port service's flows keep their destination port (nat included): a backend port
    // would be ambiguous. A backend "*" belongs to such a service only.
    if (anyPort && b.port !== ANY_PORT) {
      report(
        bpath,
        `service ${formatVip(vip.address, vip.prefix, ANY_PORT)} serves every port and its flows keep theirs: write backend ${b.address.text} without a port`,
      );
      return;
    }
    if (!anyPort && b.port === ANY_PORT) {
      report(
        bpath,
        `backend port "*" is for services on every port (vip ${formatVip(vip.address, vip.prefix, ANY_PORT)}); give ${b.address.text} a port or none`,
      );
      return;
    }
    const badBackend = notUnicast(b.address);
    if (badBackend) report(bpath, `${badBackend}: a backend must be a unicast address`);
    // A tunnel carries either family inside an outer header of the backend's (4in6, 6in4: the
    // data plane's encapsulation takes the inner packet as it is); nat and dsr rewrite in place.
    if (b.address.family !== vip.address.family && (svc.forward === 'nat' || svc.forward === 'dsr')) {
      report(
        bpath,
        `backend ${b.key} is IPv${b.address.family} but the VIP ${vip.address.text} is IPv${vip.address.family}: ${svc.forward} keeps the family; a tunnel carries one in the other (forward ${b.address.family === 6 ? 'ip6ip6' : 'ipip'} or gue)`,
      );
    }
    if (svc.forward !== 'nat' && b.port !== port) {
      report(bpath, `${svc.forward} forwarding cannot change the port: backend ${b.key} must listen on the service port ${port}`);
    }
    // The tunnel's outer header is of the backend's family: ipip carries to IPv4, ip6ip6 to IPv6.
    if ((svc.forward === 'ipip' && b.address.family !== 4) || (svc.forward === 'ip6ip6' && b.address.family !== 6)) {
      report(bpath, `forward "${svc.forward}" needs IPv${svc.forward === 'ipip' ? 4 : 6} backends; ${b.key} is IPv${b.address.family}`);
    }
    if (keys.has(b.key)) report(bpath, `backend ${b.key} is listed twice`);
    keys.add(b.key);
    backends.push(b);
  });
  if (backends.length > 0 && backends.every((b) => b.state === 'draining')) {
    report(`${path}.backends`, 'every backend is draining: at least one must be active to take new flows');
  }
  const prefix = vip.prefix;
  const name = svc.name ?? defaultServiceName({ vip: vip.address, prefix, port, protocol: svc.protocol });
  const health = svc.health ? resolveHealth(svc.health, `${path}.health`, report) : undefined;
  if (health && anyPort && health.port === undefined) {
    report(`${path}.health.port`, 'a service on every port has no backend port to check: set health.port');
  }
  checkQuic(svc, backends, path, report);
  return {
    name,
    vip: vip.address,
    ...(prefix !== undefined ? { prefix } : {}),
    port,
    protocol: svc.protocol,
    forward: svc.forward,
    strategy,
    options,
    backends,
    ...(health ? { health } : {}),
    ...(svc.quic ? { quic: true as const } : {}),
  };
}

/** Fills the defaults of a health check and checks what spans its fields. */
function resolveHealth(h: NonNullable<ConfigShape['services'][number]['health']>, path: string, report: Report): HealthCheckConfig {
  if (h.timeoutMs > h.intervalMs) report(`${path}.timeoutMs`, `timeout ${h.timeoutMs} ms is longer than the interval ${h.intervalMs} ms`);
  if (h.type === 'tcp') {
    if (h.path !== undefined) report(`${path}.path`, 'path is for http checks (type: http)');
    if (h.expectStatus !== undefined) report(`${path}.expectStatus`, 'expectStatus is for http checks (type: http)');
  }
  return {
    type: h.type,
    ...(h.port !== undefined ? { port: h.port } : {}),
    intervalMs: h.intervalMs,
    timeoutMs: h.timeoutMs,
    rise: h.rise,
    fall: h.fall,
    path: h.path ?? LB_DEFAULTS.health.path,
    expectStatus: h.expectStatus ?? LB_DEFAULTS.health.expectStatus,
  };
}

function resolveBackend(
  entry: string | { address: string; weight?: number; state?: 'active' | 'draining'; quicServerId?: number },
  servicePort: number,
  path: string,
  report: Report,
): BackendConfig | undefined {
  const obj = typeof entry === 'string' ? splitWeight(entry, path, report) : entry;
  if (!obj) return undefined;
  try {
    const ep = parseEndpoint(obj.address);
    const port = ep.port ?? servicePort;
    // loxicmd (and others) write a weight as IP:WEIGHT; here that text means port WEIGHT, and
    // `198.18.0.11:2` silently became port 2. Ports below 20 (no service listens there any more)
    // in the short form are taken for such a weight and refused; the object form still says it.
    // ("*", ANY_PORT, is never a weight: resolveService says where it belongs.)
    if (
      typeof entry === 'string' &&
      ep.port !== undefined &&
      ep.port !== ANY_PORT &&
      ep.port < AMBIGUOUS_PORT_BELOW &&
      ep.port !== servicePort
    ) {
      const host = formatEndpoint(ep.address, ep.port).replace(/:\d+$/, '');
      report(
        path,
        `"${entry}": port ${ep.port} looks like a weight (IP:WEIGHT is loxicmd's form); a weight is written ${host}@${ep.port}, a port that low as { address: "${obj.address}" }`,
      );
      return undefined;
    }
    const quic = typeof entry === 'string' || entry.quicServerId === undefined ? {} : { quicServerId: entry.quicServerId };
    return {
      address: ep.address,
      port,
      weight: obj.weight ?? LB_DEFAULTS.weight,
      state: obj.state ?? 'active',
      key: formatEndpoint(ep.address, port),
      ...quic,
    };
  } catch (e) {
    report(path, (e as Error).message);
    return undefined;
  }
}

/**
 * An IPv6 VIP without a port: in brackets it needs one; unbracketed, its last group may have been
 * meant as the port (2001:db8::10:80 is a valid address), so both readings are offered.
 */
function ipv6PortHint(text: string): string {
  const t = text.trim();
  if (t.startsWith('[')) return `"${text}" needs a port (e.g. ${t.replace(/:$/, '')}:80)`;
  const cut = t.lastIndexOf(':');
  const head = t.slice(0, cut);
  const tail = t.slice(cut + 1);
  const meant =
    /^\d{1,5}$/.test(tail) && parseIp(head.endsWith(':') ? `${head}:` : head)
      ? ` or [${head.endsWith(':') ? `${head}:` : head}]:${tail} if ${tail} is the port`
      : '';
  return `"${text}" needs a port, and an IPv6 address with a port takes brackets: [${t}]:PORT${meant}`;
}

/** A short-form backend port below this, other than the service's, is read as a misplaced weight. */
export const AMBIGUOUS_PORT_BELOW = 20;

/** "ADDR[:PORT][@WEIGHT]" -> address text and weight. */
function splitWeight(
  text: string,
  path: string,
  report: Report,
): { address: string; weight?: number; state?: 'active' | 'draining' } | undefined {
  const at = text.lastIndexOf('@');
  if (at < 0) return { address: text };
  const w = text.slice(at + 1);
  const weight = Number(w);
  if (!/^\d+$/.test(w) || weight < 1 || weight > 65535) {
    report(path, `weight "${w}" in "${text}" must be a whole number from 1 to 65535`);
    return undefined;
  }
  return { address: text.slice(0, at), weight };
}

function checkServiceUniqueness(services: readonly ServiceConfig[], report: Report): void {
  const byKey = new Map<string, number>();
  const byName = new Map<string, number>();
  services.forEach((s, i) => {
    const key = defaultServiceName(s);
    const prev = byKey.get(key);
    if (prev !== undefined) report(`services.${i}`, `service ${key} is defined twice (also services.${prev})`);
    byKey.set(key, i);
    const prevName = byName.get(s.name);
    if (prevName !== undefined && prev === undefined)
      report(`services.${i}.name`, `service name "${s.name}" is used twice (also services.${prevName})`);
    byName.set(s.name, i);
  });
}

/** zod's messages, with unknown keys said in our words (strict schemas make typos errors). */
function shapeMessage(issue: z.core.$ZodIssue): string {
  if (issue.code === 'unrecognized_keys') {
    return `unknown key(s) ${issue.keys.map((k) => `"${k}"`).join(', ')} (see docs/config.md)`;
  }
  return issue.message;
}

/** "<vip>:<port>/<protocol>" ("<net>/<len>:<port>/<protocol>" for a prefix VIP), the name of a
 * service that was not given one. */
export function defaultServiceName(s: Pick<ServiceConfig, 'vip' | 'prefix' | 'port' | 'protocol'>): string {
  return serviceText(s);
}
