/**
 * The packet-rate generator: a closed loop of frames between two veth ends, which needs no
 * BPF_F_TEST_XDP_LIVE_FRAMES (kernels can refuse it: EPERM on a rebuilt 6.18).
 *
 *   gen ns                                            lb ns
 *   g (xdp_loop: rewrites, counts, XDP_TX) <==veth==> l (the program under test)
 *
 * K frames are injected once with AF_PACKET from the lb side, so they reach xdp_loop first; it
 * writes each one as the next flow's frame and sends it to the program under test, and whatever
 * that program sends back (XDP_TX, or the kernel's forwarding) comes to xdp_loop again. The rate
 * is frames xdp_loop got back per second. Nothing is lost in a healthy loop: when userspace sets
 * `stop`, xdp_loop drops and counts every returning frame, and that count must equal K.
 *
 * Both veth ends run their NAPI in threads (/sys/class/net/<dev>/threaded), pinned to two
 * different CPUs where there are two, at nice -20: the program under test then has a core to itself, like a
 * NIC queue, and the generator's side is measured by its own thread's CPU time (schedstat). Its
 * ceiling, frames / generator CPU seconds, is what it could send with nothing in the way; a rate
 * within 1.5x of it is reported as generator-bound.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { Abi } from '@xdp-lb/core';
import { BpfLink, BpfObject, type BpfMap, ifNameToIndex, inNetns } from '@xdp-lb/native';
import type { LabHost } from '@xdp-lb/netlab';

/** Frames in flight: below veth's 256-entry rings, so no ring can overflow. */
export const LOOP_FRAMES = 128;
const INJECT_ETHERTYPE = 0x88b5;
const LOOP_SENT = 0;
const LOOP_STOPPED = 1;

/** What one run of the loop measured. */
export interface LoopRun {
  /** Frames returned by the program under test (and sent on) per second. */
  pps: number;
  seconds: number;
  frames: number;
  /** CPU seconds of the generator's and the tested side's NAPI threads during the run. */
  genCpu: number;
  testCpu: number;
  /** Frames still circulating when the run was stopped (LOOP_FRAMES in a loop that lost none). */
  alive: number;
}

export interface LoopEnds {
  gen: LabHost;
  genDev: string;
  test: LabHost;
  testDev: string;
  /** The generator's frame: MACs, addresses, ports (host order for numbers). */
  frame: { dmac: Buffer; smac: Buffer; saddr: number; daddr: number; sport: number; dport: number; length: number };
}

const { u32 } = Abi;
const u16 = (n: number) => {
  const b = Buffer.alloc(2);
  b.writeUInt16LE(n);
  return b;
};
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Turns on threaded NAPI for a device inside a namespace (sysfs is per namespace: `ip netns exec` mounts it). */
function setThreaded(ns: string, dev: string): void {
  const r = spawnSync('ip', ['netns', 'exec', ns, 'sh', '-c', `echo 1 > /sys/class/net/${dev}/threaded`], { encoding: 'utf8' });
  if (r.status !== 0)
    throw new Error(
      `threaded NAPI on ${dev}: ${(r.stderr || r.stdout).trim() || `exit ${r.status}`} (needs a kernel with /sys/class/net/<dev>/threaded, 5.12+)`,
    );
}

/** The pid of a device's NAPI thread (`napi/<dev>-<id>`), the newest if several. */
function napiThread(dev: string): number {
  const prefix = `napi/${dev}-`;
  let found = -1;
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      if (readFileSync(`/proc/${d}/comm`, 'utf8').startsWith(prefix)) found = Math.max(found, Number(d));
    } catch {
      // gone meanwhile
    }
  }
  if (found < 0) throw new Error(`no NAPI thread for ${dev} (threaded NAPI did not start)`);
  return found;
}

/** Nanoseconds a thread has run (first field of /proc/<pid>/schedstat). */
function cpuNs(pid: number): number {
  return Number(readFileSync(`/proc/${pid}/schedstat`, 'utf8').split(' ')[0]);
}

/**
 * Pins a NAPI thread to a CPU and gives it nice -20: on a machine where other work runs, the
 * measured threads then keep ~99% of their CPU (CFS weight 88761 against 1024 for nice 0), so a
 * rate measures the program, not the neighbours. (Not SCHED_FIFO: RT throttling would cut 5%.)
 */
function pin(pid: number, cpu: number): void {
  execFileSync('taskset', ['-pc', String(cpu), String(pid)], { stdio: 'ignore' });
  execFileSync('renice', ['-n', '-20', '-p', String(pid)], { stdio: 'ignore' });
}

export class LoopGenerator {
  private readonly obj: BpfObject;
  private readonly ctl: BpfMap;
  private readonly stats: BpfMap;
  private readonly link: BpfLink;
  /** The generator on one CPU, the program under test on another (the same one on a 1-CPU machine). */
  readonly cpus: { gen: number; test: number };

  private constructor(
    private readonly ends: LoopEnds,
    obj: BpfObject,
    link: BpfLink,
  ) {
    this.obj = obj;
    this.link = link;
    this.ctl = obj.map('loop_ctl');
    this.stats = obj.map('loop_stats');
    const n = cpus().length;
    this.cpus = n >= 2 ? { gen: 0, test: 1 } : { gen: 0, test: 0 };
  }

  /** Loads xdp_loop (packages/bench/bpf/bench.bpf.c) and attaches it in native mode on the generator's end. */
  static async start(objectPath: string, ends: LoopEnds): Promise<LoopGenerator> {
    const f = ends.frame;
    const obj = BpfObject.open(objectPath);
    try {
      for (const [k, v] of Object.entries({
        gen_dmac: f.dmac,
        gen_smac: f.smac,
        gen_saddr: u32(f.saddr),
        gen_daddr: u32(f.daddr),
        gen_sport: u16(f.sport),
        gen_dport: u16(f.dport),
        gen_frame_len: u32(f.length),
      }))
        obj.setVariable(k, v);
      await obj.load();
      const ifindex = inNetns(ends.gen.netns.path, () => ifNameToIndex(ends.genDev));
      const link = inNetns(ends.gen.netns.path, () => BpfLink.attachXdp(obj.program('xdp_loop'), ifindex, { mode: 'drv' }));
      setThreaded(ends.gen.netns.name, ends.genDev);
      return new LoopGenerator(ends, obj, link);
    } catch (e) {
      obj.dispose();
      throw e;
    }
  }

  private setCtl(flows: number, stride: number, stop: boolean): void {
    const v = Buffer.alloc(16);
    v.writeUInt32LE(flows >>> 0, 0);
    v.writeUInt32LE(stride >>> 0, 4);
    v.writeUInt32LE(stop ? 1 : 0, 8);
    this.ctl.update(u32(0), v);
  }

  private counter(slot: number): number {
    return (this.stats.lookup(u32(slot)) as Buffer[]).reduce((a, b) => a + Number(b.readBigUInt64LE(0)), 0);
  }

  /** Sends `count` frames from the tested side's device to the generator (python3, AF_PACKET). */
  private async inject(count: number): Promise<void> {
    const { test, testDev, frame } = this.ends;
    const hex = Buffer.concat([
      frame.smac,
      frame.dmac,
      Buffer.from([INJECT_ETHERTYPE >> 8, INJECT_ETHERTYPE & 0xff]),
      Buffer.alloc(frame.length - 14),
    ]).toString('hex');
    const script = `import socket\ns = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)\ns.bind((${JSON.stringify(testDev)}, 0))\nf = bytes.fromhex(${JSON.stringify(hex)})\nfor _ in range(${count}): s.send(f)\n`;
    await test.exec(['python3', '-c', script]);
  }

  /**
   * Prepares the tested side after its program was attached: threaded NAPI, and both threads
   * pinned (the tested side's thread is new whenever its program was attached anew).
   */
  prepareTestSide(): void {
    setThreaded(this.ends.test.netns.name, this.ends.testDev);
    pin(napiThread(this.ends.genDev), this.cpus.gen);
    pin(napiThread(this.ends.testDev), this.cpus.test);
  }

  /**
   * One run: inject, let it settle for `warmupMs`, measure for `seconds`, stop, and count what is
   * left. `flows`: 1 one flow, 0 a new flow per frame, n > 1 cycles through n flows (`stride`).
   */
  async run(flows: number, seconds: number, opts: { stride?: number; warmupMs?: number } = {}): Promise<LoopRun> {
    const genPid = napiThread(this.ends.genDev);
    const testPid = napiThread(this.ends.testDev);
    const stoppedBefore = this.counter(LOOP_STOPPED);
    this.setCtl(flows, opts.stride ?? 1, false);
    try {
      await this.inject(LOOP_FRAMES);
      await sleep(opts.warmupMs ?? 200);
      const s0 = this.counter(LOOP_SENT);
      const g0 = cpuNs(genPid);
      const t0c = cpuNs(testPid);
      const t0 = process.hrtime.bigint();
      await sleep(seconds * 1000);
      const s1 = this.counter(LOOP_SENT);
      const t1 = process.hrtime.bigint();
      const g1 = cpuNs(genPid);
      const t1c = cpuNs(testPid);
      const wall = Number(t1 - t0) / 1e9;
      this.setCtl(flows, opts.stride ?? 1, true);
      const alive = await this.drained(stoppedBefore);
      return { pps: (s1 - s0) / wall, seconds: wall, frames: s1 - s0, genCpu: (g1 - g0) / 1e9, testCpu: (t1c - t0c) / 1e9, alive };
    } finally {
      this.setCtl(flows, opts.stride ?? 1, true); // also after a failure: no loop outlives its run
    }
  }

  /** After stop: waits until no frame has come back for 100 ms; returns how many were dropped. */
  private async drained(before: number): Promise<number> {
    let last = -1;
    const deadline = Date.now() + 2000;
    while (Date.now() < deadline) {
      await sleep(100);
      const now = this.counter(LOOP_STOPPED);
      if (now === last) break;
      last = now;
    }
    return last - before;
  }

  dispose(): void {
    this.link.dispose();
    this.obj.dispose();
  }
}
