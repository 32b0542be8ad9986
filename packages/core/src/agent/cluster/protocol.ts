import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * The wire format of cluster flow sync (docs/operations.md, "Flow sync between LB nodes"): UDP
 * datagrams between the agents of the LB nodes, each authenticated with HMAC-SHA256 under the
 * cluster's shared key, so nothing on the network can inject, alter or replay flows.
 *
 *   header (24 bytes, big-endian)   magic "XLBS" | version 1 | type | 0 (2) | sender (4) | epoch (4) | seq (8)
 *   payload                         by type (below)
 *   hmac (32 bytes)                 HMAC-SHA256(key, header | payload)
 *
 * `sender` names a node (a hash of its sync address); `epoch` counts the sender's starts (kept in
 * its state directory), `seq` its datagrams to this receiver within one epoch (a sequence per
 * receiver: a gap is a loss). Replays are refused by (epoch, seq):
 * a receiver takes a higher epoch (the sender restarted), and within an epoch each seq once, in a
 * window of the last 1024 (ReplayWindow). No wall clock anywhere: skew between nodes is harmless.
 */
export const MAGIC = 0x584c4253; // "XLBS"
export const VERSION = 1;
export const HEADER = 24;
export const MAC = 32;
/** One flow on the wire: the tuple, open or closing, and its backend by address (ids are per node). */
export const RECORD = 56;
/** Datagrams stay below a 1500-byte MTU with IPv6 and UDP headers. */
export const MAX_DATAGRAM = 1400;
export const MAX_RECORDS = Math.floor((MAX_DATAGRAM - HEADER - MAC - 4) / RECORD);

export const MsgType = {
  /** Live records (new flows, refreshes, closes). payload: records */
  Flows: 1,
  /** A starting node asks for every live flow. payload: request id (4) */
  Pull: 2,
  /** The answer to a pull. payload: request id (4) | records */
  PullFlows: 3,
  /** The end of the answer. payload: request id (4) | records sent in all (4) */
  PullEnd: 4,
} as const;
export type MsgType = (typeof MsgType)[keyof typeof MsgType];

export const KIND_OPEN = 1;
export const KIND_CLOSING = 2;

/** One flow as the wire carries it: 16-byte lb_addr forms, ports in host order. */
export interface WireFlow {
  /** struct lb_flow's first 37 bytes (src, dst, sport, dport, proto), as the data plane keys it. */
  tuple: Buffer;
  kind: number;
  /** The backend's 16-byte lb_addr and port: the same on every node, unlike its id. */
  backendAddr: Buffer;
  backendPort: number;
}

export interface Message {
  type: MsgType;
  sender: number;
  epoch: number;
  seq: bigint;
  requestId?: number;
  total?: number;
  flows: WireFlow[];
}

export function encodeFlowRecord(f: WireFlow, out: Buffer, at: number): void {
  f.tuple.copy(out, at, 0, 37);
  out.writeUInt8(f.kind, at + 37);
  f.backendAddr.copy(out, at + 38, 0, 16);
  out.writeUInt16BE(f.backendPort, at + 54);
}

export function decodeFlowRecord(b: Buffer, at: number): WireFlow {
  return {
    tuple: Buffer.from(b.subarray(at, at + 37)),
    kind: b.readUInt8(at + 37),
    backendAddr: Buffer.from(b.subarray(at + 38, at + 54)),
    backendPort: b.readUInt16BE(at + 54),
  };
}

function mac(key: Buffer, data: Buffer): Buffer {
  return createHmac('sha256', key).update(data).digest();
}

/** One datagram, signed. At most MAX_RECORDS flows. */
export function encode(key: Buffer, m: Message): Buffer {
  if (m.flows.length > MAX_RECORDS) throw new RangeError(`${m.flows.length} records in one datagram (at most ${MAX_RECORDS})`);
  const extra = m.type === MsgType.Flows ? 0 : m.type === MsgType.PullEnd ? 8 : 4;
  const body = Buffer.alloc(HEADER + extra + m.flows.length * RECORD);
  body.writeUInt32BE(MAGIC, 0);
  body.writeUInt8(VERSION, 4);
  body.writeUInt8(m.type, 5);
  body.writeUInt32BE(m.sender >>> 0, 8);
  body.writeUInt32BE(m.epoch >>> 0, 12);
  body.writeBigUInt64BE(m.seq, 16);
  if (extra) body.writeUInt32BE((m.requestId ?? 0) >>> 0, HEADER);
  if (m.type === MsgType.PullEnd) body.writeUInt32BE((m.total ?? 0) >>> 0, HEADER + 4);
  m.flows.forEach((f, i) => encodeFlowRecord(f, body, HEADER + extra + i * RECORD));
  return Buffer.concat([body, mac(key, body)]);
}

export type DecodeError = 'malformed' | 'forged';

/**
 * A datagram back into a message: 'forged' when its HMAC does not verify under `key` (wrong key,
 * altered, or not ours at all), 'malformed' when it cannot be one of ours. The HMAC is checked
 * first, so nothing of an unauthenticated datagram is parsed.
 */
export function decode(key: Buffer, d: Buffer): Message | DecodeError {
  if (d.length < HEADER + MAC) return 'malformed';
  const body = d.subarray(0, d.length - MAC);
  const got = d.subarray(d.length - MAC);
  if (!timingSafeEqual(mac(key, body), got)) return 'forged';
  if (body.readUInt32BE(0) !== MAGIC || body.readUInt8(4) !== VERSION) return 'malformed';
  const type = body.readUInt8(5) as MsgType;
  const extra = type === MsgType.Flows ? 0 : type === MsgType.PullEnd ? 8 : type === MsgType.Pull || type === MsgType.PullFlows ? 4 : -1;
  if (extra < 0 || (body.length - HEADER - extra) % RECORD !== 0 || body.length < HEADER + extra) return 'malformed';
  const flows: WireFlow[] = [];
  for (let at = HEADER + extra; at < body.length; at += RECORD) flows.push(decodeFlowRecord(body, at));
  return {
    type,
    sender: body.readUInt32BE(8),
    epoch: body.readUInt32BE(12),
    seq: body.readBigUInt64BE(16),
    ...(extra ? { requestId: body.readUInt32BE(HEADER) } : {}),
    ...(type === MsgType.PullEnd ? { total: body.readUInt32BE(HEADER + 4) } : {}),
    flows,
  };
}

/** A node's id on the wire: FNV-1a of its sync address ("198.18.0.2:7946"). */
export function senderId(address: string): number {
  let h = 0x811c9dc5;
  for (const c of Buffer.from(address)) h = Math.imul(h ^ c, 0x01000193) >>> 0;
  return h;
}

/** Datagrams a receiver still accepts out of order behind the newest it has seen. */
export const WINDOW = 1024n;

/**
 * Per sender: accepts each (epoch, seq) at most once. A higher epoch (the sender restarted)
 * starts over; a lower one is a replay. Within the epoch, a seq more than WINDOW behind the newest
 * is refused too (it may have been accepted once: the window no longer says).
 */
export class ReplayWindow {
  private epoch = -1;
  private top = 0n;
  private seen = new Set<bigint>();
  /** Datagrams missing so far (gaps in seq not filled later): lost on the way, or sent before we listened. */
  lost = 0;

  accept(epoch: number, seq: bigint): boolean {
    if (epoch < this.epoch) return false;
    if (epoch > this.epoch) {
      // The first datagram of an epoch we see: earlier ones of it were sent before we listened.
      this.epoch = epoch;
      this.top = seq - 1n;
      this.seen.clear();
    }
    if (seq + WINDOW <= this.top || this.seen.has(seq)) return false;
    this.seen.add(seq);
    if (seq <= this.top) this.lost = Math.max(0, this.lost - 1);
    else {
      this.lost += Number(seq - this.top - 1n);
      this.top = seq;
      for (const s of this.seen) if (s + WINDOW <= this.top) this.seen.delete(s);
    }
    return true;
  }
}
