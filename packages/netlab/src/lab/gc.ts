// Garbage collection of labs whose owner died without cleaning up (SIGKILL skips exit hooks).
// Only namespaces named by `newRunId` with this prefix and a dead owner pid are touched, so a
// neighbour's live lab, or anything not ours, is never removed.
import { deleteNetnsSync } from '../netns/netns.js';
import { listManifests, removeManifest } from './manifest.js';
import { DEFAULT_PREFIX, checkPrefix, listNetns, netnsExists, parseNetnsName } from '../netns/names.js';
import { removePinDirs } from '../netns/pins.js';
import { processAlive } from '../netns/procfs.js';

export interface GcReport {
  /** Run ids whose leftovers were removed. */
  runs: string[];
  namespaces: string[];
  killedPids: number[];
  pinDirs: string[];
}

/**
 * Removes leftovers of dead owners with this prefix: their processes, namespaces (with the bridges
 * and veths inside), registered pin dirs and manifests. Persistent labs are kept. Synchronous.
 */
export function gcStale(prefix = DEFAULT_PREFIX): GcReport {
  checkPrefix(prefix);
  const report: GcReport = { runs: [], namespaces: [], killedPids: [], pinDirs: [] };
  const manifests = listManifests().filter((m) => m.prefix === prefix);
  const keep = new Set<string>();
  const doomed = new Map<string, { namespaces: Set<string>; pinDirs: string[]; manifest: boolean }>();

  for (const m of manifests) {
    if (m.persistent || processAlive(m.pid, m.pidStart)) {
      keep.add(m.id);
      continue;
    }
    doomed.set(m.id, { namespaces: new Set(m.namespaces), pinDirs: m.pinDirs, manifest: true });
  }
  for (const name of listNetns()) {
    const parsed = parseNetnsName(name, prefix);
    if (!parsed || keep.has(parsed.runId) || processAlive(parsed.pid)) continue;
    const entry = doomed.get(parsed.runId) ?? { namespaces: new Set<string>(), pinDirs: [], manifest: false };
    entry.namespaces.add(name);
    doomed.set(parsed.runId, entry);
  }

  for (const [runId, entry] of doomed) {
    const names = [...entry.namespaces].filter(netnsExists);
    report.killedPids.push(...deleteNetnsSync(names));
    report.namespaces.push(...names);
    removePinDirs(entry.pinDirs);
    report.pinDirs.push(...entry.pinDirs);
    if (entry.manifest) removeManifest(runId);
    report.runs.push(runId);
  }
  return report;
}
