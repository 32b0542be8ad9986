// Model-based test of the control plane against the real kernel (fast-check fc.commands +
// fc.asyncModelRun): random sequences of re-deploys and hot reloads with edited configs (VIPs,
// ports, protocols, each service's own strategy and its options, drawn per service), identity edits of one service, service add/remove and
// backend add/remove/drain/activate/weight, applied through the library (what the CLI and the
// agent call) to an instance deployed in a lab. After every step the kernel is read back through
// the addon (the pinned lb_services, lb_tables and lb_backends) and compared with what a plain
// TypeScript model of the config says:
//   - lb_services holds exactly the model's services (VIP, port, protocol), each naming its id
//     and its strategy (lb_svc.strategy: its index among the program's strategies, as status says);
//   - each service's slot table names exactly its active backends, each active in lb_backends with
//     its address and port, in the ratio of their weights (round-robin and random: exactly);
//   - each draining backend is draining in lb_backends;
// and a probe packet per service (a new flow, BPF_PROG_TEST_RUN of the attached program) is
// forwarded to one of that service's active backends.
// Interruptions: a run may begin with a first deploy, and any step may be a re-deploy or a
// `lb backend add`, run as the CLI (a process) that SIGKILLs itself at a step fast-check draws
// (XDP_LB_CRASH_AT, core's lifecycle/crash-point.ts). After the kill the state file must hold the
// old config or the new one (the new one only once the deploy wrote it), and the model takes that
// one; the next command, whatever it is, must recover: the check after it is the same as above
// (and a last reload of the model's config after every run checks a final interruption).
// Budget: XDP_LB_MODEL_RUNS runs (default 4) of up to XDP_LB_MODEL_STEPS commands (default 12);
// XDP_LB_MODEL_LONG=1 for a long run (40 runs of up to 40). The seed is printed at the start and
// in a failure's report; replay with XDP_LB_MODEL_SEED=<seed> (and XDP_LB_MODEL_SHRINK=1 to shrink,
// which replays many sequences against the kernel).
import fc from 'fast-check';
import { spawnSync } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { BUILTIN_IDS, builtinStrategy } from '@xdp-lb/builtins';
import { Abi, CRASH_STEPS, type CrashStep, instancePaths } from '@xdp-lb/core';
import { BpfMap } from '@xdp-lb/native';
import { type Lab, tutorialAddresses, tutorialTopology } from '@xdp-lb/netlab';
import { describeLab } from '@xdp-lb/netlab/vitest';
import { CLI_MAIN, useE2e } from './helpers/e2e.js';
import { probe } from '@xdp-lb/testkit';

const e2e = useE2e();
const addr = tutorialAddresses({ clients: 1, backends: 3 });

const LONG = process.env.XDP_LB_MODEL_LONG === '1';
const RUNS = Number(process.env.XDP_LB_MODEL_RUNS ?? (LONG ? 40 : 4));
const STEPS = Number(process.env.XDP_LB_MODEL_STEPS ?? (LONG ? 40 : 12));
const SEED = Number(process.env.XDP_LB_MODEL_SEED ?? Date.now() % 2 ** 31);
const SHRINK = process.env.XDP_LB_MODEL_SHRINK === '1';

// ---------------------------------------------------------------------------------------------
// The model: the config, as plain data.

/** A built-in strategy's id (@xdp-lb/builtins). */
type Strategy = string;
interface MBackend {
  key: string;
  weight: number;
  state: 'active' | 'draining';
}
interface MService {
  vip: string;
  port: number;
  protocol: 'tcp' | 'udp';
  /** The service's own strategy (issue 16: drawn per service; the instance's is only the default). */
  strategy: Strategy;
  options: Record<string, unknown>;
  backends: MBackend[];
}
interface Model {
  /** The instance's default strategy (every service names its own here). */
  strategy: Strategy;
  services: MService[];
}

const VIPS = ['198.18.0.10', '198.18.0.20', '198.18.0.30'];
const PORTS = [80, 443, 8080];
const BACKEND_KEYS = addr.backends.flatMap((b) => [`${b}:80`, `${b}:8080`]);
const identity = (s: Pick<MService, 'vip' | 'port' | 'protocol'>) => `${s.vip}:${s.port}/${s.protocol}`;
const activeOf = (s: MService) => s.backends.filter((b) => b.state === 'active');

/** Options to draw from: each strategy gets those its own schema accepts ({} is its defaults). */
const OPTION_SAMPLES: Record<string, unknown>[] = [
  ...[1009, 2003, 4001].flatMap((tableSize) => ['five-tuple', 'source'].map((hashFields) => ({ tableSize, hashFields }))),
  ...[64, 100, 1024].map((maxSlots) => ({ maxSlots })),
];
const optionsArb = (strategy: Strategy): fc.Arbitrary<Record<string, unknown>> => {
  const schema = builtinStrategy(strategy).optionsSchema;
  const fits = OPTION_SAMPLES.filter((o) => schema.safeParse(o).success);
  return fc.constantFrom(...(fits.length ? fits : [{}]));
};
/** A strategy whose table is the generic weighted slot table (weights become slot counts). */
const slotTable = (strategy: Strategy) => builtinStrategy(strategy).optionsSchema.safeParse({ maxSlots: 64 }).success;
const backendArb = fc.record({
  key: fc.constantFrom(...BACKEND_KEYS),
  weight: fc.integer({ min: 1, max: 5 }),
  state: fc.constantFrom<'active' | 'draining'>('active', 'active', 'draining'),
});
const STRATEGIES = BUILTIN_IDS;
/** A strategy and options of it. */
const strategyArb = fc
  .constantFrom(...STRATEGIES)
  .chain((strategy) => fc.record({ strategy: fc.constant(strategy), options: optionsArb(strategy) }));
const serviceArb: fc.Arbitrary<MService> = strategyArb.chain(({ strategy, options }) =>
  fc
    .record({
      vip: fc.constantFrom(...VIPS),
      port: fc.constantFrom(...PORTS),
      protocol: fc.constantFrom<'tcp' | 'udp'>('tcp', 'udp'),
      strategy: fc.constant(strategy),
      options: fc.constant(options),
      backends: fc.uniqueArray(backendArb, { minLength: 1, maxLength: 4, selector: (b) => b.key }),
    })
    .map((s) => (activeOf(s).length ? s : { ...s, backends: [{ ...s.backends[0]!, state: 'active' as const }, ...s.backends.slice(1)] })),
);
const servicesArb = fc.uniqueArray(serviceArb, { minLength: 1, maxLength: 3, selector: identity });

/** The model as a config the library takes. */
function configOf(instance: string, m: Model): Record<string, unknown> {
  return {
    instance,
    strategy: m.strategy,
    interfaces: ['eth0'],
    snat: { addresses: [addr.lb], ports: '20000-29999' },
    services: m.services.map((s) => ({
      vip: `${s.vip}:${s.port}`,
      protocol: s.protocol,
      strategy: s.strategy,
      options: s.options,
      backends: s.backends.map((b) => ({ address: b.key, weight: b.weight, state: b.state })),
    })),
  };
}

// ---------------------------------------------------------------------------------------------
// The real system and its read-back.

interface Real {
  instance: string;
  lab: Lab;
}

/** What the pinned maps say: services by identity, each with its table as backend keys -> slots. */
async function readKernel(
  instance: string,
): Promise<Map<string, { id: number; strategy: number; slots: Map<string, number>; states: Map<string, number> }>> {
  const dir = instancePaths(instance).maps;
  const services = BpfMap.fromPinned(join(dir, Abi.MAPS.services));
  const tables = BpfMap.fromPinned(join(dir, Abi.MAPS.tables));
  const backends = BpfMap.fromPinned(join(dir, Abi.MAPS.backends));
  try {
    const out = new Map<string, { id: number; strategy: number; slots: Map<string, number>; states: Map<string, number> }>();
    for (const k of services.keys()) {
      const key = Abi.decodeSvcKey(k);
      const svc = Abi.decodeSvc(services.lookup(k) as Buffer);
      const ident = `${key.vip.text}:${key.port}/${key.proto === Abi.IPPROTO_TCP ? 'tcp' : 'udp'}`;
      const slots = new Map<string, number>();
      const states = new Map<string, number>();
      const v = tables.lookup(Abi.u32(svc.id)) as Buffer | null;
      if (v) {
        const inner = BpfMap.fromId(v.readUInt32LE(0));
        try {
          const { keys, values } = await inner.lookupBatch();
          const byIndex = new Map(keys.map((kk, i) => [kk.readUInt32LE(0), (values[i] as Buffer).readUInt32LE(0)]));
          const n = byIndex.get(0) ?? 0;
          for (let i = 1; i <= n; i++) {
            const be = Abi.decodeBackend(backends.lookup(Abi.u32(byIndex.get(i)!)) as Buffer);
            const bkey = `${be.addr.text}:${be.port}`;
            slots.set(bkey, (slots.get(bkey) ?? 0) + 1);
            states.set(bkey, be.state);
          }
        } finally {
          inner.dispose();
        }
      }
      out.set(ident, { id: svc.id, strategy: svc.strategy, slots, states });
    }
    return out;
  } finally {
    services.dispose();
    tables.dispose();
    backends.dispose();
  }
}

/** The state of each backend of each service in lb_backends, by the ids status reports. */
function backendStates(instance: string): Map<string, number> {
  const st = e2e.lb().status(instance);
  const m = BpfMap.fromPinned(join(instancePaths(instance).maps, Abi.MAPS.backends));
  try {
    const out = new Map<string, number>();
    for (const s of st.services) {
      for (const b of s.backends) {
        const v = Abi.decodeBackend(m.lookup(Abi.u32(b.id)) as Buffer);
        expect(`${v.addr.text}:${v.port}`, `${s.vip} backend ${b.key}: lb_backends[${b.id}] holds it`).toBe(b.key);
        out.set(`${s.vip}/${s.protocol} ${b.key}`, v.state);
      }
    }
    return out;
  } finally {
    m.dispose();
  }
}

const gcd = (a: number, b: number): number => (b ? gcd(b, a % b) : a);

/** The check after every step. */
async function verify(m: Model, r: Real, step: string): Promise<void> {
  const kernel = await readKernel(r.instance);
  expect([...kernel.keys()].sort(), `${step}: lb_services holds exactly the model's services`).toEqual(m.services.map(identity).sort());
  const states = backendStates(r.instance);
  const st = e2e.lb().status(r.instance);
  const target = { netns: r.lab.host('lb').netns.name, ifindex: st.interfaces[0]!.ifindex, progId: st.interfaces[0]!.progId! };
  for (const s of m.services) {
    const k = kernel.get(identity(s))!;
    const active = activeOf(s);
    expect([...k.slots.keys()].sort(), `${step}: ${identity(s)}'s table names exactly its active backends`).toEqual(
      active.map((b) => b.key).sort(),
    );
    for (const [key, state] of k.states) expect(state, `${step}: ${identity(s)} ${key} is active in lb_backends`).toBe(Abi.BE_ACTIVE);
    expect(st.strategies[k.strategy], `${step}: ${identity(s)}'s lb_svc.strategy names its strategy in the program`).toBe(s.strategy);
    expect(
      st.services.find((x) => `${x.vip}/${x.protocol}` === identity(s))?.strategy,
      `${step}: status says ${identity(s)}'s strategy`,
    ).toBe(s.strategy);
    if (slotTable(s.strategy)) {
      // Weights become slot counts divided by their common factor (the sums here stay under maxSlots).
      const g = active.reduce((x, b) => gcd(x, b.weight), 0);
      for (const b of active) expect(k.slots.get(b.key), `${step}: ${identity(s)} ${b.key} weight ${b.weight}`).toBe(b.weight / g);
    }
    for (const b of s.backends) {
      const vip = `${s.vip}:${s.port}/${s.protocol}`;
      expect(states.get(`${vip} ${b.key}`), `${step}: ${vip} ${b.key} is ${b.state} in lb_backends`).toBe(
        b.state === 'active' ? Abi.BE_ACTIVE : Abi.BE_DRAINING,
      );
    }
    const p = probe(target, s);
    expect(p.verdict, `${step}: a new flow to ${identity(s)}`).toMatch(/^(TX|REDIRECT)$/);
    expect(
      active.map((b) => b.key),
      `${step}: ${identity(s)} forwards to one of its active backends`,
    ).toContain(p.to);
  }
}

// ---------------------------------------------------------------------------------------------
// The commands.

type Cmd = fc.AsyncCommand<Model, Real, false>;
const pick = <T>(xs: readonly T[], i: number): T => xs[i % xs.length]!;

/** Applies `edit` to a copy of the model, then the whole config through deploy or reload. */
abstract class ConfigCommand implements Cmd {
  abstract readonly label: string;
  constructor(readonly via: 'deploy' | 'reload') {}
  abstract next(m: Model): MService[] | undefined;
  check(m: Readonly<Model>): boolean {
    return this.next(structuredClone(m) as Model) !== undefined;
  }
  async run(m: Model, r: Real): Promise<void> {
    m.services = this.next(structuredClone(m))!;
    const cfg = configOf(r.instance, m);
    if (this.via === 'deploy') await e2e.deploy(r.lab, cfg as never);
    else await e2e.lb().reload(r.instance, cfg);
    await verify(m, r, this.toString());
  }
  toString(): string {
    return `${this.via} ${this.label}`;
  }
}

class ReplaceServices extends ConfigCommand {
  constructor(
    via: 'deploy' | 'reload',
    readonly services: MService[],
  ) {
    super(via);
  }
  get label() {
    return `services ${JSON.stringify(this.services.map((s) => [identity(s), s.backends.map((b) => `${b.key}@${b.weight}${b.state === 'draining' ? '-' : ''}`)]))}`;
  }
  next(): MService[] {
    return structuredClone(this.services);
  }
}

/** The A -> B -> A edit: one service's VIP, port or protocol changes, the rest stays. */
class EditIdentity extends ConfigCommand {
  constructor(
    via: 'deploy' | 'reload',
    readonly index: number,
    readonly edit: Partial<Pick<MService, 'vip' | 'port' | 'protocol'>>,
  ) {
    super(via);
  }
  get label() {
    return `service #${this.index} -> ${JSON.stringify(this.edit)}`;
  }
  next(m: Model): MService[] | undefined {
    const i = this.index % m.services.length;
    const edited = { ...m.services[i]!, ...this.edit };
    if (m.services.some((s, j) => j !== i && identity(s) === identity(edited))) return undefined;
    return m.services.map((s, j) => (j === i ? edited : s));
  }
}

/** One service's strategy and options (the same strategy: only its options change). Through a
 * reload, a move between the program's strategies is hot. */
class EditStrategy extends ConfigCommand {
  constructor(
    via: 'deploy' | 'reload',
    readonly index: number,
    readonly to: Pick<MService, 'strategy' | 'options'>,
  ) {
    super(via);
  }
  get label() {
    return `service #${this.index} strategy ${this.to.strategy} ${JSON.stringify(this.to.options)}`;
  }
  next(m: Model): MService[] {
    const i = this.index % m.services.length;
    return m.services.map((s, j) => (j === i ? { ...s, ...this.to } : s));
  }
}

/** A hot change through lb.update (what `lb backend ...` / `lb service ...` call). */
abstract class MutationCommand implements Cmd {
  abstract check(m: Readonly<Model>): boolean;
  abstract apply(m: Model, r: Real): Promise<void>;
  async run(m: Model, r: Real): Promise<void> {
    await this.apply(m, r);
    await verify(m, r, this.toString());
  }
  abstract toString(): string;
}

class ServiceAdd extends MutationCommand {
  constructor(readonly svc: MService) {
    super();
  }
  check(m: Readonly<Model>) {
    return m.services.length < 4 && !m.services.some((s) => identity(s) === identity(this.svc));
  }
  async apply(m: Model, r: Real) {
    const s = this.svc;
    await e2e.lb().update(r.instance, {
      kind: 'service-add',
      service: {
        vip: `${s.vip}:${s.port}`,
        protocol: s.protocol,
        strategy: s.strategy,
        options: s.options,
        backends: s.backends.map((b) => ({ address: b.key, weight: b.weight, state: b.state })),
      },
    });
    m.services.push(structuredClone(s));
  }
  toString() {
    return `service add ${identity(this.svc)}`;
  }
}

class ServiceRemove extends MutationCommand {
  constructor(readonly index: number) {
    super();
  }
  check(m: Readonly<Model>) {
    return m.services.length > 1;
  }
  async apply(m: Model, r: Real) {
    const i = this.index % m.services.length;
    await e2e.lb().update(r.instance, { kind: 'service-remove', service: identity(m.services[i]!) });
    m.services.splice(i, 1);
  }
  toString() {
    return `service remove #${this.index}`;
  }
}

class BackendAdd extends MutationCommand {
  constructor(
    readonly index: number,
    readonly backend: MBackend,
  ) {
    super();
  }
  check(m: Readonly<Model>) {
    return !pick(m.services, this.index).backends.some((b) => b.key === this.backend.key);
  }
  async apply(m: Model, r: Real) {
    const s = pick(m.services, this.index);
    await e2e.lb().update(r.instance, {
      kind: 'backend-add',
      service: identity(s),
      backend: { address: this.backend.key, weight: this.backend.weight, state: this.backend.state },
    });
    s.backends.push({ ...this.backend });
  }
  toString() {
    return `backend add #${this.index} ${this.backend.key}@${this.backend.weight} ${this.backend.state}`;
  }
}

/** remove, drain, activate or weight of backend #j of service #i. */
class BackendChange extends MutationCommand {
  constructor(
    readonly kind: 'remove' | 'drain' | 'activate' | 'weight',
    readonly index: number,
    readonly bindex: number,
    readonly weight = 1,
  ) {
    super();
  }
  check(m: Readonly<Model>) {
    const s = pick(m.services, this.index);
    const b = pick(s.backends, this.bindex);
    const othersActive = s.backends.some((x) => x !== b && x.state === 'active');
    if (this.kind === 'remove') return s.backends.length > 1 && (b.state === 'draining' || othersActive);
    if (this.kind === 'drain') return b.state === 'active' && othersActive;
    if (this.kind === 'activate') return b.state === 'draining';
    return b.weight !== this.weight;
  }
  async apply(m: Model, r: Real) {
    const s = pick(m.services, this.index);
    const j = this.bindex % s.backends.length;
    const b = s.backends[j]!;
    const service = identity(s);
    if (this.kind === 'remove') await e2e.lb().update(r.instance, { kind: 'backend-remove', service, backend: b.key });
    else if (this.kind === 'drain') await e2e.lb().update(r.instance, { kind: 'backend-drain', service, backend: b.key });
    else if (this.kind === 'activate') await e2e.lb().update(r.instance, { kind: 'backend-activate', service, backend: b.key });
    else await e2e.lb().update(r.instance, { kind: 'backend-weight', service, backend: b.key, weight: this.weight });
    if (this.kind === 'remove') s.backends.splice(j, 1);
    else if (this.kind === 'drain') b.state = 'draining';
    else if (this.kind === 'activate') b.state = 'active';
    else b.weight = this.weight;
  }
  toString() {
    return `backend ${this.kind} #${this.index}.${this.bindex}${this.kind === 'weight' ? ` ${this.weight}` : ''}`;
  }
}

/** `lb ...argv` as a process that SIGKILLs itself at `step`; the kill is asserted. */
function killedAt(step: CrashStep, argv: string[]): void {
  const r = spawnSync(process.execPath, [CLI_MAIN, ...argv], {
    env: { ...process.env, XDP_LB_CRASH_AT: step },
    encoding: 'utf8',
    timeout: 60_000,
    cwd: '/',
  });
  expect(r.signal, `lb ${argv.join(' ')} with XDP_LB_CRASH_AT=${step}: killed there (exit ${r.status}: ${r.stderr})`).toBe('SIGKILL');
}

/** The services the state file holds (by identity): the old config or the new, never a third. */
async function stateServices(instance: string): Promise<string[]> {
  return (await e2e.lb().config(instance)).services.map((s) => `${s.vip.text}:${s.port}/${s.protocol}`).sort();
}

/** `lb deploy -f` of the config `m` (with `services`), killed at a step of the deploy. */
function killedDeploy(r: Real, m: Model, step: CrashStep): void {
  const file = `/tmp/xlb-model-${process.pid}-${r.instance}.json`;
  writeFileSync(file, JSON.stringify(configOf(r.instance, m)));
  try {
    killedAt(step, ['deploy', '-f', file, '--netns', r.lab.host('lb').netns.name]);
  } finally {
    rmSync(file, { force: true });
  }
}

const DEPLOY_STEPS = CRASH_STEPS.filter((s) => s.startsWith('deploy:'));
const UPDATE_STEPS = CRASH_STEPS.filter((s) => s.startsWith('update:'));

/** A re-deploy with new services, SIGKILLed at `step`. The next command checks the recovery. */
class InterruptedDeploy implements Cmd {
  constructor(
    readonly services: MService[],
    readonly step: CrashStep,
  ) {}
  check() {
    return true;
  }
  async run(m: Model, r: Real): Promise<void> {
    const next: Model = { ...m, services: structuredClone(this.services) };
    killedDeploy(r, next, this.step);
    // Only a deploy that wrote its state has happened; before that the old config holds.
    if (this.step === 'deploy:written') m.services = next.services;
    expect(
      await stateServices(r.instance),
      `${this.toString()}: the state holds the ${this.step === 'deploy:written' ? 'new' : 'old'} config`,
    ).toEqual(m.services.map(identity).sort());
  }
  toString() {
    return `deploy killed at ${this.step}: services ${JSON.stringify(this.services.map(identity))}`;
  }
}

/** `lb backend add`, SIGKILLed at `step` (before its state is written: the old config holds). */
class InterruptedBackendAdd implements Cmd {
  constructor(
    readonly index: number,
    readonly backend: MBackend,
    readonly step: CrashStep,
  ) {}
  check(m: Readonly<Model>) {
    return !pick(m.services, this.index).backends.some((b) => b.key === this.backend.key);
  }
  async run(m: Model, r: Real): Promise<void> {
    const s = pick(m.services, this.index);
    killedAt(this.step, ['backend', 'add', identity(s), `${this.backend.key}@${this.backend.weight}`, '-i', r.instance]);
    expect(await stateServices(r.instance)).toEqual(m.services.map(identity).sort());
    expect(
      (await e2e.lb().config(r.instance)).services
        .find((x) => `${x.vip.text}:${x.port}/${x.protocol}` === identity(s))!
        .backends.map((b) => b.key),
      `${this.toString()}: the old config holds`,
    ).not.toContain(this.backend.key);
  }
  toString() {
    return `backend add #${this.index} ${this.backend.key}@${this.backend.weight} killed at ${this.step}`;
  }
}

const via = fc.constantFrom<'deploy' | 'reload'>('deploy', 'reload');
const idx = fc.nat({ max: 7 });
const commands = fc.commands<Model, Real, false>(
  [
    fc.tuple(via, servicesArb).map(([v, s]) => new ReplaceServices(v, s)),
    fc.tuple(via, idx, fc.record({ vip: fc.constantFrom(...VIPS) })).map(([v, i, e]) => new EditIdentity(v, i, e)),
    fc.tuple(via, idx, fc.record({ port: fc.constantFrom(...PORTS) })).map(([v, i, e]) => new EditIdentity(v, i, e)),
    fc.tuple(via, idx, fc.record({ protocol: fc.constantFrom<'tcp' | 'udp'>('tcp', 'udp') })).map(([v, i, e]) => new EditIdentity(v, i, e)),
    fc.tuple(via, idx, strategyArb).map(([v, i, o]) => new EditStrategy(v, i, o)),
    serviceArb.map((s) => new ServiceAdd(s)),
    idx.map((i) => new ServiceRemove(i)),
    fc.tuple(idx, backendArb).map(([i, b]) => new BackendAdd(i, b)),
    fc
      .tuple(fc.constantFrom<'remove' | 'drain' | 'activate'>('remove', 'drain', 'activate'), idx, idx)
      .map(([k, i, j]) => new BackendChange(k, i, j)),
    fc.tuple(idx, idx, fc.integer({ min: 1, max: 5 })).map(([i, j, w]) => new BackendChange('weight', i, j, w)),
    fc.tuple(servicesArb, fc.constantFrom(...DEPLOY_STEPS)).map(([s, step]) => new InterruptedDeploy(s, step)),
    fc
      .tuple(idx, backendArb, fc.constantFrom(...UPDATE_STEPS))
      .map(([i, b, step]) => new InterruptedBackendAdd(i, { ...b, state: 'active' }, step)),
  ],
  { maxCommands: STEPS },
);

describeLab('the control plane against a model of its config', () => {
  let lab: Lab;
  beforeAll(async () => {
    lab = await e2e.lab(tutorialTopology({ clients: 1, backends: 3 }));
  }, 120_000);
  afterAll(() => {
    for (const i of e2e.lb().instances()) e2e.lb().undeploy(i);
  });

  it(
    `random sequences of deploys, reloads and hot changes (${RUNS} runs of up to ${STEPS} steps, seed ${SEED})`,
    async () => {
      console.log(`model test: seed ${SEED} (replay: XDP_LB_MODEL_SEED=${SEED}), ${RUNS} runs of up to ${STEPS} steps`);
      const arb = fc.tuple(
        fc.constantFrom(...STRATEGIES),
        servicesArb,
        fc.option(fc.constantFrom(...DEPLOY_STEPS.filter((s) => s !== 'deploy:written'))),
        commands,
      );
      await fc.assert(
        fc.asyncProperty(arb, async ([strategy, services, firstKilled, cmds]) => {
          const instance = e2e.instance('model');
          const model: Model = { strategy, services: structuredClone(services) };
          const real: Real = { instance, lab };
          try {
            lab.registerPinDir(`${e2e.bpffs}/${instance}`);
            // A first deploy killed part-way: the deploy after it rolls it back and deploys.
            if (firstKilled) killedDeploy(real, model, firstKilled);
            await e2e.deploy(lab, configOf(instance, model) as never);
            await verify(
              model,
              real,
              `${firstKilled ? `(first deploy killed at ${firstKilled}) ` : ''}deploy ${strategy} ${JSON.stringify(services.map(identity))}`,
            );
            await fc.asyncModelRun(() => ({ model, real }), cmds);
            // The command after the last one: recovers from an interruption there too.
            await e2e.lb().reload(instance, configOf(instance, model));
            await verify(model, real, 'a reload after the run');
          } finally {
            if (e2e.lb().instances().includes(instance)) e2e.lb().undeploy(instance);
          }
        }),
        { numRuns: RUNS, seed: SEED, endOnFailure: !SHRINK, verbose: 1 },
      );
    },
    LONG ? 3_600_000 : 300_000,
  );
});
