/**
 * Test-only fault injection: `XDP_LB_CRASH_AT=<step>` makes the process SIGKILL itself when a
 * change reaches that step, so that tests (packages/cli/tests/model.e2e.test.ts) can prove that
 * whatever a killed command leaves, the next command recovers from. SIGKILL, not an exception: no
 * finally block, rollback or exit handler of ours may run, exactly as under the OOM killer or a
 * power cut (less the page cache). Unset (always, outside tests) it costs one lookup.
 *
 * The steps, in the order a change reaches them:
 *   deploy:intent    the intent is written, nothing else (a first deploy: no pins yet)
 *   deploy:loaded    the object is loaded, its maps pinned, nothing filled or attached
 *   deploy:filled    the maps are filled and the sysctls set; no interface attached or prepared
 *   deploy:attached  every interface attached (and pinned); the state not written
 *   deploy:written   the state is written; the intent not yet removed
 *   update:intent    a hot update's intent is written; no map touched
 *   update:maps      its maps are written; the state is not
 *   undeploy:detached  an undeploy detached the links; pins and state remain
 */
export const CRASH_STEPS = [
  'deploy:intent',
  'deploy:loaded',
  'deploy:filled',
  'deploy:attached',
  'deploy:written',
  'update:intent',
  'update:maps',
  'undeploy:detached',
] as const;

export type CrashStep = (typeof CRASH_STEPS)[number];

export function crashPoint(step: CrashStep): void {
  if (process.env.XDP_LB_CRASH_AT === step) process.kill(process.pid, 'SIGKILL');
}
