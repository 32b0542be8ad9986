import { existsSync, readdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Where the skeleton's headers are: $XDP_LB_BPF_DIR, else the bpf/ folder of this workspace. */
export function bpfSourceDir(): string {
  if (process.env.XDP_LB_BPF_DIR) return process.env.XDP_LB_BPF_DIR;
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    if (existsSync(join(dir, 'bpf', 'lb.bpf.h'))) return join(dir, 'bpf');
    dir = dirname(dir);
  }
  throw new Error('cannot find the data plane sources (bpf/lb.bpf.h): set XDP_LB_BPF_DIR');
}

/** The skeleton's headers and cc.sh under `dir` (bpf/), sorted: what a compiled object depends on. */
export function headerFiles(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) {
      if (name !== 'obj' && name !== 'node_modules') out.push(...headerFiles(p));
    } else if (name.endsWith('.h') || name === 'cc.sh') out.push(p);
  }
  return out;
}
