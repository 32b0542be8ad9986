/**
 * The fixture table: description, input frame, expected verdict, expected output frame. A PASS must
 * leave the frame byte for byte as it came; a forwarded frame must equal the expected one and carry
 * correct checksums by netlab's independent verifier; a dropped frame's bytes do not matter.
 */
import { expect } from 'vitest';
import { diffFrames, summarizeFrame, verifyChecksums } from '@xdp-lb/netlab';
import type { Reason } from './abi.js';
import type { RunResult, TestDataplane, Verdict } from './dataplane.js';

export interface Fixture {
  description: string;
  input: Buffer;
  verdict: Verdict;
  /** Expected output of TX/REDIRECT (PASS: the input; DROP: not checked). */
  output?: Buffer | ((input: Buffer) => Buffer);
  /** Reason counters this packet must add (exactly these, when given). */
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
  if (f.reasons) expect(delta, `${f.description}: reason counters`).toEqual(f.reasons);
  return r;
}
