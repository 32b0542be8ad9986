import { type ChildProcess, spawn } from 'node:child_process';

/**
 * The UDP socket of cluster sync, in a small child process inside the LB's network namespace
 * (`nsenter --net`, as the health checker: Node creates a socket on a later tick, so switching the
 * agent's own thread around a bind() would not work). The child only moves bytes; every check
 * (HMAC, replay, bounds) is the agent's. Frames on its stdin and stdout, both ways:
 *   length of the rest (u32 BE) | port (u16 BE) | address length (u8) | address (ASCII) | datagram
 * The child exits when its stdin closes, so it dies with the agent (even a SIGKILLed one).
 */
/** Frames one datagram for the relay (either direction; its source is also the relay's). */
function frame(address: string, port: number, data: Buffer): Buffer {
  const a = Buffer.from(address);
  const h = Buffer.alloc(7 + a.length);
  h.writeUInt32BE(3 + a.length + data.length, 0);
  h.writeUInt16BE(port, 4);
  h.writeUInt8(a.length, 6);
  a.copy(h, 7);
  return Buffer.concat([h, data]);
}

const RELAY = String.raw`
const dgram = require('node:dgram');
const [host, port] = [process.argv[1], Number(process.argv[2])];
const s = dgram.createSocket({ type: host.includes(':') ? 'udp6' : 'udp4' });
const frame = (addr, p, data) => process.stdout.write((${frame.toString()})(addr, p, data));
process.stdout.on('error', () => process.exit(0));
s.on('error', (e) => { process.stderr.write('sync socket: ' + e.message + '\n'); process.exit(1); });
s.on('message', (m, r) => frame(r.address, r.port, m));
s.bind(port, host, () => frame('ready', 0, Buffer.alloc(0)));
let buf = Buffer.alloc(0);
process.stdin.on('data', (d) => {
  buf = buf.length ? Buffer.concat([buf, d]) : d;
  while (buf.length >= 4 && buf.length >= 4 + buf.readUInt32BE(0)) {
    const n = buf.readUInt32BE(0);
    const p = buf.readUInt16BE(4), al = buf.readUInt8(6);
    const addr = buf.subarray(7, 7 + al).toString();
    s.send(buf.subarray(7 + al, 4 + n), p, addr, () => {});
    buf = buf.subarray(4 + n);
  }
});
process.stdin.on('end', () => process.exit(0));
`;

export type OnDatagram = (data: Buffer, from: { address: string; port: number }) => void;

export class UdpRelay {
  private child: ChildProcess | undefined;
  private buf: Buffer = Buffer.alloc(0);
  private closed = false;
  private stderr = '';

  /** `netnsPath`: /run/netns/NAME, or null for the agent's own namespace. */
  constructor(
    private readonly netnsPath: string | null,
    private readonly onDatagram: OnDatagram,
    private readonly onExit: (why: string) => void,
  ) {}

  /** Binds host:port in the namespace; resolves once the socket is bound. */
  start(host: string, port: number): Promise<void> {
    const node = [process.execPath, '-e', RELAY, host, String(port)];
    const argv = this.netnsPath ? ['nsenter', `--net=${this.netnsPath}`, '--', ...node] : node;
    const child = spawn(argv[0]!, argv.slice(1), { stdio: ['pipe', 'pipe', 'pipe'] });
    this.child = child;
    child.stdin?.on('error', () => undefined);
    child.stderr?.setEncoding('utf8').on('data', (d: string) => (this.stderr = (this.stderr + d).slice(-2000)));
    return new Promise((resolve, reject) => {
      let ready = false;
      child.stdout!.on('data', (d: Buffer) => {
        this.buf = this.buf.length ? Buffer.concat([this.buf, d]) : d;
        while (this.buf.length >= 4 && this.buf.length >= 4 + this.buf.readUInt32BE(0)) {
          const n = this.buf.readUInt32BE(0);
          const p = this.buf.readUInt16BE(4);
          const al = this.buf.readUInt8(6);
          const address = this.buf.subarray(7, 7 + al).toString();
          const data = Buffer.from(this.buf.subarray(7 + al, 4 + n));
          this.buf = this.buf.subarray(4 + n);
          if (!ready && p === 0 && address === 'ready') {
            ready = true;
            resolve();
          } else if (ready) this.onDatagram(data, { address, port: p });
        }
      });
      child.on('error', (e) => reject(e));
      child.on('exit', (code, signal) => {
        const why = `${signal ?? `code ${code}`}${this.stderr.trim() ? `: ${this.stderr.trim().split('\n').pop()}` : ''}`;
        if (!ready) reject(new Error(`cluster sync socket ${host}:${port}: ${why}`));
        else if (!this.closed) this.onExit(why);
        this.child = undefined;
      });
    });
  }

  send(address: string, port: number, data: Buffer): void {
    this.child?.stdin?.write(frame(address, port, data));
  }

  close(): void {
    this.closed = true;
    this.child?.stdin?.end();
    this.child?.kill('SIGKILL');
    this.child = undefined;
  }
}
