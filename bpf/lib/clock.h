/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* clock.h - the data plane's clock: CLOCK_MONOTONIC_COARSE in ns, as bpf_ktime_get_coarse_ns()
 * returns it, without calling the helper on every packet.
 *
 * The coarse clock only moves when the timekeeping tick advances jiffies (update_wall_time() runs
 * right after jiffies_64 is incremented), and bpf_jiffies64() is inlined by the verifier into two
 * instructions, where the helper call costs ~4 ns (a third of the program's own work on an
 * established packet). So each CPU keeps the coarse time it read in the current jiffy (lb_scratch)
 * and calls the helper again only when jiffies moved. The value is the same clock, read at most one
 * tick late on a CPU that sampled it between the two updates of a tick: within the clock's own
 * resolution, and every user compares timestamps as signed differences (another CPU may have
 * written a newer one; the SNAT tombstones' 31-bit stamps too: lb_snat_tomb_aged() counts a stamp
 * ahead of this CPU's clock as young). Timestamps in pinned maps keep their meaning.
 */
#ifndef __LB_CLOCK_H
#define __LB_CLOCK_H

#include "lib/maps.h"

static __always_inline __u64 lb_now(void)
{
	struct lb_scratch *s = lb_scratch_get();
	__u64 j = bpf_jiffies64();
	__u64 now;

	if (unlikely(!s))
		return bpf_ktime_get_coarse_ns();
	if (likely(s->clock_jiffies == j))
		return s->clock_ns;
	now = bpf_ktime_get_coarse_ns();
	s->clock_ns = now;
	s->clock_jiffies = j;
	return now;
}

#endif /* __LB_CLOCK_H */
