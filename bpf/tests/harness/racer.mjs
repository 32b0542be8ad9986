// One CPU's side of the NOEXIST race (noexist-race.test.ts): runs a loaded XDP program (by id) over
// a file of equal-length frames, one BPF_PROG_TEST_RUN each, in rounds that start at moments the
// parent names on CLOCK_MONOTONIC, so that the racer on the other CPU runs the same frames at the
// same time. Plain JavaScript: the parent starts it with `taskset -c CPU node racer.mjs ...`.
//
// argv: program id, frames file, frame length, frames per round, output file, warm-up frame file (a
// frame the program passes untouched: run 2,000 times before "ready", so that the rounds run warm).
// Each round: a line on stdin, the moment (ns) to start it; "done" on stdout when it is over (the
// parent names the next moment once both racers are done: a barrier, whatever else loads the CPUs).
// Output file, written at stdin's end: per frame, its verdict (1 byte) and the first 6 bytes of the
// frame it became (the destination MAC: the backend). stdout, last line: JSON {late: ns each round
// started late}.
import { readFileSync, writeFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { BpfProgram } from '@xdp-lb/native';

const [idArg, framesFile, lenArg, perRoundArg, outFile, warmFile] = process.argv.slice(2);
const len = Number(lenArg);
const perRound = Number(perRoundArg);
const program = BpfProgram.fromId(Number(idArg));
const all = readFileSync(framesFile);
const count = all.length / len;
const frames = Array.from({ length: count }, (_, i) => all.subarray(i * len, (i + 1) * len));
const ctx = Buffer.alloc(24);
ctx.writeUInt32LE(len, 4); // data_end
ctx.writeUInt32LE(1, 12); // ingress ifindex: loopback, as the suite's runs
const out = Buffer.alloc(count * 7);
const late = [];
const warm = readFileSync(warmFile);
const warmCtx = Buffer.from(ctx);
warmCtx.writeUInt32LE(warm.length, 4);
for (let i = 0; i < 2000; i++) program.testRun({ data: warm, ctx: warmCtx });

const lines = createInterface({ input: process.stdin });
process.stdout.write('ready\n');
let r = 0;
for await (const line of lines) {
  const at = BigInt(line.trim());
  let now = process.hrtime.bigint();
  while (now < at) now = process.hrtime.bigint(); // spin: a sleep would wake too late
  late.push(Number(now - at));
  for (let i = r * perRound; i < Math.min(count, (r + 1) * perRound); i++) {
    const res = program.testRun({ data: frames[i], ctx });
    out[i * 7] = res.retval;
    res.data.copy(out, i * 7 + 1, 0, 6);
  }
  r++;
  process.stdout.write('done\n');
}
writeFileSync(outFile, out);
program.dispose();
process.stdout.write(`${JSON.stringify({ late })}\n`);
