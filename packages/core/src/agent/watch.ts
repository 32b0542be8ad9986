import { type FSWatcher, statSync, watch } from 'node:fs';
import { basename, dirname } from 'node:path';

/**
 * Calls `onChange` (debounced) when a file may have changed: inotify on its directory (editors and
 * config managers replace files by rename, which a watch on the file itself would lose), backed by
 * a stat poll for the cases inotify misses (network file systems, a directory replaced whole).
 * It only says "look again": the agent compares contents before it reloads anything.
 */
export class FileWatcher {
  private watcher: FSWatcher | undefined;
  private poll: NodeJS.Timeout | undefined;
  private debounce: NodeJS.Timeout | undefined;
  private lastStat = '';

  constructor(
    private readonly file: string,
    private readonly onChange: () => void,
    private readonly options: { debounceMs?: number; pollMs?: number } = {},
  ) {}

  start(): void {
    this.lastStat = this.statKey();
    const name = basename(this.file);
    try {
      this.watcher = watch(dirname(this.file), { persistent: false }, (_event, changed) => {
        if (changed === null || changed === name) this.fire();
      });
      this.watcher.on('error', () => undefined);
    } catch {
      // No inotify (or the directory is gone): the poll still works.
    }
    this.poll = setInterval(() => {
      const k = this.statKey();
      if (k !== this.lastStat) {
        this.lastStat = k;
        this.fire();
      }
    }, this.options.pollMs ?? 1000);
    this.poll.unref?.();
  }

  stop(): void {
    this.watcher?.close();
    this.watcher = undefined;
    clearInterval(this.poll);
    clearTimeout(this.debounce);
  }

  private fire(): void {
    clearTimeout(this.debounce);
    this.debounce = setTimeout(() => {
      this.lastStat = this.statKey();
      this.onChange();
    }, this.options.debounceMs ?? 150);
    this.debounce.unref?.();
  }

  private statKey(): string {
    try {
      const s = statSync(this.file);
      return `${s.ino}:${s.size}:${s.mtimeMs}`;
    } catch {
      return 'missing';
    }
  }
}
