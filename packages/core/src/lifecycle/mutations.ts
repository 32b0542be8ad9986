import type { ConfigInput } from '../config/schema.js';
import { splitProtocol } from '../config/prefix.js';
import { LbError } from './errors.js';

type ServiceInput = ConfigInput['services'][number];
type BackendInput = ServiceInput['backends'][number];

/**
 * Edits of an applied config, as the CLI's `backend` and `service` commands express them. Each
 * returns a new ConfigInput; the caller validates it like any config before anything is applied.
 */
export type Mutation =
  | { kind: 'backend-add'; service: string; backend: string | Exclude<BackendInput, string> }
  | { kind: 'backend-remove'; service: string; backend: string }
  | { kind: 'backend-drain'; service: string; backend: string }
  | { kind: 'backend-activate'; service: string; backend: string }
  | { kind: 'backend-weight'; service: string; backend: string; weight: number }
  | { kind: 'service-add'; service: ServiceInput }
  | { kind: 'service-remove'; service: string }
  /** The service's strategy and its options (none: the strategy's defaults); hot within the program's strategies. */
  | { kind: 'service-strategy'; service: string; strategy: string; options?: Record<string, unknown> };

export function applyMutation(input: ConfigInput, m: Mutation): ConfigInput {
  const services = [...(input.services ?? [])];
  if (m.kind === 'service-add') return { ...input, services: [...services, m.service] };
  const i = findService(services, m.service);
  if (m.kind === 'service-remove') {
    if (services.length === 1) throw new LbError(`service ${m.service} is the last one: undeploy instead`);
    services.splice(i, 1);
    return { ...input, services };
  }
  const svc = services[i]!;
  if (m.kind === 'service-strategy') {
    services[i] = { ...svc, strategy: m.strategy, options: m.options ?? {} };
    return { ...input, services };
  }
  const backends = [...svc.backends];
  if (m.kind === 'backend-add') {
    backends.push(m.backend);
  } else {
    const j = findBackend(backends, m.backend, svc);
    const cur = asObject(backends[j]!);
    if (m.kind === 'backend-remove') {
      if (backends.length === 1) throw new LbError(`backend ${m.backend} is the last of service ${m.service}: remove the service instead`);
      backends.splice(j, 1);
    } else if (m.kind === 'backend-drain') backends[j] = { ...cur, state: 'draining' };
    else if (m.kind === 'backend-activate') backends[j] = { ...cur, state: 'active' };
    else backends[j] = { ...cur, weight: m.weight };
  }
  services[i] = { ...svc, backends };
  return { ...input, services };
}

/** A service by name, "vip:port/proto" or "vip:port" (tcp first). */
function findService(services: ServiceInput[], ref: string): number {
  const hasProto = splitProtocol(ref).protocol !== undefined;
  const norm = hasProto ? ref : `${ref}/tcp`;
  let i = services.findIndex((s) => s.name === ref);
  if (i < 0) i = services.findIndex((s) => `${s.vip}/${s.protocol ?? 'tcp'}` === norm);
  if (i < 0 && !hasProto) i = services.findIndex((s) => s.vip === ref);
  if (i < 0) {
    const known = services.map((s) => s.name ?? `${s.vip}/${s.protocol ?? 'tcp'}`).join(', ');
    throw new LbError(`no service "${ref}" (services: ${known})`, 'ENOENT');
  }
  return i;
}

function asObject(b: BackendInput): Exclude<BackendInput, string> {
  if (typeof b !== 'string') return b;
  const at = b.lastIndexOf('@');
  return at < 0 ? { address: b } : { address: b.slice(0, at), weight: Number(b.slice(at + 1)) };
}

/** A backend by "addr:port", or by "addr" when the port is the service's. */
function findBackend(backends: BackendInput[], ref: string, svc: ServiceInput): number {
  const port = svc.vip.slice(svc.vip.lastIndexOf(':') + 1);
  const withPort = (a: string) =>
    /^\[.*\]:\d+$|^[^:]+:\d+$/.test(a) ? a : a.includes(':') && !a.startsWith('[') ? `[${a}]:${port}` : `${a}:${port}`;
  const want = withPort(ref);
  const j = backends.findIndex((b) => withPort(asObject(b).address) === want);
  if (j < 0) throw new LbError(`service ${svc.name ?? svc.vip} has no backend ${ref}`, 'ENOENT');
  return j;
}
