// Packaging (issue 9), checked without a container engine or a cluster:
//   - deploy/container/Dockerfile, parsed: multi-stage; the default (last) stage runs with
//     libbpf and the prebuilt objects and holds no compiler; clang only in the documented
//     runtime-strategies stage; every file it copies from the context exists;
//   - deploy/kubernetes/*.yaml against a schema written here for the kinds used (strict: an
//     unknown or misspelt field is an error) plus the API server's cross-field rules we rely on
//     (selector matches the template, mounts name volumes, Bidirectional only when privileged,
//     no allowPrivilegeEscalation=false with SYS_ADMIN), and the ConfigMap's lb.yaml through
//     the real config resolution;
//   - deploy/systemd/xdp-lb.service by `systemd-analyze verify` (skipped where it is missing);
//   - scripts/pack-check.sh: every package packed, installed from the tarballs into a fresh
//     project, `lb --help` and the addon and the objects from there; as root with lab support,
//     `lb demo` from the installed CLI (a lab, a deploy, HTTP through it);
//   - .github/workflows/ci.yml: a job per project for lint, typecheck and test, nx affected on
//     pull requests.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync, chmodSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { exec, labSupport } from '@xdp-lb/netlab';
import { useE2e } from './helpers/e2e.js';

const e2e = useE2e();
const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const read = (p: string) => readFileSync(join(ROOT, p), 'utf8');
/** `nx show projects` with extra flags, as a list (no daemon: the same answer on any machine). */
const nxProjects = (flags: string[]): string[] =>
  JSON.parse(
    execFileSync('npx', ['nx', 'show', 'projects', '--json', ...flags], {
      cwd: ROOT,
      encoding: 'utf8',
      env: { ...process.env, NX_DAEMON: 'false', NX_NO_CLOUD: 'true' },
    }),
  ) as string[];

// ---------------------------------------------------------------------------------------------
// Dockerfile

interface Instruction {
  op: string;
  args: string;
  line: number;
}
interface Stage {
  name: string;
  from: string;
  body: Instruction[];
}

/** Instructions of a Dockerfile: comments dropped, continuation lines joined. */
function dockerInstructions(text: string): Instruction[] {
  const out: Instruction[] = [];
  let buf = '';
  let start = 0;
  text.split('\n').forEach((raw, i) => {
    const line = raw.trim();
    if (!buf && (line === '' || line.startsWith('#'))) return;
    if (buf && line.startsWith('#')) return;
    if (!buf) start = i + 1;
    buf += (buf ? ' ' : '') + line.replace(/\\$/, '').trim();
    if (line.endsWith('\\')) return;
    const m = /^([A-Za-z]+)\s+(.*)$/.exec(buf);
    if (!m) throw new Error(`Dockerfile:${start}: not an instruction: ${buf}`);
    out.push({ op: m[1]!.toUpperCase(), args: m[2]!, line: start });
    buf = '';
  });
  return out;
}

function dockerStages(ins: Instruction[]): { args: Record<string, string>; stages: Stage[] } {
  const args: Record<string, string> = {};
  const stages: Stage[] = [];
  for (const i of ins) {
    if (i.op === 'FROM') {
      const m = /^(\S+)(?:\s+AS\s+(\S+))?$/i.exec(i.args);
      if (!m) throw new Error(`Dockerfile:${i.line}: FROM ${i.args}`);
      stages.push({ name: m[2] ?? String(stages.length), from: m[1]!, body: [] });
    } else if (!stages.length) {
      if (i.op !== 'ARG') throw new Error(`Dockerfile:${i.line}: ${i.op} before the first FROM`);
      const [k, v] = i.args.split('=');
      args[k!] = v ?? '';
    } else stages.at(-1)!.body.push(i);
  }
  return { args, stages };
}

/** Packages `apt-get install`ed by a stage. */
const aptPackages = (s: Stage) =>
  s.body
    .filter((i) => i.op === 'RUN' && /apt-get install/.test(i.args))
    .flatMap((i) =>
      i.args
        .split(/apt-get install/)[1]!
        .split('&&')[0]!
        .split(/\s+/),
    )
    .filter((w) => w && !w.startsWith('-'));

/** A stage and the stages it is built FROM, nearest first. */
function chain(stages: Stage[], name: string): Stage[] {
  const out: Stage[] = [];
  for (let s = stages.find((x) => x.name === name); s; s = stages.find((x) => x.name === s!.from)) out.push(s);
  return out;
}

const COMPILERS = ['clang', 'llvm', 'gcc', 'g++', 'cmake', 'make', 'libbpf-dev', 'libelf-dev'];

describe('deploy/container/Dockerfile', () => {
  const { args, stages } = dockerStages(dockerInstructions(read('deploy/container/Dockerfile')));
  const runtime = stages.at(-1)!;

  it('is multi-stage: a build stage with the toolchains, a runtime stage last (the default target)', () => {
    expect(stages.length).toBeGreaterThanOrEqual(2);
    expect(runtime.name).toBe('runtime');
    const build = stages.find((s) => s.name === 'build')!;
    expect(build).toBeDefined();
    expect(aptPackages(build)).toEqual(expect.arrayContaining(['clang', 'llvm', 'libbpf-dev', 'libelf-dev', 'cmake', 'g++']));
    const runs = build.body
      .filter((i) => i.op === 'RUN')
      .map((i) => i.args)
      .join('\n');
    expect(runs).toMatch(/npm ci/);
    expect(runs).toMatch(/nx run-many -t build-bpf build-native build/);
    expect(runs).toMatch(/scripts\/pack-check\.sh --pack-only/);
  });

  it('runs with node, libbpf and the prebuilt objects only: no compiler in the runtime stage', () => {
    const c = chain(stages, 'runtime');
    const base = c.at(-1)!.from.replace(/^\$\{(\w+)\}$/, (_m, k: string) => args[k] ?? '');
    expect(base).toMatch(/^node:20[.-]/);
    const pkgs = c.flatMap(aptPackages);
    expect(pkgs).toEqual(expect.arrayContaining(['libbpf1', 'libelf1', 'iproute2', 'ethtool']));
    expect(
      pkgs.filter((p) => COMPILERS.includes(p)),
      'compilers in the runtime image',
    ).toEqual([]);
    const copies = c.flatMap((s) => s.body.filter((i) => i.op === 'COPY'));
    expect(copies.map((i) => i.args)).toContain('--from=build /opt/xdp-lb /opt/xdp-lb');
    const entry = c.flatMap((s) => s.body.filter((i) => i.op === 'ENTRYPOINT'));
    expect(JSON.parse(entry.at(0)!.args)).toEqual(['lb']);
  });

  it('has clang only in the documented runtime-strategies stage (third-party strategies)', () => {
    const s = stages.find((x) => x.name === 'runtime-strategies')!;
    expect(s).toBeDefined();
    expect(aptPackages(s)).toEqual(expect.arrayContaining(['clang', 'libbpf-dev']));
    // The headers and compile script fragments need come inside @xdp-lb/core (dist/bpf), not from the build context.
    expect(s.body.filter((i) => i.op === 'COPY')).toEqual([]);
    const readme = read('deploy/container/README.md');
    expect(readme).toMatch(/runtime-strategies/);
    expect(readme).toMatch(/clang/);
  });

  it('copies only files that exist, and keeps host builds out of the context', () => {
    for (const st of stages) {
      for (const i of st.body.filter((x) => x.op === 'COPY' && !x.args.startsWith('--from'))) {
        const srcs = i.args.split(/\s+/).slice(0, -1);
        for (const src of srcs) expect(existsSync(join(ROOT, src)), `COPY ${src} (line ${i.line})`).toBe(true);
      }
    }
    const ignore = read('deploy/container/Dockerfile.dockerignore');
    expect(ignore).toMatch(/^\*\*\/node_modules$/m);
  });
});

// ---------------------------------------------------------------------------------------------
// Kubernetes

const dns1123 = z
  .string()
  .regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/)
  .max(63);
const labelKey = z.string().regex(/^([a-z0-9]([-a-z0-9.]*[a-z0-9])?\/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/);
const labels = z.record(
  labelKey,
  z
    .string()
    .regex(/^([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?$/)
    .max(63),
);
const meta = (namespaced: boolean) =>
  z
    .object({
      name: dns1123,
      labels: labels.optional(),
      annotations: z.record(z.string(), z.string()).optional(),
      ...(namespaced ? { namespace: dns1123 } : {}),
    })
    .strict();
const quantity = z.union([z.string().regex(/^\d+(\.\d+)?(m|Ki|Mi|Gi|Ti|k|M|G|T)?$/), z.number()]);
const resources = z.object({ cpu: quantity.optional(), memory: quantity.optional() }).strict();
const CAPS = ['BPF', 'NET_ADMIN', 'PERFMON', 'SYS_ADMIN', 'NET_RAW', 'ALL'] as const;
const securityContext = z
  .object({
    privileged: z.boolean().optional(),
    runAsUser: z.number().int().min(0).optional(),
    readOnlyRootFilesystem: z.boolean().optional(),
    allowPrivilegeEscalation: z.boolean().optional(),
    capabilities: z
      .object({ add: z.array(z.enum(CAPS)).optional(), drop: z.array(z.enum(CAPS)).optional() })
      .strict()
      .optional(),
  })
  .strict();
const volumeMount = z
  .object({
    name: dns1123,
    mountPath: z.string().regex(/^\//),
    readOnly: z.boolean().optional(),
    mountPropagation: z.enum(['None', 'HostToContainer', 'Bidirectional']).optional(),
  })
  .strict();
const probe = z
  .object({
    exec: z
      .object({ command: z.array(z.string()).min(1) })
      .strict()
      .optional(),
    httpGet: z
      .object({ path: z.string(), port: z.union([z.number(), z.string()]), host: z.string().optional() })
      .strict()
      .optional(),
    periodSeconds: z.number().int().positive().optional(),
    timeoutSeconds: z.number().int().positive().optional(),
    initialDelaySeconds: z.number().int().min(0).optional(),
    failureThreshold: z.number().int().positive().optional(),
  })
  .strict();
const container = z
  .object({
    name: dns1123,
    image: z.string().min(1),
    command: z.array(z.string()).optional(),
    args: z.array(z.string()).optional(),
    env: z.array(z.object({ name: z.string(), value: z.string() }).strict()).optional(),
    securityContext: securityContext.optional(),
    readinessProbe: probe.optional(),
    livenessProbe: probe.optional(),
    resources: z.object({ requests: resources.optional(), limits: resources.optional() }).strict().optional(),
    volumeMounts: z.array(volumeMount).optional(),
  })
  .strict();
const volume = z
  .object({
    name: dns1123,
    hostPath: z
      .object({
        path: z.string().regex(/^\//),
        type: z.enum(['', 'Directory', 'DirectoryOrCreate', 'File', 'FileOrCreate', 'Socket']).optional(),
      })
      .strict()
      .optional(),
    configMap: z
      .object({ name: dns1123, items: z.array(z.object({ key: z.string(), path: z.string() }).strict()).optional() })
      .strict()
      .optional(),
    emptyDir: z.object({ medium: z.string().optional() }).strict().optional(),
  })
  .strict()
  .refine((v) => [v.hostPath, v.configMap, v.emptyDir].filter(Boolean).length === 1, 'a volume has exactly one source');
const podSpec = z
  .object({
    serviceAccountName: dns1123.optional(),
    automountServiceAccountToken: z.boolean().optional(),
    hostNetwork: z.boolean().optional(),
    dnsPolicy: z.enum(['ClusterFirst', 'ClusterFirstWithHostNet', 'Default', 'None']).optional(),
    priorityClassName: z.string().optional(),
    nodeSelector: labels.optional(),
    tolerations: z
      .array(
        z
          .object({
            key: z.string().optional(),
            operator: z.enum(['Exists', 'Equal']),
            value: z.string().optional(),
            effect: z.enum(['NoSchedule', 'PreferNoSchedule', 'NoExecute']).optional(),
          })
          .strict(),
      )
      .optional(),
    terminationGracePeriodSeconds: z.number().int().min(0).optional(),
    initContainers: z.array(container).optional(),
    containers: z.array(container).min(1),
    volumes: z.array(volume).optional(),
  })
  .strict();
const KINDS: Record<string, z.ZodType> = {
  'v1/Namespace': z.object({ apiVersion: z.literal('v1'), kind: z.literal('Namespace'), metadata: meta(false) }).strict(),
  'v1/ServiceAccount': z
    .object({
      apiVersion: z.literal('v1'),
      kind: z.literal('ServiceAccount'),
      metadata: meta(true),
      automountServiceAccountToken: z.boolean().optional(),
    })
    .strict(),
  'v1/ConfigMap': z
    .object({ apiVersion: z.literal('v1'), kind: z.literal('ConfigMap'), metadata: meta(true), data: z.record(z.string(), z.string()) })
    .strict(),
  'apps/v1/DaemonSet': z
    .object({
      apiVersion: z.literal('apps/v1'),
      kind: z.literal('DaemonSet'),
      metadata: meta(true),
      spec: z
        .object({
          selector: z.object({ matchLabels: labels }).strict(),
          updateStrategy: z
            .object({
              type: z.enum(['RollingUpdate', 'OnDelete']),
              rollingUpdate: z
                .object({
                  maxUnavailable: z.union([z.number(), z.string()]).optional(),
                  maxSurge: z.union([z.number(), z.string()]).optional(),
                })
                .strict()
                .optional(),
            })
            .strict()
            .optional(),
          template: z
            .object({ metadata: z.object({ labels, annotations: z.record(z.string(), z.string()).optional() }).strict(), spec: podSpec })
            .strict(),
        })
        .strict(),
    })
    .strict(),
};

type Obj = { apiVersion: string; kind: string; metadata: { name: string; namespace?: string }; [k: string]: any };

/** Every problem of a set of manifests: schema errors and the cross-object rules. */
function validateManifests(docs: Obj[]): string[] {
  const problems: string[] = [];
  const find = (kind: string, name: string, ns?: string) =>
    docs.find((d) => d.kind === kind && d.metadata?.name === name && d.metadata?.namespace === ns);
  for (const d of docs) {
    const where = `${d.kind ?? '?'}/${d.metadata?.name ?? '?'}`;
    const schema = KINDS[`${d.apiVersion}/${d.kind}`];
    if (!schema) {
      problems.push(`${where}: unknown apiVersion/kind ${d.apiVersion}/${d.kind}`);
      continue;
    }
    const r = schema.safeParse(d);
    if (!r.success) for (const i of r.error.issues) problems.push(`${where}: ${i.path.join('.')}: ${i.message}`);
    if (d.metadata?.namespace && !find('Namespace', d.metadata.namespace))
      problems.push(`${where}: namespace ${d.metadata.namespace} is not defined here`);
    if (d.kind !== 'DaemonSet') continue;
    const tpl = d.spec?.template;
    for (const [k, v] of Object.entries(d.spec?.selector?.matchLabels ?? {}))
      if (tpl?.metadata?.labels?.[k] !== v) problems.push(`${where}: selector ${k}=${v} does not match the template's labels`);
    const spec = tpl?.spec ?? {};
    if (spec.serviceAccountName && !find('ServiceAccount', spec.serviceAccountName, d.metadata.namespace))
      problems.push(`${where}: no ServiceAccount ${spec.serviceAccountName}`);
    const vols = new Map<string, any>((spec.volumes ?? []).map((v: any) => [v.name, v]));
    for (const v of vols.values())
      if (v.configMap && !find('ConfigMap', v.configMap.name, d.metadata.namespace))
        problems.push(`${where}: volume ${v.name}: no ConfigMap ${v.configMap.name}`);
    for (const c of [...(spec.initContainers ?? []), ...(spec.containers ?? [])]) {
      const sc = c.securityContext ?? {};
      const paths = new Set<string>();
      for (const m of c.volumeMounts ?? []) {
        if (!vols.has(m.name)) problems.push(`${where}: container ${c.name}: mount of an undefined volume ${m.name}`);
        if (paths.has(m.mountPath)) problems.push(`${where}: container ${c.name}: ${m.mountPath} mounted twice`);
        paths.add(m.mountPath);
        // The API server's rule: "Bidirectional mount propagation is available only to privileged containers".
        if (m.mountPropagation === 'Bidirectional' && sc.privileged !== true)
          problems.push(`${where}: container ${c.name}: Bidirectional propagation needs a privileged container`);
      }
      // The API server's rule: allowPrivilegeEscalation=false cannot be set with privileged or CAP_SYS_ADMIN.
      if (sc.allowPrivilegeEscalation === false && (sc.privileged || sc.capabilities?.add?.includes('SYS_ADMIN')))
        problems.push(`${where}: container ${c.name}: allowPrivilegeEscalation=false with privileged/SYS_ADMIN is refused`);
    }
  }
  return problems;
}

const manifests = () =>
  readdirSync(join(ROOT, 'deploy/kubernetes'))
    .filter((f) => /\.ya?ml$/.test(f))
    .flatMap((f) =>
      read(`deploy/kubernetes/${f}`)
        .split(/^---$/m)
        .map((doc) => parseYaml(doc, { uniqueKeys: true } as Parameters<typeof parseYaml>[1]) as Obj | null),
    )
    .filter((d): d is Obj => d !== null);

describe('deploy/kubernetes', () => {
  it('every manifest passes the schema of its kind and the cross-object rules', () => {
    const docs = manifests();
    expect(docs.map((d) => d.kind).sort()).toEqual(['ConfigMap', 'DaemonSet', 'Namespace', 'ServiceAccount']);
    expect(validateManifests(docs)).toEqual([]);
  });

  it('the validator catches what it is there to catch', () => {
    const docs = manifests();
    const ds = structuredClone(docs.find((d) => d.kind === 'DaemonSet')!);
    const agent = ds.spec.template.spec.containers[0];
    agent.securityContext.capabilties = agent.securityContext.capabilities; // a typo
    agent.volumeMounts[0].mountPropagation = 'Bidirectional'; // not privileged
    agent.volumeMounts.push({ name: 'nope', mountPath: '/nope' });
    ds.spec.selector.matchLabels.extra = 'x';
    const problems = validateManifests([...docs.filter((d) => d.kind !== 'DaemonSet'), ds]);
    expect(problems.join('\n')).toMatch(/capabilties/);
    expect(problems.join('\n')).toMatch(/Bidirectional propagation needs a privileged container/);
    expect(problems.join('\n')).toMatch(/undefined volume nope/);
    expect(problems.join('\n')).toMatch(/selector extra=x/);
  });

  it('the DaemonSet: host network, the host bpffs, capabilities only for the agent', () => {
    const ds = manifests().find((d) => d.kind === 'DaemonSet')!;
    const spec = ds.spec.template.spec;
    expect(spec.hostNetwork).toBe(true);
    const bpffs = spec.volumes.find((v: any) => v.hostPath?.path === '/sys/fs/bpf');
    expect(bpffs).toBeDefined();
    const init = spec.initContainers.find((c: any) =>
      c.volumeMounts.some((m: any) => m.name === bpffs.name && m.mountPropagation === 'Bidirectional'),
    );
    expect(init?.securityContext.privileged).toBe(true);
    const [agent] = spec.containers;
    expect(agent.securityContext.privileged).toBe(false);
    expect(agent.securityContext.capabilities).toEqual({ drop: ['ALL'], add: ['BPF', 'NET_ADMIN', 'PERFMON', 'SYS_ADMIN'] });
    expect(agent.volumeMounts.find((m: any) => m.name === bpffs.name).mountPath).toBe('/sys/fs/bpf');
    expect(
      spec.volumes.find((v: any) => v.name === agent.volumeMounts.find((m: any) => m.mountPath === '/var/lib/xdp-lb').name).hostPath.path,
    ).toBe('/var/lib/xdp-lb');
    expect(agent.args.slice(0, 3)).toEqual(['serve', '-f', '/etc/xdp-lb/lb.yaml']);
  });

  it('the ConfigMap holds an lb.yaml of the same schema (resolved by core, announce section included)', async () => {
    const cm = manifests().find((d) => d.kind === 'ConfigMap')!;
    const cfg = await e2e.lb().checkConfig(parseYaml(cm.data['lb.yaml']), { checkInterfaces: false, source: 'ConfigMap xdp-lb-config' });
    expect(cfg.services.map((s) => s.name)).toEqual(['web']);
    expect(cfg.announce).toMatchObject({
      bird: { socket: '/run/bird/bird.ctl', protocol: 'xdp_lb_vips' },
      require: 'any',
      intervalMs: 1000,
    });
    const ds = manifests().find((d) => d.kind === 'DaemonSet')!;
    const mounts = ds.spec.template.spec.containers[0].volumeMounts.map((m: any) => m.mountPath);
    expect(mounts).toEqual(expect.arrayContaining(['/run/bird', '/run/xdp-lb', '/etc/xdp-lb']));
  });
});

// ---------------------------------------------------------------------------------------------
// systemd

const SYSTEMD_ANALYZE = ['/usr/bin/systemd-analyze', '/bin/systemd-analyze'].find((p) => existsSync(p));

describe('deploy/systemd/xdp-lb.service', () => {
  const unit = read('deploy/systemd/xdp-lb.service');

  it.skipIf(!SYSTEMD_ANALYZE)(
    `passes systemd-analyze verify${SYSTEMD_ANALYZE ? '' : ' [skipped: systemd-analyze missing (apt-get install systemd)]'}`,
    async () => {
      // verify insists that ExecStart's binary exists: a stand-in at a path of our own.
      const dir = mkdtempSync('/tmp/xlb-unit-');
      try {
        writeFileSync(join(dir, 'lb'), '#!/bin/sh\n');
        chmodSync(join(dir, 'lb'), 0o755);
        writeFileSync(join(dir, 'xdp-lb.service'), unit.replaceAll('/usr/local/bin/lb', join(dir, 'lb')));
        const r = await exec([SYSTEMD_ANALYZE!, 'verify', join(dir, 'xdp-lb.service')], { check: false, timeoutMs: 30_000 });
        // Unknown keys and bad values are only warnings (exit 0): none may be printed either.
        expect({ code: r.code, out: `${r.stdout}${r.stderr}`.trim() }).toEqual({ code: 0, out: '' });
        // ... and the check does catch them.
        writeFileSync(
          join(dir, 'bad.service'),
          unit.replaceAll('/usr/local/bin/lb', join(dir, 'lb')).replace('Restart=on-failure', 'Restart=sometimes'),
        );
        const bad = await exec([SYSTEMD_ANALYZE!, 'verify', join(dir, 'bad.service')], { check: false, timeoutMs: 30_000 });
        expect(bad.stderr).toMatch(/restart specifier/);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  );

  it('runs lb serve with only the capabilities it needs and does not detach on stop', () => {
    const keys = (k: string) =>
      unit
        .split('\n')
        .filter((l) => l.startsWith(`${k}=`))
        .map((l) => l.slice(k.length + 1));
    expect(keys('ExecStart')).toEqual(['/usr/local/bin/lb serve -f /etc/xdp-lb/lb.yaml --log json']);
    expect(keys('CapabilityBoundingSet')).toEqual(['CAP_BPF CAP_NET_ADMIN CAP_PERFMON CAP_SYS_ADMIN']);
    expect(keys('Restart')).toEqual(['on-failure']);
    expect(keys('ExecStopPost')).toEqual([]);
    expect(keys('ProtectKernelTunables')).toEqual([]);
  });
});

// ---------------------------------------------------------------------------------------------
// npm pack

describe('scripts/pack-check.sh', () => {
  const demo = process.getuid?.() === 0 && labSupport().ok;
  it(`every package packs, installs from its tarball and runs${demo ? ', and lb demo runs from the installed CLI' : ''}`, async () => {
    const r = await exec(['bash', join(ROOT, 'scripts/pack-check.sh'), ...(demo ? ['--demo'] : [])], { check: false, timeoutMs: 240_000 });
    expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(0);
    expect(r.stdout).toMatch(/pack-check: ok: \d+ packages pack, install and run/);
  }, 300_000);
});

// ---------------------------------------------------------------------------------------------
// CI

describe('.github/workflows/ci.yml', () => {
  const wf = parseYaml(read('.github/workflows/ci.yml')) as any;

  it('runs lint, typecheck and test per project, nx affected on pull requests', () => {
    expect(Object.keys(wf.on).sort()).toEqual(['pull_request', 'push']);
    const plan = wf.jobs.plan.steps.map((s: any) => s.run ?? '').join('\n');
    expect(plan).toMatch(/nx show projects --affected --base=/);
    const check = wf.jobs.check;
    expect(check.strategy.matrix.project).toBe('${{ fromJSON(needs.plan.outputs.projects) }}');
    const runs = check.steps.map((s: any) => s.run ?? '').join('\n');
    for (const t of ['lint', 'typecheck', 'test']) expect(runs).toContain(`npx nx run-many -t ${t} -p \${{ matrix.project }}`);
    expect(runs).toMatch(/bash scripts\/bootstrap\.sh/);
  });

  it('every nx project has the three targets the jobs run, but bpf (objects only, no TypeScript)', () => {
    const all = nxProjects([]);
    for (const t of ['lint', 'typecheck', 'test'])
      expect(nxProjects([`--with-target=${t}`]).sort(), t).toEqual(all.filter((p) => p !== 'bpf').sort());
  });

  it('per-package CI is per package: a change selects only what depends on it', () => {
    const affected = (file: string) => nxProjects(['--affected', `--files=${file}`]);
    const netlab = affected('packages/netlab/src/index.ts');
    for (const p of ['native', 'core', 'strategy-hash', 'strategy-random', 'strategy-round-robin'])
      expect(netlab, `netlab change selects ${p}`).not.toContain(p);
    const random = affected('packages/strategies/random/src/model.ts');
    for (const p of ['strategy-hash', 'strategy-round-robin', 'native', 'netlab'])
      expect(random, `random change selects ${p}`).not.toContain(p);
    expect(random).toContain('bpf-tests');
    expect(random, 'core-integration deploys every strategy').toContain('core-integration');
    // core's lab tests (packages/core/integration) and the data-plane suite (bpf/tests) never
    // compose with the CLI: a CLI change skips them
    const cli = affected('packages/cli/src/index.ts');
    for (const p of ['core', 'core-integration', 'bpf-tests', 'testkit', 'netlab', 'native', 'strategy-hash'])
      expect(cli, `cli change selects ${p}`).not.toContain(p);
    expect(affected('packages/core/integration/tests/nat.e2e.test.ts')).toEqual(['core-integration']);
    // the scale-out lab is shared: core's suites (scaleout, scaleout-sync) and the CLI's (scaleout-bgp)
    expect(affected('packages/testkit/src/scaleout.ts').sort()).toEqual(['cli', 'core-integration', 'testkit']);
  });
});
