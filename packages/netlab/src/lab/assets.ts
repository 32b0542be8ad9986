// Files the lab needs at run time: the helper scripts shipped in this package (lab-scripts/) and
// the xdp_pass BPF object built by the workspace's bpf project. Found from this module's location
// by walking up to the package root, which works from src/ (tests) and from dist/ alike.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const PACKAGE_NAME = '@xdp-lb/netlab';
let root: string | undefined;

/** The netlab package directory (override with `$XDP_LB_NETLAB_ROOT`). */
export function packageRoot(): string {
  if (root) return root;
  const env = process.env['XDP_LB_NETLAB_ROOT'];
  if (env) return (root = resolve(env));
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg)) {
      try {
        if ((JSON.parse(readFileSync(pkg, 'utf8')) as { name?: string }).name === PACKAGE_NAME) return (root = dir);
      } catch {
        // not JSON: keep walking
      }
    }
    const up = dirname(dir);
    if (up === dir)
      throw new Error(`cannot find the ${PACKAGE_NAME} package root above ${fileURLToPath(import.meta.url)}; set XDP_LB_NETLAB_ROOT`);
    dir = up;
  }
}

/** Path of a helper script in lab-scripts/. */
export function labScript(name: string): string {
  const p = join(packageRoot(), 'lab-scripts', name);
  if (!existsSync(p)) throw new Error(`netlab helper script missing: ${p}`);
  return p;
}

/**
 * The xdp_pass object: explicit path, `$XDP_LB_XDP_PASS_OBJ`, the copy the build ships in this
 * package (obj/, for an installed package), or the workspace build output.
 */
export function xdpPassObjectPath(explicit?: string): string {
  const shipped = join(packageRoot(), 'obj', 'xdp_pass.bpf.o');
  const p =
    explicit ??
    process.env['XDP_LB_XDP_PASS_OBJ'] ??
    (existsSync(shipped) ? shipped : resolve(packageRoot(), '../../bpf/obj/xdp_pass.bpf.o'));
  if (!existsSync(p)) {
    throw new Error(
      `xdp_pass object not found at ${p}: build it with \`npx nx run bpf:build-bpf\` (bash bpf/scripts/build.sh), or pass xdpPassObject`,
    );
  }
  return p;
}
