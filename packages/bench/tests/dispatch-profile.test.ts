// The dispatch profile's arithmetic: BPF symbols to functions, samples to ns per packet with their
// Poisson error, paired window differences, and a verdict against the ~2 ns target that follows
// the worst window, not only the median.
import { describe, expect, it } from 'vitest';
import { dispatchCost, dispatchCostFindings, type ProfiledVariant, type ProfileWindow } from '../src/benches/dispatch-profile.js';
import { bpfFunction, bpfFunctions, perPacket, type Profile } from '../src/perf-profile.js';

const win = (selectNs: number, repeatNs = 100, estSelectSamples = 0): ProfileWindow => ({
  packets: 1_000_000,
  selectSamples: selectNs * 50,
  selectNs,
  selectErrNs: 0.1,
  totalNs: 700,
  functions: { lb_select: selectNs },
  repeatNs,
  estPackets: 1_000_000,
  estSelectSamples,
  verified: true,
});
/** A program's windows: lb_select's ns per window (profile) and the repeat figure per window (default 100 each). */
const variant = (label: string, carried: string[], ns: number[], repeat: number[] = ns.map(() => 100)): ProfiledVariant => ({
  label,
  carried,
  windows: ns.map((x, k) => win(x, repeat[k])),
});

describe('dispatch profile', () => {
  it('names a JIT-ed BPF function by what follows its tag', () => {
    expect(bpfFunction('bpf_prog_0123456789abcdef_lb_select')).toBe('lb_select');
    expect(bpfFunction('bpf_prog_0123456789abcdef_xdp_lb')).toBe('xdp_lb');
    expect(bpfFunction('__x64_sys_bpf')).toBe('__x64_sys_bpf');
  });

  it('turns samples into ns per packet, summing every program of the function', () => {
    const p: Profile = {
      periodNs: 20_000,
      total: 1000,
      bySymbol: new Map([
        ['bpf_prog_0123456789abcdef_lb_select', 300],
        ['bpf_prog_fedcba9876543210_lb_select', 100],
        ['bpf_prog_0123456789abcdef_xdp_lb', 600],
      ]),
    };
    const r = perPacket(p, 'lb_select', 1_000_000);
    expect(r.samples).toBe(400);
    expect(r.ns).toBeCloseTo(8, 9); // 400 x 20 µs / 1M packets
    expect(r.errNs).toBeCloseTo(0.4, 9); // sqrt(400) x 20 µs / 1M
    expect(bpfFunctions(p, 1_000_000)).toEqual({ lb_select: 8, xdp_lb: 12 });
  });

  it('pools every window, pairs window k with window k, and judges the target on the 95% interval', () => {
    // 1M packets a window, 20 µs a sample: x ns = 50x samples.
    const vs = [
      variant('1', ['hash'], [10, 11, 10.5], [100, 130, 110]),
      variant('3', ['hash', 'random', 'round-robin'], [10.4, 11.2, 11.5], [100.5, 130.2, 111]),
    ];
    const c = dispatchCost(vs, 20_000)!;
    expect(c.pooled[0]!.ns).toBeCloseTo(10.5, 9);
    expect(c.pooledDiff[0]).toBeNull();
    expect(c.pooledDiff[1]!.ns).toBeCloseTo(0.53333, 4);
    // sqrt(1575 + 1655) x 20 µs / 3M packets
    expect(c.pooledDiff[1]!.errNs).toBeCloseTo((Math.sqrt(1575 + 1655) * 20_000) / 3e6, 9);
    expect(c.diff[1]!.median).toBeCloseTo(0.4, 9);
    expect(c.diff[1]!.min).toBeCloseTo(0.2, 9);
    expect(c.diff[1]!.max).toBeCloseTo(1, 9);
    expect(c.estSelectSamples).toBe(0);
    // Per-round differences 0.4, 0.2, 1.0: mean 0.5333, sd 0.4163, t(2) 4.30.
    expect(c.diffCi[1]!.mean).toBeCloseTo(0.53333, 4);
    expect(c.diffCi[1]!.hi).toBeCloseTo(0.53333 + (4.3 * 0.41633) / Math.sqrt(3), 3);
    // The repeat figure, paired the same way: differences 0.5, 0.2, 1.0 (the drift of 30 ns cancels).
    expect(c.repeat[0]!.median).toBe(110);
    expect(c.repeatDiff[1]!.median).toBeCloseTo(0.5, 9);
    expect(c.repeatDiffCi[1]!.mean).toBeCloseTo(0.56667, 4);
    const f = dispatchCostFindings(vs, c)!;
    // The headline is the repeat interval's upper end: the cost of a new flow over one strategy.
    expect(f.headline.value).toBeCloseTo(c.repeatDiffCi[1]!.hi, 9);
    expect(f.summary).toMatch(/interleaved rounds: within the ~2 ns target: met/);
  });

  it('judges on the interval of the rounds: load noise makes it "neither met nor refuted", not "NOT met"', () => {
    const noisy = [
      variant('1', ['hash'], [10, 60, 10, 40], [100, 150, 100, 140]),
      variant('4', ['a', 'b', 'c', 'd'], [14, 30, 50, 41], [104, 130, 150, 141]),
    ];
    expect(dispatchCostFindings(noisy, dispatchCost(noisy, 20_000)!)!.headline.spread).toBeTruthy();
    expect(dispatchCostFindings(noisy, dispatchCost(noisy, 20_000)!)!.summary).toMatch(
      /rounds: the ~2 ns target is inside it: neither met nor refuted/,
    );
    const worse = [
      variant('1', ['hash'], [10, 10.5, 10, 11], [100, 100.5, 100, 101]),
      variant('4', ['a', 'b', 'c', 'd'], [14, 14.2, 14.1, 15], [104, 104.2, 104.1, 105]),
    ];
    expect(dispatchCostFindings(worse, dispatchCost(worse, 20_000)!)!.summary).toMatch(/rounds: above the ~2 ns target: NOT met/);
  });

  it('has nothing to say without windows', () => {
    expect(dispatchCost([])).toBeNull();
    expect(dispatchCost([{ label: '1', carried: ['hash'], windows: [] }])).toBeNull();
  });
});
