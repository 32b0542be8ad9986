import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomInt } from 'node:crypto';
import type { ClusterConfig, SyncEndpoint } from '../../config/cluster.js';
import type { LbConfig } from '../../config/types.js';
import { type FlowSyncRing, openFlowSyncRing } from '../../dataplane/flowsync.js';
import { instancePaths } from '../../state/paths.js';
import type { Logger } from '../logger.js';
import { familyLines, type Labels } from '../metrics.js';
import { FlowTable, type InsertResult, monotonicNs } from './flows.js';
import { decode, encode, MAX_RECORDS, type Message, MsgType, ReplayWindow, senderId, type WireFlow } from './protocol.js';
import { PeerQueue } from './queue.js';
import { UdpRelay } from './transport.js';

interface Peer {
  endpoint: SyncEndpoint;
  id: number;
  /** Live records waiting for it (bounded, rate-limited, batched). */
  queue: PeerQueue<WireFlow>;
  /** A pull it asked for: the flows still to send, then the end. */
  answer?: { requestId: number; flows: WireFlow[]; next: number };
  /** Our pull from it. */
  pull: { requestId: number; got: number; total?: number; done: boolean; lastHeard: number; sentAt: number };
  window: ReplayWindow;
  /** Our datagrams to it so far: its own sequence, so that a gap it sees is a loss. */
  seq: bigint;
}

type Counter = Record<string, number>;

/** What /healthz and Agent.status() say of cluster sync. */
export interface ClusterStatus {
  listen: string;
  epoch: number;
  /** The pull at start is over: the node may be announced. */
  ready: boolean;
  readyAfterMs: number | undefined;
  /** Per peer: records waiting for it, the oldest one's age, flows pulled from it, its datagrams that never arrived. */
  peers: { peer: string; queued: number; lagMs: number; pulled: number | undefined; lost: number }[];
  messages: Counter;
  records: Counter;
  dropped: Counter;
  rejected: Counter;
  entries: Counter;
}
const bump = (c: Counter, k: string, n = 1) => (c[k] = (c[k] ?? 0) + n);

/**
 * Cluster flow sync of one agent (docs/operations.md, "Flow sync between LB nodes"): reads the
 * data plane's flow records (lb_flowsync), batches them to every peer over authenticated UDP, puts
 * the peers' flows into this node's conntrack (never over a live entry of its own), and, when it
 * starts, pulls every live flow from its peers before it lets the node be announced (ready()).
 * Bounded everywhere: the ring (the data plane drops and counts what does not fit), each peer's
 * queue (maxQueue records; the newest are dropped and counted), the send rate (maxRecordsPerSec per
 * peer), datagrams of at most MAX_DATAGRAM bytes.
 */
export class ClusterSync {
  private relay: UdpRelay | undefined;
  private ring: FlowSyncRing | undefined;
  private readonly flows: FlowTable;
  private peers: Peer[] = [];
  private key: Buffer = Buffer.alloc(0);
  private self = 0;
  private epoch = 0;
  private timer: NodeJS.Timeout | undefined;
  private startedAt = 0;
  private readyAt: number | undefined;
  private readyWhy = '';
  private cfg!: ClusterConfig;
  readonly counters = {
    messages: {} as Counter, // sent / received
    records: {} as Counter, // sent / received / read (from the ring)
    dropped: {} as Counter, // queue / unknown-backend / send
    rejected: {} as Counter, // forged / replay / malformed / unknown-sender
    entries: {} as Counter, // InsertResult
  };

  constructor(
    private readonly instance: string,
    private readonly netnsPath: string | null,
    private readonly log: Logger,
  ) {
    this.flows = new FlowTable(instance);
  }

  /** Binds the socket, opens the ring and asks every peer for its flows. */
  async start(lbcfg: LbConfig): Promise<void> {
    const cfg = lbcfg.cluster!;
    this.configure(lbcfg);
    this.self = senderId(cfg.listen.text);
    this.epoch = nextEpoch(this.instance);
    this.startedAt = Date.now();
    this.relay = new UdpRelay(
      this.netnsPath,
      (d, from) => this.onDatagram(d, from),
      (why) => this.log.error('cluster sync socket exited', { why }),
    );
    await this.relay.start(cfg.listen.address.text, cfg.listen.port);
    this.timer = setInterval(() => this.tick(), cfg.flushMs);
    for (const p of this.peers) this.askPull(p);
    if (cfg.pullTimeoutMs === 0) this.setReady('pullTimeoutMs is 0');
    this.log.info('cluster sync started', {
      listen: cfg.listen.text,
      peers: this.peers.map((p) => p.endpoint.text).join(','),
      epoch: this.epoch,
    });
  }

  /** After every apply: the ids may have changed, a re-deploy may have replaced the maps. */
  configure(lbcfg: LbConfig): void {
    const cfg = lbcfg.cluster!;
    this.cfg = cfg;
    this.key = readKey(cfg);
    const old = new Map(this.peers.map((p) => [p.endpoint.text, p]));
    this.peers = cfg.peers.map((endpoint) => old.get(endpoint.text) ?? newPeer(endpoint, cfg));
    for (const p of this.peers) p.queue.setBounds(cfg.maxQueue, cfg.maxRecordsPerSec);
    this.flows.refresh(lbcfg);
    this.ring?.dispose();
    this.ring = openFlowSyncRing(instancePaths(this.instance).maps);
  }

  stop(): void {
    clearInterval(this.timer);
    this.relay?.close();
    this.ring?.dispose();
    this.ring = undefined;
    this.flows.close();
  }

  /** undefined once the node may be announced; else why not (the announcement waits for it). */
  waiting(): string | undefined {
    if (this.readyAt !== undefined) return undefined;
    return `pulling the live flows from the cluster's peers (${this.readyWhy || 'started'})`;
  }

  status(): ClusterStatus {
    return {
      listen: this.cfg.listen.text,
      epoch: this.epoch,
      ready: this.readyAt !== undefined,
      readyAfterMs: this.readyAt === undefined ? undefined : this.readyAt - this.startedAt,
      peers: this.peers.map((p) => ({
        peer: p.endpoint.text,
        queued: p.queue.length,
        lagMs: p.queue.lag(Date.now()),
        pulled: p.pull.done ? p.pull.got : undefined,
        lost: p.window.lost,
      })),
      ...this.counters,
    };
  }

  metricsText(): string {
    const lines: string[] = [];
    const family = (name: string, help: string, type: 'counter' | 'gauge', samples: [Labels, number][]) =>
      lines.push(...familyLines(name, type, help, samples));
    const rows = (c: Counter, label: string): [Labels, number][] => Object.entries(c).map(([k, v]) => [{ [label]: k }, v]);
    family('xdp_lb_cluster_messages_total', 'sync datagrams sent and accepted', 'counter', rows(this.counters.messages, 'direction'));
    family(
      'xdp_lb_cluster_records_total',
      'flow records read from the data plane, sent, received',
      'counter',
      rows(this.counters.records, 'direction'),
    );
    family(
      'xdp_lb_cluster_dropped_total',
      'flow records not sent (queue full, backend unknown)',
      'counter',
      rows(this.counters.dropped, 'reason'),
    );
    family(
      'xdp_lb_cluster_rejected_total',
      'datagrams refused (forged: wrong HMAC; replay; malformed; unknown sender)',
      'counter',
      rows(this.counters.rejected, 'reason'),
    );
    family(
      'xdp_lb_cluster_entries_total',
      'peer flows by what became of them in conntrack',
      'counter',
      rows(this.counters.entries, 'result'),
    );
    family(
      'xdp_lb_cluster_lost_messages',
      'datagrams of a peer that never arrived (gaps in its sequence numbers)',
      'gauge',
      this.peers.map((p) => [{ peer: p.endpoint.text }, p.window.lost]),
    );
    family(
      'xdp_lb_cluster_sync_lag_seconds',
      'age of the oldest flow record waiting for a peer',
      'gauge',
      this.peers.map((p) => [{ peer: p.endpoint.text }, p.queue.lag(Date.now()) / 1000]),
    );
    family(
      'xdp_lb_cluster_queue_records',
      'flow records waiting for a peer',
      'gauge',
      this.peers.map((p) => [{ peer: p.endpoint.text }, p.queue.length]),
    );
    family('xdp_lb_cluster_ready', '1 once the pull at start finished (or timed out): the node may be announced', 'gauge', [
      [{}, this.readyAt === undefined ? 0 : 1],
    ]);
    family(
      'xdp_lb_cluster_pull_seconds',
      'how long the pull at start took',
      'gauge',
      this.readyAt === undefined ? [] : [[{}, (this.readyAt - this.startedAt) / 1000]],
    );
    return `${lines.join('\n')}\n`;
  }

  // ---------------------------------------------------------------------------------------------

  private tick(): void {
    this.readRing();
    const now = performance.now();
    for (const p of this.peers) {
      p.queue.refill(now);
      this.flush(p);
      if (!p.pull.done && Date.now() - Math.max(p.pull.lastHeard, p.pull.sentAt) > 1000) this.askPull(p);
    }
    if (this.readyAt === undefined) {
      if (this.peers.every((p) => p.pull.done)) this.setReady('every peer answered');
      else if (Date.now() - this.startedAt >= this.cfg.pullTimeoutMs)
        this.setReady(
          `timed out after ${this.cfg.pullTimeoutMs} ms waiting for ${this.peers
            .filter((p) => !p.pull.done)
            .map((p) => p.endpoint.text)
            .join(', ')}`,
        );
    }
  }

  private setReady(why: string): void {
    this.readyAt = Date.now();
    this.readyWhy = why;
    const pulled = this.peers.reduce((n, p) => n + p.pull.got, 0);
    this.log.info('cluster sync ready: the node may be announced', { why, pulled, ms: this.readyAt - this.startedAt });
  }

  private readRing(): void {
    if (!this.ring) return;
    const at = Date.now();
    for (const rec of this.ring.consume(this.cfg.maxQueue)) {
      bump(this.counters.records, 'read');
      const flow = this.flows.fromRecord(rec);
      if (!flow) {
        bump(this.counters.dropped, 'unknown-backend');
        continue;
      }
      for (const p of this.peers) if (!p.queue.push(flow, at)) bump(this.counters.dropped, 'queue');
    }
  }

  /** Sends what the peer's tokens allow: live records first, then the pull it asked for. */
  private flush(p: Peer): void {
    for (const flows of p.queue.take()) this.send(p, { type: MsgType.Flows, flows });
    const a = p.answer;
    if (!a) return;
    const n = Math.min(a.flows.length - a.next, p.queue.available);
    for (let end = a.next + n; a.next < end; a.next += MAX_RECORDS) {
      this.send(p, { type: MsgType.PullFlows, requestId: a.requestId, flows: a.flows.slice(a.next, Math.min(end, a.next + MAX_RECORDS)) });
    }
    p.queue.spend(n);
    if (a.next >= a.flows.length) {
      this.send(p, { type: MsgType.PullEnd, requestId: a.requestId, total: a.flows.length, flows: [] });
      p.answer = undefined;
    }
  }

  private send(p: Peer, m: Omit<Message, 'sender' | 'epoch' | 'seq'>): void {
    p.seq += 1n;
    this.relay?.send(
      p.endpoint.address.text,
      p.endpoint.port,
      encode(this.key, { ...m, sender: this.self, epoch: this.epoch, seq: p.seq }),
    );
    bump(this.counters.messages, 'sent');
    bump(this.counters.records, 'sent', m.flows.length);
  }

  private askPull(p: Peer): void {
    p.pull = { requestId: randomInt(1, 0xffffffff), got: 0, done: false, lastHeard: 0, sentAt: Date.now() };
    this.send(p, { type: MsgType.Pull, requestId: p.pull.requestId, flows: [] });
  }

  private onDatagram(d: Buffer, from: { address: string; port: number }): void {
    const m = decode(this.key, d);
    if (m === 'forged' || m === 'malformed') {
      bump(this.counters.rejected, m);
      return;
    }
    const p = this.peers.find((x) => x.id === m.sender && x.endpoint.address.text === from.address);
    if (!p) {
      bump(this.counters.rejected, 'unknown-sender');
      return;
    }
    if (!p.window.accept(m.epoch, m.seq)) {
      bump(this.counters.rejected, 'replay');
      return;
    }
    bump(this.counters.messages, 'received');
    bump(this.counters.records, 'received', m.flows.length);
    switch (m.type) {
      case MsgType.Flows:
        this.insert(m.flows);
        break;
      case MsgType.Pull:
        void this.answerPull(p, m.requestId ?? 0);
        break;
      case MsgType.PullFlows:
        if (m.requestId !== p.pull.requestId) break;
        this.insert(m.flows);
        p.pull.got += m.flows.length;
        p.pull.lastHeard = Date.now();
        break;
      case MsgType.PullEnd:
        if (m.requestId !== p.pull.requestId || p.pull.done) break;
        p.pull.total = m.total;
        p.pull.done = true;
        if (m.total !== p.pull.got) bump(this.counters.dropped, 'pull-lost', Math.max(0, (m.total ?? 0) - p.pull.got));
        this.log.info('pulled the live flows of a peer', { peer: p.endpoint.text, flows: p.pull.got, sent: m.total });
        break;
    }
  }

  private insert(flows: readonly WireFlow[]): void {
    const now = monotonicNs();
    for (const f of flows) {
      let r: InsertResult | 'error';
      try {
        r = this.flows.insert(f, now);
      } catch {
        r = 'error';
      }
      bump(this.counters.entries, r);
    }
  }

  private async answerPull(p: Peer, requestId: number): Promise<void> {
    if (p.answer?.requestId === requestId) return;
    const flows = await this.flows.live(monotonicNs()).catch(() => []);
    p.answer = { requestId, flows, next: 0 };
  }
}

function newPeer(endpoint: SyncEndpoint, cfg: ClusterConfig): Peer {
  return {
    endpoint,
    id: senderId(endpoint.text),
    queue: new PeerQueue(cfg.maxQueue, cfg.maxRecordsPerSec),
    pull: { requestId: 0, got: 0, done: false, lastHeard: 0, sentAt: 0 },
    window: new ReplayWindow(),
    seq: 0n,
  };
}

/** The shared key (config key, or keyFile's first line); throws one line when it cannot be used. */
export function readKey(cfg: ClusterConfig): Buffer {
  if (cfg.key) return Buffer.from(cfg.key);
  let text: string;
  try {
    text = readFileSync(cfg.keyFile!, 'utf8').split('\n')[0]!.trim();
  } catch (e) {
    throw new Error(`cluster.keyFile ${cfg.keyFile}: cannot be read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  if (text.length < 32) throw new Error(`cluster.keyFile ${cfg.keyFile}: the key (its first line) must have at least 32 characters`);
  return Buffer.from(text);
}

/**
 * This node's start count (the `epoch` of its messages): one more than the last, kept in the
 * instance's state directory, and at least the seconds since 1970, so that a lost file (an
 * undeploy removes the directory) still gives a higher epoch than any before. Only this node's own
 * clock is compared with itself: skew between nodes does not matter.
 */
function nextEpoch(instance: string): number {
  const dir = instancePaths(instance).stateDir;
  const file = join(dir, 'cluster-epoch');
  const prev = existsSync(file) ? Number(readFileSync(file, 'utf8').trim()) || 0 : 0;
  const next = Math.max(prev + 1, Math.floor(Date.now() / 1000)) >>> 0;
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  writeFileSync(file, `${next}\n`, { mode: 0o600 });
  return next;
}
