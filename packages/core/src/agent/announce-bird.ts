import { createConnection } from 'node:net';
import type { AnnounceDriver } from './announce.js';

/** One reply of BIRD's control socket: its lines (code and text) and whether it is an error. */
export interface BirdReply {
  /** The code of the reply's last line ("0000" for a plain OK). */
  code: number;
  lines: { code: number; text: string }[];
  /** 8xxx (run-time error) or 9xxx (parse error). */
  error: boolean;
}

/**
 * A minimal client of BIRD 2's control socket (what `birdc` speaks): connect, read the greeting
 * (`0001 BIRD 2.x ready.`), then for each command one reply of lines `CODE-text` (more follow),
 * ` text` (continues the previous code) and `CODE text` (the last line). A connection per call:
 * BIRD may restart between two calls, and a call is a few hundred microseconds.
 */
export async function birdCommands(socket: string, commands: readonly string[], timeoutMs = 3000): Promise<BirdReply[]> {
  return new Promise<BirdReply[]>((resolve, reject) => {
    const conn = createConnection(socket);
    const replies: BirdReply[] = [];
    let buf = '';
    let current: BirdReply['lines'] = [];
    let greeted = false;
    let lastCode = 0;
    const timer = setTimeout(() => fail(new Error(`BIRD control socket ${socket}: no answer in ${timeoutMs} ms`)), timeoutMs);
    const done = (v: BirdReply[]) => {
      clearTimeout(timer);
      conn.destroy();
      resolve(v);
    };
    const fail = (e: Error) => {
      clearTimeout(timer);
      conn.destroy();
      reject(e);
    };
    const sendNext = () => {
      const cmd = commands[replies.length];
      if (cmd === undefined) return done(replies);
      current = [];
      conn.write(`${cmd}\n`);
    };
    conn.setEncoding('utf8');
    conn.on('error', (e: NodeJS.ErrnoException) =>
      fail(
        new Error(
          `BIRD control socket ${socket}: ${e.code === 'ENOENT' || e.code === 'ECONNREFUSED' ? 'BIRD is not running (no socket)' : e.message}`,
        ),
      ),
    );
    conn.on('close', () => fail(new Error(`BIRD control socket ${socket}: closed by BIRD`)));
    conn.on('data', (chunk: string) => {
      buf += chunk;
      for (let nl = buf.indexOf('\n'); nl >= 0; nl = buf.indexOf('\n')) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        const m = /^(\d{4})([ -])(.*)$/.exec(line);
        const code = m ? Number(m[1]) : lastCode;
        const text = m ? m[3]! : line.replace(/^ /, '');
        lastCode = code;
        if (!greeted) {
          if (m && m[2] === ' ') {
            greeted = true;
            if (code !== 1) return fail(new Error(`BIRD control socket ${socket}: unexpected greeting "${line}"`));
            sendNext();
          }
          continue;
        }
        current.push({ code, text });
        if (m && m[2] === ' ') {
          replies.push({ code, lines: current, error: code >= 8000 });
          sendNext();
        }
      }
    });
  });
}

/** Text of a reply, for logs and errors. */
export const birdText = (r: BirdReply): string =>
  r.lines
    .map((l) => l.text.trim())
    .filter(Boolean)
    .join('; ');

/** Whether a protocol is up, from `show protocols NAME` (undefined when BIRD does not list it). */
export function birdProtocolState(r: BirdReply, protocol: string): string | undefined {
  for (const l of r.lines) {
    const cols = l.text.trim().split(/\s+/);
    if (l.code === 1002 && cols[0] === protocol) return cols[3];
  }
  return undefined;
}

/**
 * Announces through BIRD 2: `enable PROTOCOL` / `disable PROTOCOL` on its control socket, where
 * PROTOCOL is a `protocol static` holding the VIP routes (`disabled yes` in bird.conf, so that a
 * BIRD that starts before the agent does not announce a node nobody has checked; see
 * deploy/bgp/). Idempotent ("already enabled" is fine), so it is re-asserted on every tick: a
 * restarted BIRD gets the node's state back within one interval.
 */
export class BirdDriver implements AnnounceDriver {
  readonly kind = 'bird';
  readonly reassert = true;

  constructor(
    readonly socket: string,
    readonly protocol: string,
  ) {}

  describe(): string {
    return `bird protocol ${this.protocol} via ${this.socket}`;
  }

  async up(): Promise<string> {
    return this.set('enable');
  }

  async down(): Promise<string> {
    return this.set('disable');
  }

  private async set(verb: 'enable' | 'disable'): Promise<string> {
    const [r, show] = await birdCommands(this.socket, [`${verb} ${this.protocol}`, `show protocols ${this.protocol}`]);
    if (r!.error) {
      const unknown = r!.code === 9001 && /CF_SYM_UNDEFINED/.test(birdText(r!));
      throw new Error(
        unknown
          ? `BIRD has no protocol "${this.protocol}" (announce.bird.protocol must name a protocol of bird.conf)`
          : `BIRD: ${verb} ${this.protocol}: ${birdText(r!)}`,
      );
    }
    const state = birdProtocolState(show!, this.protocol);
    const want = verb === 'enable' ? 'up' : 'down';
    // A static protocol is up at once; another kind (bgp) may be on its way ("start").
    if (state !== undefined && verb === 'disable' && state !== want) throw new Error(`BIRD: ${this.protocol} is ${state} after disable`);
    return `${birdText(r!)} (${state ?? 'state unknown'})`;
  }
}
