/** A private directory on bpffs for one test file's pins, removed with everything in it. */
import { mkdirSync, rmSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';

export interface PinDir {
  path: string;
  at(name: string): string;
  remove(): void;
}

export function createPinDir(): PinDir {
  const path = join('/sys/fs/bpf', `xlb-test-${process.pid}-${randomBytes(3).toString('hex')}`);
  mkdirSync(path);
  return {
    path,
    at: (name) => join(path, name),
    remove: () => rmSync(path, { recursive: true, force: true }),
  };
}
