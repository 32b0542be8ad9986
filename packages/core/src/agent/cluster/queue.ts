import { MAX_RECORDS } from './protocol.js';

/**
 * What waits to be sent to one peer: bounded in memory (`maxQueue` items: past it, new items are
 * refused and the caller counts them) and in rate (a token bucket of `perSec` items per second,
 * with at most a tenth of a second's worth saved up), handed out as batches of at most
 * MAX_RECORDS (one datagram each). Pure: the caller gives the time.
 */
export class PeerQueue<T> {
  private items: { item: T; at: number }[] = [];
  private tokens = 0;
  private last: number | undefined;

  constructor(
    private maxQueue: number,
    private perSec: number,
  ) {}

  /** New bounds (a reload); what is queued stays, even past a smaller maxQueue (it drains). */
  setBounds(maxQueue: number, perSec: number): void {
    this.maxQueue = maxQueue;
    this.perSec = perSec;
  }

  get length(): number {
    return this.items.length;
  }

  /** Age in ms of the oldest item at `now` (0: empty): the sync lag this peer sees. */
  lag(now: number): number {
    return this.items.length ? now - this.items[0]!.at : 0;
  }

  /** Queues `item` read at `now`; false (refused) when the queue is full. */
  push(item: T, now: number): boolean {
    if (this.items.length >= this.maxQueue) return false;
    this.items.push({ item, at: now });
    return true;
  }

  /** Adds the tokens earned since the last call. Returns how many items may be sent now. */
  refill(now: number): number {
    if (this.last !== undefined) this.tokens = Math.min(this.perSec / 10, this.tokens + ((now - this.last) / 1000) * this.perSec);
    this.last = now;
    return Math.floor(this.tokens);
  }

  /** Items that may still be sent now. */
  get available(): number {
    return Math.max(0, Math.floor(this.tokens));
  }

  /** Spends `n` tokens on something sent besides the queue (a pull's answer). */
  spend(n: number): void {
    this.tokens -= n;
  }

  /** The items the tokens allow, oldest first, in batches of at most MAX_RECORDS. */
  take(): T[][] {
    const n = Math.min(this.items.length, Math.floor(this.tokens));
    if (n <= 0) return [];
    this.tokens -= n;
    const out: T[][] = [];
    const taken = this.items.splice(0, n);
    for (let i = 0; i < taken.length; i += MAX_RECORDS) out.push(taken.slice(i, i + MAX_RECORDS).map((x) => x.item));
    return out;
  }
}
