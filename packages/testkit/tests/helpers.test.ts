// The pure helpers the lab suites judge their runs with: a wrong answer here would pass or fail
// those suites for the wrong reason, so they are checked without a lab.
import { describe, expect, it } from 'vitest';
import type { StatusView } from '@xdp-lb/core';
import { backendName, eventually, flowsByBackend, type LoadResult, mergeCounts, metric, waitFor } from '../src/index.js';

describe('testkit helpers', () => {
  it('backendName: a tutorial backend address names its lab backend, with or without a port', () => {
    expect(backendName('198.18.0.11')).toBe('http1');
    expect(backendName('198.18.0.13:80')).toBe('http3');
  });

  it('mergeCounts sums per-backend counts across load results', () => {
    const r = (byBackend: Record<string, number>) => ({ byBackend }) as LoadResult;
    expect(mergeCounts([r({ http1: 2, http2: 1 }), r({ http2: 3 }), r({})])).toEqual({ http1: 2, http2: 4 });
  });

  it('flowsByBackend reads one service of a status view by backend name', () => {
    const s = {
      services: [
        { backends: [{ key: '198.18.0.11:80', counters: { newFlows: 5 } }] },
        { backends: [{ key: '198.18.0.12:80', counters: { newFlows: 7 } }] },
      ],
    } as unknown as StatusView;
    expect(flowsByBackend(s)).toEqual({ http1: 5 });
    expect(flowsByBackend(s, 1)).toEqual({ http2: 7 });
  });

  it('metric finds a sample by name and labels in the order the agent writes them', () => {
    const m = new Map([
      ['xdp_lb_up', 1],
      ['xdp_lb_packets_total{service="web",action="forward"}', 42],
    ]);
    expect(metric(m, 'xdp_lb_up')).toBe(1);
    expect(metric(m, 'xdp_lb_packets_total', { service: 'web', action: 'forward' })).toBe(42);
    expect(metric(m, 'xdp_lb_packets_total', { action: 'forward', service: 'web' })).toBeUndefined();
  });

  it('waitFor returns once the condition holds and names what it waited for when it never does', async () => {
    let n = 0;
    await expect(waitFor('n to reach 3', () => ++n >= 3, 1000, 1)).resolves.toBeGreaterThanOrEqual(0);
    expect(n).toBe(3);
    await expect(waitFor('never', () => false, 30, 5)).rejects.toThrow('timed out after 30 ms waiting for never');
  });

  it('eventually says false after its deadline instead of throwing', async () => {
    expect(await eventually(() => false, 30)).toBe(false);
    expect(await eventually(async () => true, 30)).toBe(true);
  });
});
