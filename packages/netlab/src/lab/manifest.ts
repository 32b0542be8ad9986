// Run manifests: what a lab created (namespaces, bpffs pin dirs, its hosts), written under /run
// before the things themselves exist. They let `gcStale` clean up after an owner that died without
// running its exit hooks (SIGKILL, OOM, power to the test runner cut), and let a persistent lab be
// found again by id.
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';

export const STATE_DIR = '/run/xdp-lb-netlab';

export interface ManifestInterface {
  name: string;
  bridge: string;
  peer: string;
  mac: string;
  ipv4?: string;
  ipv4Cidr?: string;
  ipv6?: string;
  ipv6Cidr?: string;
  xdpPassPeer: boolean;
  txChecksumOffload: boolean;
}

export interface ManifestHost {
  name: string;
  netns: string;
  interfaces: ManifestInterface[];
}

export interface LabManifest {
  id: string;
  prefix: string;
  /** The creating process, and its start time (pids are reused). */
  pid: number;
  pidStart?: string;
  /** Persistent labs outlive their creator and are never garbage-collected. */
  persistent: boolean;
  created: string;
  switchNetns: string;
  bridges: string[];
  namespaces: string[];
  pinDirs: string[];
  hosts: ManifestHost[];
}

function pathOf(id: string): string {
  return `${STATE_DIR}/${id}.json`;
}

/** Writes atomically (rename), so a crash never leaves half a manifest. */
export function writeManifest(m: LabManifest): void {
  mkdirSync(STATE_DIR, { recursive: true });
  const tmp = `${pathOf(m.id)}.${process.pid}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(m, null, 2)}\n`);
  renameSync(tmp, pathOf(m.id));
}

export function readManifest(id: string): LabManifest | undefined {
  try {
    return JSON.parse(readFileSync(pathOf(id), 'utf8')) as LabManifest;
  } catch {
    return undefined;
  }
}

export function listManifests(): LabManifest[] {
  let names: string[];
  try {
    names = readdirSync(STATE_DIR);
  } catch {
    return [];
  }
  return names
    .filter((n) => n.endsWith('.json'))
    .map((n) => readManifest(n.slice(0, -'.json'.length)))
    .filter((m): m is LabManifest => m !== undefined);
}

export function removeManifest(id: string): void {
  rmSync(pathOf(id), { force: true });
}
