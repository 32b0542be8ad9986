// Packet capture inside a host's namespace (lab-scripts/capture.py: an AF_PACKET socket, because
// there is no tcpdump here). Useful to check what actually went over a veth, e.g. that packets the
// LB rewrote arrive at a backend with correct checksums.
import { labScript } from '../lab/assets.js';
import type { NetnsLike } from '../netns/netns.js';
import type { LabProcess } from '../netns/process.js';

export interface CaptureOptions {
  /** Default `eth0`. */
  iface?: string;
  /** Default both. */
  direction?: 'in' | 'out' | 'both';
  /** Stop after this many frames (default: until `stop()`). */
  count?: number;
}

export interface CapturedFrame {
  /** Seconds since the epoch. */
  t: number;
  dir: 'in' | 'out';
  data: Buffer;
}

export class Capture {
  constructor(readonly process: LabProcess) {}

  /** Frames captured so far. */
  frames(): CapturedFrame[] {
    return this.process
      .lines()
      .filter((l) => l.includes('"hex"'))
      .map((l) => {
        const o = JSON.parse(l) as { t: number; dir: 'in' | 'out'; hex: string };
        return { t: o.t, dir: o.dir, data: Buffer.from(o.hex, 'hex') };
      });
  }

  /** Resolves once a captured frame satisfies `match` (all frames so far are considered). */
  async waitFor(match: (f: CapturedFrame) => boolean, timeoutMs = 10_000): Promise<CapturedFrame> {
    const found = (): CapturedFrame | undefined => this.frames().find(match);
    const now = found();
    if (now) return now;
    await this.process.waitForLine(() => found() !== undefined, { timeoutMs });
    return found() as CapturedFrame;
  }

  /** Stops capturing and returns every frame. */
  async stop(): Promise<CapturedFrame[]> {
    await this.process.kill('SIGTERM');
    return this.frames();
  }
}

/** Starts capturing on an interface of `host`; resolves once the socket is bound (nothing is missed after). */
export async function startCapture(host: NetnsLike, options: CaptureOptions = {}): Promise<Capture> {
  const iface = options.iface ?? 'eth0';
  const argv = ['python3', '-u', labScript('capture.py'), '--iface', iface, '--direction', options.direction ?? 'both'];
  if (options.count) argv.push('--count', String(options.count));
  const proc = host.spawn(argv, { label: `capture ${iface}` });
  try {
    await proc.waitForLine(/"event": ?"ready"/);
  } catch (e) {
    await proc.kill('SIGKILL');
    throw e;
  }
  return new Capture(proc);
}

export interface SendFramesOptions {
  /** Default `eth0`. */
  iface?: string;
  timeoutMs?: number;
}

/**
 * Sends raw frames, unchanged, out of an interface of `host` (lab-scripts/inject.py, AF_PACKET):
 * crafted or malformed packets cross a real veth. Returns the number sent.
 */
export async function sendFrames(host: NetnsLike, frames: readonly Uint8Array[], options: SendFramesOptions = {}): Promise<number> {
  const input = frames.map((f) => `${Buffer.from(f.buffer, f.byteOffset, f.byteLength).toString('hex')}\n`).join('');
  const r = await host.exec(['python3', labScript('inject.py'), '--iface', options.iface ?? 'eth0'], {
    input,
    timeoutMs: options.timeoutMs ?? 30_000,
  });
  return (JSON.parse(r.stdout.trim().split('\n').pop() ?? '{}') as { sent?: number }).sent ?? 0;
}
