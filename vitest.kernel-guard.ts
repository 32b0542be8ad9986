// A reporter that fails the run when a whole test file skipped while XDP_LB_REQUIRE_KERNEL=1
// (scripts/test.sh sets it). Kernel suites skip, with their reason printed, on machines that lack
// BPF, privileges or namespaces; in CI that would be a green run that tested nothing, which is
// worse than a red one. A single test of an optional kernel feature (live frames) may still skip:
// only a file with no test run at all counts.
import type { Reporter, TestModule } from 'vitest/node';

export default class KernelGuard implements Reporter {
  onTestRunEnd(modules: ReadonlyArray<TestModule>): void {
    if (process.env.XDP_LB_REQUIRE_KERNEL !== '1') return;
    const skipped = modules.filter((m) => m.state() === 'skipped');
    if (!skipped.length) return;
    console.error(
      `\nXDP_LB_REQUIRE_KERNEL=1: ${skipped.length} test file(s) ran no test at all (the reasons are printed above):\n` +
        skipped.map((m) => `  ${m.moduleId}`).join('\n'),
    );
    process.exitCode = 1;
  }
}
