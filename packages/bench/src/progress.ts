/**
 * The progress bar: one line on stderr, redrawn in place, only when stderr is a terminal. Each
 * benchmark weighs what it is expected to take; inside it, the benchmark reports its own fraction.
 */
export interface ProgressSink {
  update(fraction: number, label: string): void;
  /** A message above the bar (the bar is redrawn under it). */
  log(message: string): void;
  done(): void;
}

function clock(s: number): string {
  const m = Math.floor(s / 60);
  return `${m}:${String(Math.floor(s % 60)).padStart(2, '0')}`;
}

/** The bar text: `[#####.....]  45%  1:12  per-packet: hash round 2/7`, fitted to `columns`. */
export function progressLine(fraction: number, label: string, elapsedS: number, columns = 100): string {
  const f = Math.max(0, Math.min(1, fraction));
  const width = 24;
  const filled = Math.round(f * width);
  const head = `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${String(Math.floor(f * 100)).padStart(3)}% ${clock(elapsedS)} `;
  const room = Math.max(0, columns - head.length - 1);
  return head + (label.length > room ? `${label.slice(0, Math.max(0, room - 1))}…` : label);
}

/** A bar on `stream` when it is a TTY; otherwise progress is silent and log lines are plain. */
export function ttyProgress(stream: NodeJS.WriteStream = process.stderr): ProgressSink {
  const start = Date.now();
  const tty = Boolean(stream.isTTY);
  let last = '';
  let lastDraw = 0;
  const draw = (line: string) => {
    stream.write(`\r\x1b[2K${line}`);
    last = line;
  };
  return {
    update(fraction, label) {
      if (!tty) return;
      const now = Date.now();
      if (now - lastDraw < 100 && fraction < 1) return;
      lastDraw = now;
      draw(progressLine(fraction, label, (now - start) / 1000, stream.columns || 100));
    },
    log(message) {
      if (tty && last) stream.write('\r\x1b[2K');
      stream.write(`${message}\n`);
      if (tty && last) stream.write(last);
    },
    done() {
      if (tty && last) stream.write('\r\x1b[2K');
      last = '';
    },
  };
}

/** No output at all (library use, tests). */
export const silentProgress: ProgressSink = { update: () => undefined, log: () => undefined, done: () => undefined };
