/**
 * The test-run bed: a lab with one host, `lb` (198.18.0.2 and the VIP on eth0, forwarding on), in
 * which benchmarks deploy the load balancer (generic mode, on a veth nobody sends to) and feed its
 * program frames with BPF_PROG_TEST_RUN, ingress = that veth. Backends are only neighbour
 * entries (permanent, with MACs that name them: 02:be:00:00:00:<last octet in hex>), so the data
 * plane's FIB lookups resolve them and a forwarded frame's destination MAC says which backend
 * the data plane chose.
 */
import { Abi, parseIp } from '@xdp-lb/core';
import { type BpfProgram, ifNameToIndex, inNetns, type TestRunResult, xdpMd } from '@xdp-lb/native';
import { buildFrame, Lab, type LabHost } from '@xdp-lb/netlab';

export const VIP = '198.18.0.10';
export const LB_ADDR = '198.18.0.2';
export const CLIENT_MAC = '02:00:c6:13:00:01';

export interface BackendHost {
  ip: string;
  mac: string;
}

/** Backend i (0-based): 198.18.0.(11+i), MAC 02:be:00:00:00:(11+i). At most 89. */
export function backendHost(i: number): BackendHost {
  const last = 11 + i;
  if (i < 0 || last > 99) throw new RangeError(`backend index ${i} out of range`);
  return { ip: `198.18.0.${last}`, mac: `02:be:00:00:00:${last.toString(16).padStart(2, '0')}` };
}

/** The backend a frame was sent to, from its destination MAC (-1: not one of ours). */
export function backendIndexOf(frame: Uint8Array): number {
  if (frame[0] !== 0x02 || frame[1] !== 0xbe) return -1;
  return frame[5]! - 11;
}

/** Synthetic client i: 198.19.a.b (i's low 16 bits), source port 1024 + (i >> 16). */
export function client(i: number): { src: string; sport: number } {
  return { src: `198.19.${(i >>> 8) & 255}.${i & 255}`, sport: 1024 + (i >>> 16) };
}

export interface TcpFrameSpec {
  smac?: string;
  dmac: string;
  src: string;
  dst?: string;
  sport: number;
  dport: number;
  /** TCP flags in netlab's letters (default 'A': an ACK). */
  flags?: string;
}

/** A 64-byte TCP frame, an ACK unless `flags` says otherwise (netlab's builder, checksums correct). */
export function tcpFrame(o: TcpFrameSpec): Buffer {
  const flags = o.flags ?? 'A';
  return buildFrame({
    eth: { src: o.smac ?? CLIENT_MAC, dst: o.dmac },
    ipv4: { src: o.src, dst: o.dst ?? VIP, ttl: 64 },
    tcp: { sport: o.sport, dport: o.dport, flags, seq: 1, ack: flags.includes('A') ? 1 : 0 },
    payload: Buffer.alloc(10, 0x61),
  });
}

/** struct lb_flow of a client's TCP flow to the VIP (core's codec). */
export function flowKey(src: string, sport: number, dport: number): Buffer {
  return Abi.encodeFlow({ src: parseIp(src)!, dst: parseIp(VIP)!, sport, dport, proto: Abi.IPPROTO_TCP });
}

export class TestBed {
  private constructor(
    readonly lab: Lab,
    readonly host: LabHost,
    readonly ifindex: number,
  ) {}

  /** Builds the lab and the neighbour entries of `backends` backends. */
  static async up(backends: number): Promise<TestBed> {
    const lab = await Lab.up({ hosts: [{ name: 'lb', ipv4: [`${LB_ADDR}/24`, `${VIP}/32`], forwarding: true }] }, { prefix: 'xlbb' });
    try {
      const host = lab.host('lb');
      const bed = new TestBed(
        lab,
        host,
        inNetns(host.netns.path, () => ifNameToIndex('eth0')),
      );
      await bed.addBackends(0, backends);
      return bed;
    } catch (e) {
      await lab.destroy();
      throw e;
    }
  }

  /** Neighbour entries for backends [from, from + count). */
  async addBackends(from: number, count: number): Promise<void> {
    const lines = Array.from({ length: count }, (_, i) => backendHost(from + i)).map(
      (b) => `neigh replace ${b.ip} lladdr ${b.mac} dev eth0 nud permanent`,
    );
    if (lines.length) await this.host.exec(['ip', '-batch', '-'], { input: lines.join('\n') });
  }

  get nsPath(): string {
    return this.host.netns.path;
  }

  /** The LB's MAC (destination of client frames). */
  get mac(): string {
    return this.host.mac!;
  }

  /** The XDP context of a frame of `length` bytes arriving on eth0. */
  ctx(length: number): Buffer {
    return xdpMd({ packetLength: length, ingressIfindex: this.ifindex });
  }

  /** Runs `fn` inside the namespace (testRun resolves the ingress ifindex there). Synchronous. */
  inside<T>(fn: () => T): T {
    return inNetns(this.nsPath, fn);
  }

  /** One run of `frame` (call inside `inside`). */
  run(prog: BpfProgram, frame: Buffer): TestRunResult {
    return prog.testRun({ data: frame, ctx: this.ctx(frame.length) });
  }

  destroy(): Promise<void> {
    return this.lab.destroy();
  }
}
