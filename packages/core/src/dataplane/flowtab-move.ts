import { BpfMap } from '@xdp-lb/native';
import { type FlowTimeouts, ftSlotExpired, ftSlotToCt, readFtBuckets } from './flowtab.js';
import * as abi from './abi.js';

/**
 * A resize of the flow table (or turning it off): the live flows of the lb_ft4 pinned at `pin` go
 * into the new program's lb_ct (half-open ones into lb_ct_syn), where the data plane finds them
 * after its lb_ft4 miss. They are not rehashed into the new table's buckets: a bucket written from
 * userspace would race the data plane's per-bucket lock (bpf/lib/flowtab.h), and lb_ct is the
 * table the data plane already shares with userspace (peers' flows go there too).
 * Run before the program swap and again after it (the flows the old program made or refreshed
 * meanwhile): an entry already there is replaced only by a slot seen more recently, so neither
 * pass undoes what the new program wrote since. Expired slots are left behind.
 * Returns how many entries were written.
 */
export async function moveFlowTable(pin: string, ct: BpfMap, ctSyn: BpfMap, t: FlowTimeouts): Promise<number> {
  const from = BpfMap.fromPinned(pin);
  let buckets: Buffer[];
  try {
    buckets = await readFtBuckets(from);
  } finally {
    from.dispose();
  }
  // The coarse clock the data plane stamps with has CLOCK_MONOTONIC's base, which hrtime reads.
  const now = process.hrtime.bigint();
  let n = 0;
  for (const b of buckets)
    for (const s of abi.decodeFtBucket(b)) {
      if (ftSlotExpired(s, now, t)) continue;
      const { key, value, halfOpen } = ftSlotToCt(s, now);
      const into = halfOpen ? ctSyn : ct;
      const old = into.lookup(key) as Buffer | null;
      if (old && old.readBigUInt64LE(8) >= value.readBigUInt64LE(8)) continue;
      try {
        into.update(key, value);
        n++;
      } catch {
        /* an entry the table cannot take: its flow is re-balanced, as copyTable's */
      }
    }
  return n;
}
