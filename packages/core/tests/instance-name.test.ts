// Instance names become paths under the bpffs and state roots: anything but a name is refused by
// every entry point (one check, in instancePaths), before anything is read or removed. The
// regression: `lb undeploy -i ../tc` removed /sys/fs/bpf/tc and /var/lib/tc.
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createLoadBalancer, instancePaths } from '../src/index.js';

const root = mkdtempSync(join(tmpdir(), 'xlb-names-'));
process.env.XDP_LB_BPFFS = join(root, 'bpffs', 'xdp-lb');
process.env.XDP_LB_STATE_DIR = join(root, 'state', 'xdp-lb');
afterAll(() => rmSync(root, { recursive: true, force: true }));

const BAD = ['..', '../tc', '.', '', 'a/b', 'Default', '-x', '_x', 'x'.repeat(33), 'a b', 'a\u0000b', '/etc'];
const lb = createLoadBalancer([]);

describe('instance names', () => {
  it.each(BAD)('%j is refused by instancePaths with one line naming it', (name) => {
    expect(() => instancePaths(name)).toThrow(
      /^instance name ".*" is not valid: 1 to 32 lower-case letters, digits, "_" or "-", starting with a letter or digit$/,
    );
  });

  it('accepts names of the config schema', () => {
    for (const ok of ['default', 'edge', 'a', 'x'.repeat(32), 'lb-1_b', '0']) expect(instancePaths(ok).stateFile).toContain(`/${ok}/`);
  });

  describe.skipIf(process.getuid?.() !== 0)('the library', () => {
    it('undeploy, status, config, update and reload refuse ../tc and leave its neighbours alone', async () => {
      const victims = [join(root, 'bpffs', 'tc'), join(root, 'state', 'tc')];
      for (const v of victims) {
        mkdirSync(v, { recursive: true });
        writeFileSync(join(v, 'keep'), 'x');
      }
      expect(() => lb.undeploy('../tc')).toThrow(/instance name "..\/tc" is not valid/);
      expect(() => lb.undeploy('..')).toThrow(/instance name "\.\." is not valid/);
      expect(() => lb.status('../tc')).toThrow(/is not valid/);
      await expect(lb.config('../tc')).rejects.toThrow(/is not valid/);
      await expect(lb.update('../tc', { kind: 'service-remove', service: 'x' })).rejects.toThrow(/is not valid/);
      await expect(lb.reload('../tc', {})).rejects.toThrow(/is not valid/);
      await expect(lb.checkConfig({ instance: '../tc', interfaces: ['lo'], services: [] })).rejects.toThrow(/instance/);
      for (const v of victims) expect(existsSync(join(v, 'keep'))).toBe(true);
    });
  });
});
