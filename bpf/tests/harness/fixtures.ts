/**
 * The fixture table: description, input frame, expected verdict, expected output frame. A PASS must
 * leave the frame byte for byte as it came; a forwarded frame must equal the expected one and carry
 * correct checksums by netlab's independent verifier; a dropped frame's bytes do not matter.
 */
import { expect } from 'vitest';
import { diffFrames, parseFrame, summarizeFrame, verifyChecksums } from '@xdp-lb/netlab';
import type { Reason } from './abi.js';
import type { RunResult, TestDataplane, Verdict } from './dataplane.js';

const HALF_OPEN_REASONS: readonly Reason[] = ['CT_HALF_OPEN', 'CT_PROMOTED', 'CT_MIDSTREAM'];

export interface Fixture {
  description: string;
  input: Buffer;
  verdict: Verdict;
  /** Expected output of TX/REDIRECT (PASS: the input; DROP: not checked). */
  output?: Buffer | ((input: Buffer) => Buffer);
  /**
   * Reason counters this packet must add (exactly these, when given). The half-open bookkeeping
   * (CT_HALF_OPEN, CT_PROMOTED, CT_MIDSTREAM: bpf/lib/halfopen.h) is compared only when the
   * fixture names at least one of them: fixtures written before layout 4 state what a flow does,
   * and the half-open suite states those too.
   */
  reasons?: Partial<Record<Reason, number>>;
  ingressIfindex?: number;
}

/** Runs one fixture and asserts everything it states; returns the result for further checks. */
export function check(dp: TestDataplane, f: Fixture): RunResult {
  let result: RunResult | undefined;
  const delta = dp.countDelta(() => {
    result = dp.run(f.input, f.ingressIfindex);
  });
  const r = result!;
  expect(r.verdict, `${f.description}: verdict (input ${summarizeFrame(f.input)})`).toBe(f.verdict);
  if (f.verdict === 'PASS') {
    expect(diffFrames(r.data, f.input), `${f.description}: a passed frame is untouched`).toBeUndefined();
  }
  if (f.verdict === 'TX' || f.verdict === 'REDIRECT') {
    expect(verifyChecksums(r.data), `${f.description}: checksums of the output`).toEqual([]);
    const want = typeof f.output === 'function' ? f.output(f.input) : f.output;
    if (want) expect(diffFrames(r.data, want), `${f.description}: output frame`).toBeUndefined();
  }
  if (f.reasons) {
    const got = { ...delta };
    if (!HALF_OPEN_REASONS.some((k) => k in f.reasons!)) for (const k of HALF_OPEN_REASONS) delete got[k];
    expect(got, `${f.description}: reason counters`).toEqual(f.reasons);
  }
  return r;
}

/**
 * An RST the LB sent back (lib/reset.h): addresses and ports as given, flags RST alone (the
 * packet answered had an ACK: `seq` is that ACK number) or RST+ACK (`ack` given), no payload.
 * Checksums are verified by check().
 */
export function expectReset(
  frame: Buffer,
  want: { src: string; dst: string; sport: number; dport: number; seq: number; ack?: number },
): void {
  const f = parseFrame(frame);
  const ip = f.ipv4 ?? f.ipv6;
  expect(ip, 'an IP packet').toBeDefined();
  expect({ src: ip!.src, dst: ip!.dst, sport: f.tcp?.sport, dport: f.tcp?.dport, seq: f.tcp?.seq }).toEqual({
    src: want.src,
    dst: want.dst,
    sport: want.sport,
    dport: want.dport,
    seq: want.seq,
  });
  const fl = f.tcp!.flags;
  expect({ rst: fl.rst, ack: fl.ack, syn: fl.syn, fin: fl.fin }, 'RST flags').toEqual({
    rst: true,
    ack: want.ack !== undefined,
    syn: false,
    fin: false,
  });
  if (want.ack !== undefined) expect(f.tcp!.ack).toBe(want.ack);
  expect(f.payload?.length ?? 0, 'no payload').toBe(0);
}
