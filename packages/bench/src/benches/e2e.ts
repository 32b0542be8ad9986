/**
 * End to end: HTTP requests per second and latency percentiles (wrk) through the load balancer,
 * in the tutorial's lab (one client, two nginx backends of one worker each), for each strategy in
 * generic and native XDP mode; against the client talking to both backends directly, an nftables
 * DNAT + masquerade load balancer (kernel conntrack) and HAProxy in TCP mode, on the same LB host.
 * Everything shares the machine's cores, so rounds are interleaved (every case once per round, in
 * a new order each round) and medians reported; CPU time per request is the whole machine's busy
 * time during the run over the requests served.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Abi } from '@xdp-lb/core';
import { httpGet, Lab, type LabHost, parseIpv4, parseMac, tutorialAddresses, tutorialTopology } from '@xdp-lb/netlab';
import { BpfLink, BpfObject, ifNameToIndex, inNetns } from '@xdp-lb/native';
import { aptHint, kernelProblem, missingTools, objects, TOOLS } from '../env.js';
import { Deployed, formatReasons, instanceName, STRATEGY_IDS, type StrategyId } from '../lb.js';
import { cpuTimes } from '../machine.js';
import { prng, shuffled, type Stat, summarize } from '../stats.js';
import type { Bar, Benchmark, BenchContext, Headline, Section } from '../types.js';

type Kind = 'direct' | 'lb' | 'nft' | 'haproxy' | 'bare';

interface Config {
  key: string;
  label: string;
  kind: Kind;
  strategy?: StrategyId;
  mode?: 'native' | 'generic';
  forward?: 'nat' | 'dsr';
}

export interface E2eResult {
  key: string;
  label: string;
  kind: Kind;
  rps: Stat;
  p50Ms: Stat;
  p99Ms: Stat;
  cpuUsPerRequest: Stat;
  errors: number;
  requests: number;
  /** LB cases: the data plane's reason counters over the last round. */
  reasons?: string;
}

interface WrkOut {
  requests: number;
  duration_us: number;
  errors: { connect: number; read: number; write: number; status: number; timeout: number };
  latency_us: { p50: number; p90: number; p99: number; p999: number; mean: number; max: number };
}

const WRK_LUA = `-- prints wrk's summary as one JSON line
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('{"requests":%d,"duration_us":%d,"bytes":%d,"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d},"latency_us":{"p50":%d,"p90":%d,"p99":%d,"p999":%d,"mean":%.1f,"max":%d}}\\n',
    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency:percentile(99.9), latency.mean, latency.max))
end
`;

const NFT_TABLE = 'xlbb_e2e';

const TOOLS_NEEDED = [TOOLS.wrk, TOOLS.nginx];

export const e2e: Benchmark = {
  name: 'e2e',
  title: 'End to end: HTTP through the LB vs direct, nftables and HAProxy (wrk)',
  tools: [TOOLS.wrk, TOOLS.nginx, TOOLS.nft, TOOLS.haproxy],
  seconds: { quick: 55, full: 300 },
  unavailable: () => {
    const k = kernelProblem();
    if (k) return k;
    const m = missingTools(TOOLS_NEEDED);
    return m.length ? `missing ${m.map((t) => t.command).join(', ')}: ${aptHint(m)}` : null;
  },
  run: (ctx) => runE2e(ctx),
};

function configs(quick: boolean, nft: boolean, haproxy: boolean): Config[] {
  const lb = (strategy: StrategyId, mode: 'native' | 'generic', forward: 'nat' | 'dsr'): Config => ({
    key: `lb-${strategy}-${mode}-${forward}`,
    label: `xdp-lb ${strategy}, ${mode}, ${forward}`,
    kind: 'lb',
    strategy,
    mode,
    forward,
  });
  const list: Config[] = [
    { key: 'direct', label: 'direct to both backends', kind: 'direct' },
    // The ceiling of an XDP forwarder on this topology: what xdp-lb is read against.
    { key: 'bare-native', label: 'bare XDP forwarder (stateless, dsr), native', kind: 'bare', mode: 'native' },
  ];
  if (quick) list.push(lb('hash', 'native', 'nat'), lb('hash', 'native', 'dsr'));
  else {
    for (const s of STRATEGY_IDS) for (const m of ['native', 'generic'] as const) list.push(lb(s, m, 'nat'));
    list.push(lb('hash', 'native', 'dsr'), lb('hash', 'generic', 'dsr'));
    list.push({ key: 'bare-generic', label: 'bare XDP forwarder (stateless, dsr), generic', kind: 'bare', mode: 'generic' });
  }
  if (nft) list.push({ key: 'nft', label: 'nftables DNAT + masquerade', kind: 'nft' });
  if (haproxy) list.push({ key: 'haproxy', label: 'HAProxy (TCP mode)', kind: 'haproxy' });
  return list;
}

function nginxConf(dir: string, name: string): string {
  const p = (x: string) => join(dir, `${name}-${x}`);
  return `worker_processes 1;
daemon off;
pid ${p('nginx.pid')};
error_log ${p('error.log')} warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path ${p('body')};
  proxy_temp_path ${p('proxy')};
  fastcgi_temp_path ${p('fastcgi')};
  uwsgi_temp_path ${p('uwsgi')};
  scgi_temp_path ${p('scgi')};
  keepalive_requests 100000000;
  server {
    listen 80 backlog=4096;
    location / { return 200 "${name}\\n"; }
  }
}
`;
}

function haproxyConf(vip: string, backends: string[]): string {
  return `global
  maxconn 4096
defaults
  mode tcp
  timeout connect 5s
  timeout client 60s
  timeout server 60s
frontend fe
  bind ${vip}:80
  default_backend be
backend be
  balance roundrobin
${backends.map((b, i) => `  server http${i + 1} ${b}:80`).join('\n')}
`;
}

function nftConf(vip: string, backends: string[]): string {
  return `table ip ${NFT_TABLE} {
  chain pre {
    type nat hook prerouting priority dstnat; policy accept;
    ip daddr ${vip} tcp dport 80 dnat to numgen inc mod 2 map { 0 : ${backends[0]}, 1 : ${backends[1]} }
  }
  chain post {
    type nat hook postrouting priority srcnat; policy accept;
    ip daddr { ${backends.join(', ')} } tcp dport 80 masquerade
  }
}
`;
}

async function waitHttp(from: LabHost, url: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < deadline) {
    try {
      const r = await httpGet(from, url, { timeoutMs: 1000 });
      if (r.status === 200) return;
      last = `status ${r.status}`;
    } catch (e) {
      last = (e as Error).message;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${url} does not answer from ${from.name}: ${last}`);
}

async function runE2e(ctx: BenchContext): Promise<Section> {
  const rounds = 3;
  const seconds = ctx.quick ? 2 : 5;
  const warnings: string[] = [];
  const nftMissing = missingTools([TOOLS.nft]);
  const haMissing = missingTools([TOOLS.haproxy]);
  if (nftMissing.length) warnings.push(`nftables not measured: ${aptHint(nftMissing)}`);
  if (haMissing.length) warnings.push(`HAProxy not measured: ${aptHint(haMissing)}`);
  const list = configs(ctx.quick, !nftMissing.length, !haMissing.length);

  const topo = { clients: 1, backends: 2, vipOnBackendsLoopback: true, http: false };
  const a = tutorialAddresses(topo);
  const dir = mkdtempSync(join(tmpdir(), 'xlbb-e2e-'));
  const lab = await Lab.up(tutorialTopology(topo), { prefix: 'xlbb' });
  const samples = new Map<
    string,
    { rps: number[]; p50: number[]; p99: number[]; cpu: number[]; errors: number; requests: number; reasons?: string }
  >();
  try {
    const client = lab.host('client1');
    const lbHost = lab.host('lb');
    // The LB host forwards on the interface packets came in by (nftables): no ICMP redirects, or
    // the client would learn to go to the backends directly.
    await lbHost.sysctl({
      'net.ipv4.conf.all.send_redirects': 0,
      'net.ipv4.conf.default.send_redirects': 0,
      'net.ipv4.conf.eth0.send_redirects': 0,
    });
    for (const [i, b] of a.backends.entries()) {
      const name = `http${i + 1}`;
      const conf = join(dir, `${name}.conf`);
      writeFileSync(conf, nginxConf(dir, name));
      lab.host(name).spawn(['nginx', '-c', conf], { label: `nginx ${name}` });
      await waitHttp(client, `http://${b}/`);
    }
    const lua = join(dir, 'report.lua');
    writeFileSync(lua, WRK_LUA);
    const wrk = async (url: string, threads: number, conns: number): Promise<WrkOut> => {
      const r = await client.exec(['wrk', `-t${threads}`, `-c${conns}`, `-d${seconds}s`, '--timeout', '2s', '-s', lua, url], {
        timeoutMs: (seconds + 30) * 1000,
      });
      const line = r.stdout.split('\n').find((l) => l.startsWith('{"requests"'));
      if (!line) throw new Error(`wrk gave no summary: ${r.stdout.slice(-300)} ${r.stderr.slice(-300)}`);
      return JSON.parse(line) as WrkOut;
    };

    const setup = async (c: Config): Promise<{ url: string; teardown: () => Promise<void>; dp?: Deployed }> => {
      const url = `http://${a.vip}/`;
      if (c.kind === 'lb') {
        const dp = await Deployed.deploy(lab, 'lb', {
          instance: instanceName(`e2e-${c.strategy!.slice(0, 2)}`),
          strategy: c.strategy,
          interfaces: [`eth0:${c.mode}`],
          limits: { conntrackSize: 65536 },
          ...(c.forward === 'nat' ? { snat: { addresses: [a.lb] } } : {}),
          services: [{ vip: `${a.vip}:80`, forward: c.forward, backends: a.backends }],
        });
        await waitHttp(client, url);
        return { url, dp, teardown: async () => dp.undeploy() };
      }
      if (c.kind === 'bare') {
        const obj = BpfObject.open(objects.bench());
        const macs = a.backends.map((_, i) => lab.host(`http${i + 1}`).mac!);
        const port = Buffer.alloc(2);
        port.writeUInt16LE(80);
        obj.setVariable('bare_vip', Abi.u32(parseIpv4(a.vip).readUInt32BE(0))); // host order
        obj.setVariable('bare_port', port);
        obj.setVariable('bare_smac', parseMac(lbHost.mac!));
        obj.setVariable('bare_mac0', parseMac(macs[0]!));
        obj.setVariable('bare_mac1', parseMac(macs[1]!));
        await obj.load();
        const link = inNetns(lbHost.netns.path, () =>
          BpfLink.attachXdp(obj.program('xdp_bare'), ifNameToIndex('eth0'), { mode: c.mode === 'native' ? 'drv' : 'skb' }),
        );
        await waitHttp(client, url);
        return {
          url,
          teardown: async () => {
            link.dispose();
            obj.dispose();
          },
        };
      }
      if (c.kind === 'nft') {
        await lbHost.exec(['nft', '-f', '-'], { input: nftConf(a.vip, a.backends) });
        await waitHttp(client, url);
        return { url, teardown: async () => void (await lbHost.exec(['nft', 'delete', 'table', 'ip', NFT_TABLE], { check: false })) };
      }
      if (c.kind === 'haproxy') {
        const conf = join(dir, 'haproxy.cfg');
        writeFileSync(conf, haproxyConf(a.vip, a.backends));
        const p = lbHost.spawn(['haproxy', '-db', '-f', conf], { label: 'haproxy' });
        await Promise.race([
          waitHttp(client, url),
          p.exited.then(() => Promise.reject(new Error(`haproxy exited: ${p.stderr().trim().split('\n').slice(-2).join(' ')}`))),
        ]);
        return { url, teardown: async () => void (await p.kill('SIGTERM', 3000)) };
      }
      return { url, teardown: async () => undefined };
    };

    const measure = async (c: Config, url: string): Promise<{ out: WrkOut; cpuS: number }> => {
      const t0 = cpuTimes();
      let out: WrkOut;
      if (c.kind === 'direct') {
        // Two wrk of one thread and 50 connections each: the same -t2 -c100, split over both backends.
        const [x, y] = (await Promise.all(a.backends.map((b) => wrk(`http://${b}/`, 1, 50)))) as [WrkOut, WrkOut];
        out = {
          requests: x.requests + y.requests,
          duration_us: Math.max(x.duration_us, y.duration_us),
          errors: {
            connect: x.errors.connect + y.errors.connect,
            read: x.errors.read + y.errors.read,
            write: x.errors.write + y.errors.write,
            status: x.errors.status + y.errors.status,
            timeout: x.errors.timeout + y.errors.timeout,
          },
          latency_us: {
            p50: (x.latency_us.p50 + y.latency_us.p50) / 2,
            p90: (x.latency_us.p90 + y.latency_us.p90) / 2,
            p99: Math.max(x.latency_us.p99, y.latency_us.p99),
            p999: Math.max(x.latency_us.p999, y.latency_us.p999),
            mean: (x.latency_us.mean + y.latency_us.mean) / 2,
            max: Math.max(x.latency_us.max, y.latency_us.max),
          },
        };
      } else out = await wrk(url, 2, 100);
      return { out, cpuS: cpuTimes().busy - t0.busy };
    };

    // Warm-up (page cache, nginx, wrk), not recorded.
    ctx.progress(0.01, 'warm-up');
    await wrk(`http://${a.backends[0]}/`, 1, 10).catch(() => undefined);

    const rand = prng(5);
    const total = rounds * list.length;
    let step = 0;
    for (let r = 0; r < rounds; r++) {
      for (const c of r === 0 ? list : shuffled(list, rand)) {
        ctx.progress(step++ / total, `round ${r + 1}/${rounds}: ${c.label}`);
        let s: Awaited<ReturnType<typeof setup>>;
        try {
          s = await setup(c);
        } catch (e) {
          warnings.push(`${c.label}, round ${r + 1}: not measured: ${(e as Error).message.split('\n')[0]}`);
          continue;
        }
        try {
          const before = s.dp?.reasons();
          const { out, cpuS } = await measure(c, s.url);
          let acc = samples.get(c.key);
          if (!acc) samples.set(c.key, (acc = { rps: [], p50: [], p99: [], cpu: [], errors: 0, requests: 0 }));
          acc.rps.push(out.requests / (out.duration_us / 1e6));
          acc.p50.push(out.latency_us.p50 / 1000);
          acc.p99.push(out.latency_us.p99 / 1000);
          acc.cpu.push((cpuS * 1e6) / Math.max(1, out.requests));
          acc.errors += Object.values(out.errors).reduce((x, y) => x + y, 0);
          acc.requests += out.requests;
          if (s.dp && before) acc.reasons = formatReasons(s.dp.reasonsSince(before));
        } finally {
          await s.teardown();
        }
      }
    }
  } finally {
    await lab.destroy();
    rmSync(dir, { recursive: true, force: true });
  }

  const results: E2eResult[] = list
    .filter((c) => samples.has(c.key))
    .map((c) => {
      const s = samples.get(c.key)!;
      if (s.errors > 0.01 * s.requests) warnings.push(`${c.label}: ${s.errors} errors in ${s.requests} requests`);
      return {
        key: c.key,
        label: c.label,
        kind: c.kind,
        rps: summarize(s.rps),
        p50Ms: summarize(s.p50),
        p99Ms: summarize(s.p99),
        cpuUsPerRequest: summarize(s.cpu),
        errors: s.errors,
        requests: s.requests,
        ...(s.reasons ? { reasons: s.reasons } : {}),
      };
    });
  return report(results, rounds, seconds, warnings, ctx);
}

function report(results: E2eResult[], rounds: number, seconds: number, warnings: string[], ctx: BenchContext): Section {
  const get = (k: string) => results.find((r) => r.key === k);
  const direct = get('direct');
  const nft = get('nft');
  const ha = get('haproxy');
  const k = (n: number) => `${(n / 1000).toFixed(1)}k`;
  const headlines: Headline[] = [];
  for (const key of ['lb-hash-native-nat', 'lb-hash-native-dsr']) {
    const r = get(key);
    if (!r || !direct) continue;
    headlines.push({
      metric: `HTTP req/s, ${r.label}`,
      value: r.rps.median,
      unit: 'req/s',
      spread: `${k(r.rps.min)}–${k(r.rps.max)} over ${r.rps.n} rounds; ${r.cpuUsPerRequest.median.toFixed(1)} µs CPU/request`,
      ratio: {
        value: r.rps.median / direct.rps.median,
        of: `direct (${k(direct.rps.median)} req/s)${nft ? `; ${(r.rps.median / nft.rps.median).toFixed(2)}x nftables` : ''}${ha ? `; ${(r.rps.median / ha.rps.median).toFixed(2)}x HAProxy` : ''}`,
      },
      target: {
        value: 0.85 * direct.rps.median,
        better: 'higher',
        text: `≥ 0.85x direct (${k(0.85 * direct.rps.median)}) and ahead of nftables and HAProxy`,
      },
    });
  }
  // Against the ceiling of the topology: a forwarder that does nothing but rewrite MACs (dsr), same mode.
  const bare = get('bare-native');
  const dsrNative = get('lb-hash-native-dsr');
  if (bare && dsrNative) {
    headlines.push({
      metric: `HTTP req/s, ${dsrNative.label}, vs the bare XDP forwarder`,
      value: dsrNative.rps.median / bare.rps.median,
      unit: 'x',
      spread: `bare forwarder ${k(bare.rps.median)} req/s (${bare.cpuUsPerRequest.median.toFixed(1)} µs CPU/request); xdp-lb ${dsrNative.cpuUsPerRequest.median.toFixed(1)} µs`,
      target: { value: 0.9, better: 'higher', text: '≥ 0.9x the bare forwarder' },
    });
  }
  if (direct) {
    for (const alt of [nft, ha])
      if (alt)
        headlines.push({
          metric: `HTTP req/s, ${alt.label}`,
          value: alt.rps.median,
          unit: 'req/s',
          ratio: { value: alt.rps.median / direct.rps.median, of: 'direct' },
          spread: `${alt.cpuUsPerRequest.median.toFixed(1)} µs CPU/request`,
        });
    headlines.push({
      metric: 'HTTP req/s, direct to both backends',
      value: direct.rps.median,
      unit: 'req/s',
      spread: `${direct.cpuUsPerRequest.median.toFixed(1)} µs CPU/request`,
    });
  }
  const group = (r: E2eResult) =>
    r.kind === 'lb'
      ? 'xdp-lb'
      : r.kind === 'direct'
        ? 'direct'
        : r.kind === 'bare'
          ? 'bare XDP forwarder'
          : r.kind === 'nft'
            ? 'nftables'
            : 'HAProxy';
  const bars: Bar[] = results.map((r) => ({
    label: r.label,
    value: r.rps.median,
    lo: r.rps.min,
    hi: r.rps.max,
    group: group(r),
    text: `${k(r.rps.median)}${direct ? ` (${(r.rps.median / direct.rps.median).toFixed(2)}x)` : ''}`,
  }));
  const cpuBars: Bar[] = results.map((r) => ({
    label: r.label,
    value: r.cpuUsPerRequest.median,
    lo: r.cpuUsPerRequest.min,
    hi: r.cpuUsPerRequest.max,
    group: group(r),
    text: `${r.cpuUsPerRequest.median.toFixed(1)} µs`,
  }));
  const best = results.filter((r) => r.kind === 'lb').sort((x, y) => y.rps.median - x.rps.median)[0];
  const fmt = (s: Stat, d = 0) => (s.n > 1 ? `${s.median.toFixed(d)} (${s.min.toFixed(d)}–${s.max.toFixed(d)})` : s.median.toFixed(d));
  return {
    summary: [
      direct ? `Direct to both backends: ${k(direct.rps.median)} req/s.` : 'Direct: not measured.',
      best && direct
        ? `Best through xdp-lb: ${best.label}, ${k(best.rps.median)} req/s = ${(best.rps.median / direct.rps.median).toFixed(2)}x direct${nft ? `, ${(best.rps.median / nft.rps.median).toFixed(2)}x nftables` : ''}${ha ? `, ${(best.rps.median / ha.rps.median).toFixed(2)}x HAProxy` : ''}.`
        : '',
      bare && dsrNative
        ? `Against the bare XDP forwarder in the LB's place (native, dsr, ${k(bare.rps.median)} req/s): xdp-lb hash dsr ${(dsrNative.rps.median / bare.rps.median).toFixed(2)}x.`
        : '',
      nft && direct
        ? `nftables DNAT + masquerade: ${(nft.rps.median / direct.rps.median).toFixed(2)}x direct; HAProxy: ${ha ? (ha.rps.median / direct.rps.median).toFixed(2) : '—'}x direct.`
        : '',
    ].filter(Boolean),
    method: [
      `The tutorial's lab: client1, lb and http1-2 on one bridge (veths, TX checksum offload off). Each backend runs nginx with one worker process answering \`GET /\` with a short body (keep-alive). wrk -t2 -c100 -d${seconds}s from client1 (direct: two wrk of -t1 -c50, one per backend).`,
      "xdp-lb: deployed by core on lb:eth0 (conntrack 65536 entries); nat = one-arm full NAT with the LB's address as SNAT address; dsr = backends hold the VIP on lo. nftables: prerouting DNAT to the backends (numgen round-robin) + postrouting masquerade on the LB host, kernel forwarding and conntrack. HAProxy 2.6: mode tcp, roundrobin, default threads. No ICMP redirects from the LB host.",
      "Bare XDP forwarder: xdp_bare (packages/bench/bpf/bench.bpf.c) on lb:eth0 in the LB's place: TCP to the VIP goes to one of the two backends by source address and port, no state, only the MACs rewritten (XDP_TX), as dsr does. It is the ceiling of an XDP forwarder on this topology.",
      "Why nat and dsr give about the same req/s here: the run is bound by the client (wrk) and the two one-worker nginx backends, which share the machine's cores with the LB: each request costs tens of µs of their CPU (see CPU µs/request), the LB's XDP program well under 1 µs per packet. dsr's replies bypass the LB, which saves the LB's share of the work, a few percent of the total, so the difference stays within the rounds' spread; it shows where the LB's core is the bottleneck (packet-rate).",
      `${rounds} rounds; each round runs every case once, in a new order (set up, measure, tear down). Medians reported, min–max as spread. Latency percentiles are wrk's (per round, then the median of the rounds; direct: the mean of the two wrk's p50 and the larger p99).`,
      `CPU per request: the whole machine's busy CPU time (/proc/stat: user, system, irq, softirq; ${ctx.machine.cores} cores) during the run, divided by the requests served: client, backends and LB together. Other work on the machine is included too (load ${ctx.machine.loadStart.toFixed(2)} at the start).`,
    ],
    tables: [
      {
        title: 'HTTP through each setup (median of the rounds, min–max)',
        headers: ['setup', 'req/s', 'x direct', 'p50 ms', 'p99 ms', 'CPU µs/request', 'errors', 'LB reason counters (last round)'],
        rows: results.map((r) => [
          r.label,
          fmt(r.rps),
          direct ? (r.rps.median / direct.rps.median).toFixed(2) : '—',
          fmt(r.p50Ms, 2),
          fmt(r.p99Ms, 2),
          fmt(r.cpuUsPerRequest, 1),
          r.errors,
          r.reasons ?? '—',
        ]),
      },
    ],
    charts: [
      {
        kind: 'bar',
        file: 'e2e-rps.svg',
        title: 'HTTP requests per second: xdp-lb vs direct, nftables and HAProxy (wrk -t2 -c100)',
        unit: `requests per second (median of ${rounds} interleaved rounds of ${seconds} s; whiskers min–max)`,
        bars,
        ...(direct ? { refs: [{ value: 0.85 * direct.rps.median, label: 'target 0.85x direct' }] } : {}),
        spread: `median of ${rounds} interleaved rounds of ${seconds} s each; whiskers min–max`,
      },
      {
        kind: 'bar',
        file: 'e2e-cpu.svg',
        title: 'CPU time per HTTP request, whole machine (client, backends, LB)',
        unit: `µs of CPU per request (median of ${rounds} rounds; whiskers min–max)`,
        bars: cpuBars,
        spread: `median of ${rounds} interleaved rounds; busy time from /proc/stat over requests served`,
      },
    ],
    headlines,
    data: { rounds, seconds, results },
    warnings,
  };
}
