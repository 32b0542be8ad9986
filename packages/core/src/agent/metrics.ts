import type { BackendHealth } from './health.js';
import type { DataplaneReading } from '../lifecycle/reading.js';
import type { SnatPortUse } from './reading.js';

/** Everything one scrape shows. */
export interface MetricsInput {
  build: { version: string; strategy: string; layout: number; instance: string; node: string; kernel: string };
  reading: DataplaneReading | undefined;
  /** Checked backends; a backend absent here counts as up. */
  health: readonly BackendHealth[];
  /** Backends the applied config gives new flows to, by `service\0backend`. */
  inRotation: ReadonlySet<string>;
  conntrack: {
    entries: number | undefined;
    ageSeconds: number | undefined;
    halfOpen?: number | undefined;
    snatPorts?: ReadonlyMap<string, SnatPortUse> | undefined;
  };
  agent: { reloads: { ok: number; error: number }; lastReloadOk: boolean; lastReloadTime: number | undefined; startTime: number };
}

export type Labels = Record<string, string>;

/** One metric family in the text exposition: its HELP and TYPE lines, then a line per sample. */
export function familyLines(
  name: string,
  type: 'counter' | 'gauge',
  help: string,
  samples: readonly [Labels, number | bigint][],
): string[] {
  return [
    `# HELP ${name} ${help}`,
    `# TYPE ${name} ${type}`,
    ...samples.map(([labels, value]) => `${name}${labelText(labels)} ${value.toString()}`),
  ];
}

/** Prometheus text exposition (format 0.0.4), the metric names of docs/operations.md. */
export function renderMetrics(m: MetricsInput): string {
  const out: string[] = [];
  const family = (name: string, type: 'counter' | 'gauge', help: string, samples: [Labels, number | bigint][]) =>
    out.push(...familyLines(name, type, help, samples));
  const r = m.reading;
  const b = m.build;
  family('xdp_lb_build_info', 'gauge', 'Version of the agent, strategy, map layout and runtime (always 1).', [
    [{ version: b.version, strategy: b.strategy, layout: String(b.layout), lb_instance: b.instance, node: b.node, kernel: b.kernel }, 1],
  ]);
  family(
    'xdp_lb_xdp_mode_info',
    'gauge',
    'XDP mode obtained on each interface (native, generic, offload); 1 while the link is attached.',
    (r?.interfaces ?? []).map((i) => [{ iface: i.name, mode: i.mode, requested: i.requestedMode }, i.attached ? 1 : 0]),
  );
  const svcs = r?.services ?? [];
  family(
    'xdp_lb_packets_total',
    'counter',
    'Packets of a service (both directions in nat) by what the data plane did: forward (XDP_TX or redirect) or drop.',
    svcs.flatMap((s) => [
      [{ service: s.name, action: 'forward' }, s.counters.packets - s.counters.drops] as [Labels, bigint],
      [{ service: s.name, action: 'drop' }, s.counters.drops] as [Labels, bigint],
    ]),
  );
  family(
    'xdp_lb_service_up',
    'gauge',
    'Whether a new flow of a service can reach one of its backends now, read from the data plane (service entry, slot table, an active backend): 1 yes, 0 no.',
    svcs.map((s) => [{ service: s.name }, s.problem === undefined ? 1 : 0]),
  );
  // The strategy as an info series (join on `service`), not a label of every counter: a hot
  // strategy change must not restart a service's counter series.
  family(
    'xdp_lb_service_info',
    'gauge',
    "A service's strategy (its own or the instance's default), as a label (always 1).",
    svcs.map((s) => [{ service: s.name, strategy: s.strategy }, 1]),
  );
  family(
    'xdp_lb_bytes_total',
    'counter',
    'Bytes (L2 header + IPv4 total length) of the packets of a service.',
    svcs.map((s) => [{ service: s.name }, s.counters.bytes]),
  );
  family(
    'xdp_lb_new_flows_total',
    'counter',
    'Flows a service tracked (conntrack entries created, re-selections included).',
    svcs.map((s) => [{ service: s.name }, s.counters.newFlows]),
  );
  const bes = svcs.flatMap((s) => s.backends.map((be) => ({ s, be, labels: { service: s.name, backend: be.key } })));
  family(
    'xdp_lb_backend_packets_total',
    'counter',
    'Packets forwarded to (and in nat, from) a backend.',
    bes.map(({ be, labels }) => [labels, be.counters.packets]),
  );
  family(
    'xdp_lb_backend_bytes_total',
    'counter',
    'Bytes of the packets of a backend.',
    bes.map(({ be, labels }) => [labels, be.counters.bytes]),
  );
  family(
    'xdp_lb_backend_new_flows_total',
    'counter',
    'New flows a backend was selected for.',
    bes.map(({ be, labels }) => [labels, be.counters.newFlows]),
  );
  const health = new Map(m.health.map((h) => [`${h.service}\u0000${h.backend}`, h]));
  family(
    'xdp_lb_backend_up',
    'gauge',
    'Health of a backend: 1 up (or not checked), 0 down by its health checks.',
    bes.map(({ s, be, labels }) => [labels, health.get(`${s.name}\u0000${be.key}`)?.up === false ? 0 : 1]),
  );
  family(
    'xdp_lb_backend_in_rotation',
    'gauge',
    'Whether a backend takes new flows (active in the applied config; 0 when draining or down).',
    bes.map(({ s, be, labels }) => [labels, m.inRotation.has(`${s.name}\u0000${be.key}`) ? 1 : 0]),
  );
  family(
    'xdp_lb_health_checks_total',
    'counter',
    'Health checks run, by result (ok, fail, inconclusive: the checker could not run).',
    m.health.flatMap((h) =>
      (['ok', 'fail', 'inconclusive'] as const).map(
        (res) => [{ service: h.service, backend: h.backend, result: res }, h.checks[res]] as [Labels, number],
      ),
    ),
  );
  if (m.conntrack.entries !== undefined) {
    family(
      'xdp_lb_conntrack_entries',
      'gauge',
      'Established flows: conntrack entries plus the live slots of the flow table (an estimate, counted in the background; see xdp_lb_conntrack_entries_age_seconds).',
      [[{}, m.conntrack.entries]],
    );
    family('xdp_lb_conntrack_entries_age_seconds', 'gauge', 'Age of the xdp_lb_conntrack_entries count.', [
      [{}, round3(m.conntrack.ageSeconds ?? 0)],
    ]);
  }
  if (r)
    family('xdp_lb_conntrack_max_entries', 'gauge', 'Size of the conntrack table (limits.conntrackSize at the first deploy).', [
      [{}, r.conntrackMax],
    ]);
  if (m.conntrack.halfOpen !== undefined)
    family(
      'xdp_lb_half_open_entries',
      'gauge',
      'Half-open TCP flows (a SYN until its handshake completes), those of the flow table included (counted with xdp_lb_conntrack_entries).',
      [[{}, m.conntrack.halfOpen]],
    );
  if (r)
    family('xdp_lb_half_open_max_entries', 'gauge', 'Size of the half-open table (limits.halfOpenSize at the first deploy).', [
      [{}, r.halfOpenMax],
    ]);
  if (r)
    family('xdp_lb_flow_table_buckets', 'gauge', 'Buckets of 4 slots of the flow table (limits.flowTableBuckets; 0: off).', [
      [{}, r.flowTableBuckets],
    ]);
  if (m.conntrack.snatPorts) {
    family(
      'xdp_lb_snat_ports',
      'gauge',
      'NAT: SNAT ports per backend by what holds them: an established flow, a half-open one, or held for TIME_WAIT (counted with xdp_lb_conntrack_entries).',
      [...m.conntrack.snatPorts].flatMap(([backend, u]) =>
        (['established', 'half_open', 'held'] as const).map(
          (state) => [{ backend, state }, state === 'half_open' ? u.halfOpen : u[state]] as [Labels, number],
        ),
      ),
    );
  }
  family(
    'xdp_lb_reasons_total',
    'counter',
    'Packets by data-plane reason (bpf/README.md, "Reasons"): one verdict reason per packet, plus the extra ones (ct_new, ct_expired, ...).',
    (r?.reasons ?? []).map((x) => [{ reason: x.reason }, x.packets]),
  );
  const a = m.agent;
  family(
    'xdp_lb_agent_reloads_total',
    'counter',
    'Config applications by the agent (start, file change, SIGHUP, health, resync), by result.',
    [
      [{ result: 'ok' }, a.reloads.ok],
      [{ result: 'error' }, a.reloads.error],
    ],
  );
  family(
    'xdp_lb_agent_last_reload_successful',
    'gauge',
    '1 when the last attempt to apply the config file succeeded (a rejected file leaves the running config in place).',
    [[{}, a.lastReloadOk ? 1 : 0]],
  );
  if (a.lastReloadTime !== undefined)
    family('xdp_lb_agent_last_reload_timestamp_seconds', 'gauge', 'When the config was last applied successfully.', [
      [{}, round3(a.lastReloadTime / 1000)],
    ]);
  family('xdp_lb_agent_start_timestamp_seconds', 'gauge', 'When the agent started.', [[{}, round3(a.startTime / 1000)]]);
  return `${out.join('\n')}\n`;
}

const round3 = (x: number) => Math.round(x * 1000) / 1000;

function labelText(labels: Labels): string {
  const parts = Object.entries(labels).map(([k, v]) => `${k}="${v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"')}"`);
  return parts.length ? `{${parts.join(',')}}` : '';
}

/** Parses the text format back (tests, `lb` tooling): `name{labels}` -> value. */
export function parseMetrics(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const at = line.lastIndexOf(' ');
    out.set(line.slice(0, at), Number(line.slice(at + 1)));
  }
  return out;
}
