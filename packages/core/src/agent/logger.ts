/**
 * The agent's structured log: one JSON object per line for machines (journald, log shippers), or
 * one aligned line of text for a person at a terminal. Fields are flat key/values; an Error value
 * is logged as its message.
 */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
export type LogFormat = 'json' | 'text';
export type LogFields = Record<string, unknown>;

export const LOG_LEVELS: readonly LogLevel[] = ['debug', 'info', 'warn', 'error'];
export const LOG_FORMATS: readonly LogFormat[] = ['json', 'text'];

export interface Logger {
  debug(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
  /** A logger that adds `fields` to every line. */
  child(fields: LogFields): Logger;
}

export interface LoggerOptions {
  /** Default: text when the output is a terminal, else json. */
  format?: LogFormat;
  /** Lines below this level are dropped. Default info. */
  level?: LogLevel;
  /** Where a finished line (without newline) goes. Default: stderr. */
  write?: (line: string) => void;
  /** Whether the output is a terminal (picks the default format). Default: stderr's isTTY. */
  tty?: boolean;
  /** Clock, for tests. */
  now?: () => Date;
}

export function createLogger(options: LoggerOptions = {}): Logger {
  const format = options.format ?? ((options.tty ?? process.stderr.isTTY) ? 'text' : 'json');
  const min = LOG_LEVELS.indexOf(options.level ?? 'info');
  const write = options.write ?? ((line: string) => process.stderr.write(`${line}\n`));
  const now = options.now ?? (() => new Date());
  const make = (base: LogFields): Logger => {
    const emit = (level: LogLevel, msg: string, fields: LogFields = {}) => {
      if (LOG_LEVELS.indexOf(level) < min) return;
      const all = { ...base, ...fields };
      write(format === 'json' ? jsonLine(now(), level, msg, all) : textLine(now(), level, msg, all));
    };
    return {
      debug: (m, f) => emit('debug', m, f),
      info: (m, f) => emit('info', m, f),
      warn: (m, f) => emit('warn', m, f),
      error: (m, f) => emit('error', m, f),
      child: (f) => make({ ...base, ...f }),
    };
  };
  return make({});
}

/** A logger that drops everything (library default). */
export const silentLogger: Logger = { debug() {}, info() {}, warn() {}, error() {}, child: () => silentLogger };

function plain(v: unknown): unknown {
  if (v instanceof Error) return v.message;
  if (typeof v === 'bigint') return Number(v);
  return v;
}

function jsonLine(time: Date, level: LogLevel, msg: string, fields: LogFields): string {
  const out: LogFields = { time: time.toISOString(), level, msg };
  for (const [k, v] of Object.entries(fields)) if (v !== undefined && !(k in out)) out[k] = plain(v);
  return JSON.stringify(out);
}

function textLine(time: Date, level: LogLevel, msg: string, fields: LogFields): string {
  const kv = Object.entries(fields)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => {
      const p = plain(v);
      const s = typeof p === 'string' ? p : JSON.stringify(p);
      return `${k}=${/[\s"=]/.test(s) || s === '' ? JSON.stringify(s) : s}`;
    });
  return [time.toISOString(), level.toUpperCase().padEnd(5), msg, ...kv].join(' ');
}
