import { existsSync } from 'node:fs';
import { BpfMap } from '@xdp-lb/native';

const BPF_MAP_TYPE_ARRAY = 2;

/**
 * The layout stamp of an instance's pinned maps: a one-entry u32 ARRAY pinned next to them
 * (bpffs holds only BPF objects, so the "version file" is a map), written at the first deploy.
 * Undefined when there is no stamp.
 */
export function readLayoutPin(pin: string): number | undefined {
  if (!existsSync(pin)) return undefined;
  const m = BpfMap.fromPinned(pin);
  try {
    const v = m.lookup(Buffer.alloc(4)) as Buffer | null;
    return v ? v.readUInt32LE(0) : undefined;
  } finally {
    m.dispose();
  }
}

/** Creates (or overwrites) the stamp with `version`. */
export function writeLayoutPin(pin: string, version: number): void {
  const value = Buffer.alloc(4);
  value.writeUInt32LE(version);
  if (existsSync(pin)) {
    const m = BpfMap.fromPinned(pin);
    try {
      m.update(Buffer.alloc(4), value);
    } finally {
      m.dispose();
    }
    return;
  }
  const m = BpfMap.create({ type: BPF_MAP_TYPE_ARRAY, keySize: 4, valueSize: 4, maxEntries: 1, name: 'lb_layout' });
  try {
    m.update(Buffer.alloc(4), value);
    m.pin(pin);
  } finally {
    m.dispose();
  }
}
