import { readFileSync } from 'node:fs';
import { cpus, hostname, release, totalmem } from 'node:os';

/** The machine a run was taken on: printed under every figure and stored in results.json. */
export interface Machine {
  cores: number;
  cpuModel: string;
  kernel: string;
  node: string;
  memoryGiB: number;
  hostname: string;
  /** 1-minute load average at the start and at the end of the run (other work on the machine). */
  loadStart: number;
  loadEnd?: number;
}

export function loadAverage(): number {
  try {
    return Number(readFileSync('/proc/loadavg', 'utf8').split(' ')[0]);
  } catch {
    return NaN;
  }
}

export function describeMachine(): Machine {
  const c = cpus();
  return {
    cores: c.length,
    cpuModel: (c[0]?.model ?? 'unknown').replace(/\s+/g, ' ').trim(),
    kernel: release(),
    node: process.version,
    memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    hostname: hostname(),
    loadStart: loadAverage(),
  };
}

/** One line for the foot of a figure: `2 cores (AMD EPYC ...), Linux 6.18.x, Node v20.x`. */
export function machineLine(m: Machine): string {
  return `${m.cores} cores (${m.cpuModel}), Linux ${m.kernel}, Node ${m.node}, load ${m.loadStart.toFixed(2)} at start`;
}

/** Busy and total CPU time of the whole machine so far, in seconds (from /proc/stat). */
export function cpuTimes(): { busy: number; total: number } {
  const line = readFileSync('/proc/stat', 'utf8')
    .split('\n')
    .find((l) => l.startsWith('cpu '));
  if (!line) throw new Error('no cpu line in /proc/stat');
  const v = line.trim().split(/\s+/).slice(1).map(Number);
  // user nice system idle iowait irq softirq steal guest guest_nice (guest time is inside user)
  const [user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0] = v;
  const hz = 100; // USER_HZ: /proc/stat is always in 1/100 s on Linux
  const busy = user + nice + system + irq + softirq + steal;
  return { busy: busy / hz, total: (busy + idle + iowait) / hz };
}
