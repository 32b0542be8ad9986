/** Paths of the compiled fixture objects (tests/bpf/*.bpf.c -> obj/, by `npm run build-bpf`) and byte helpers. */
import { readdirSync, readlinkSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export function fixture(name: string): string {
  return fileURLToPath(new URL(`../../obj/${name}.bpf.o`, import.meta.url));
}

export function u32(value: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(value);
  return b;
}

export function u64(value: number | bigint): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(BigInt(value));
  return b;
}

/**
 * How many BPF objects (maps, programs, links, BTF) this process holds fds for: a leak check that
 * ignores the test runner's own files and sockets.
 */
export function bpfFdCount(): number {
  let count = 0;
  for (const fd of readdirSync('/proc/self/fd')) {
    try {
      const target = readlinkSync(`/proc/self/fd/${fd}`);
      if (target.startsWith('anon_inode:bpf') || target === 'anon_inode:btf') count++;
    } catch {
      // the directory fd of readdir itself is gone by now
    }
  }
  return count;
}
