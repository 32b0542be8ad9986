#!/usr/bin/env node
// xdp-lb-native-build: builds the native addon of an installed @xdp-lb/native for this machine.
//
// The package ships a prebuilt build/Release/xdp_lb_native.node (linux-x64, glibc, libbpf 1.x) and
// the addon's sources (addon/, CMakeLists.txt). npm runs no install scripts, so where the prebuilt
// addon does not load (another architecture or libbpf), the user runs this once: `npx
// xdp-lb-native-build`. It needs no devDependencies (no cmake-js) and no network: plain cmake, the
// system's compiler and libbpf, the Node-API headers of the npm package node-api-headers and the
// C++ wrappers of node-addon-api (both dependencies of @xdp-lb/native). The repository itself
// builds with `npx nx run native:build-native` (cmake-js); both write the same file.
import { spawnSync } from 'node:child_process';
import {
  accessSync,
  chmodSync,
  constants,
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import { availableParallelism, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const NAME = 'xdp-lb-native-build';
const ADDON_FILE = 'xdp_lb_native.node';
const MIN_CMAKE = [3, 15];
const MIN_LIBBPF = '1.0';
// The Debian/Ubuntu packages the build needs, in the order they are checked.
const APT = ['cmake', 'make', 'gcc', 'g++', 'pkg-config', 'libbpf-dev', 'libelf-dev', 'zlib1g-dev'];

const USAGE = `Usage: ${NAME} [--force] [--jobs N] [--verbose]

Builds the native addon of @xdp-lb/native for this machine, from the sources inside the installed
package, into its build/Release/${ADDON_FILE}. Run it (as \`npx ${NAME}\`, from the project that
installed the package) when the prebuilt addon does not load here: another architecture, libc or
libbpf. npm runs no install scripts, so nothing builds on \`npm install\`.

Without --force it first tries the addon that is there: when it loads, it says so and builds nothing.
The new addon replaces the old one only after it has loaded in a separate node process.

Options:
  --force      rebuild even when the addon in build/Release loads
  --jobs N     parallel compile jobs (default: the number of CPUs)
  --verbose    show the output of cmake and the compiler (else only on failure)
  -h, --help   this text

Needs cmake >= ${MIN_CMAKE.join('.')}, make (or ninja), gcc/g++, pkg-config, libbpf >= ${MIN_LIBBPF} with its headers,
libelf and zlib headers; on Debian/Ubuntu:
  apt-get install ${APT.join(' ')}
Nothing is downloaded: the Node-API headers come from the npm packages node-api-headers and
node-addon-api, dependencies of @xdp-lb/native.

Exit status: 0 built, or nothing to do; 1 a prerequisite is missing or the build failed; 2 usage.
`;

const pkgRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const target = join(pkgRoot, 'build', 'Release', ADDON_FILE);

function die(message, code = 1) {
  process.stderr.write(`${NAME}: ${message}\n`);
  process.exit(code);
}
const say = (message) => process.stdout.write(`${NAME}: ${message}\n`);

function parseArgs(argv) {
  const opts = { force: false, jobs: availableParallelism(), verbose: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--force') opts.force = true;
    else if (a === '--verbose') opts.verbose = true;
    else if (a === '-h' || a === '--help') {
      process.stdout.write(USAGE);
      process.exit(0);
    } else if (a === '--jobs' || a.startsWith('--jobs=')) {
      const v = a === '--jobs' ? argv[++i] : a.slice('--jobs='.length);
      const n = Number(v);
      if (!Number.isInteger(n) || n < 1) die(`--jobs needs a positive integer, got ${v ?? 'nothing'} (see --help)`, 2);
      opts.jobs = n;
    } else die(`unknown argument ${a} (see --help)`, 2);
  }
  return opts;
}

/** Runs a command, output captured; null when it cannot be started (not installed). */
function run(cmd, args, options = {}) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', ...options });
  if (r.error) return r.error.code === 'ENOENT' ? null : { status: 1, stdout: '', stderr: String(r.error.message) };
  return r;
}

/** Does the addon at `path` load in a fresh node? null when it does, else the first line of why not. */
function loadError(path) {
  const probe =
    'try { require(process.argv[1]) } catch (e) { process.stderr.write(String(e && e.message).split("\\n")[0]); process.exit(1) }';
  const r = spawnSync(process.execPath, ['-e', probe, path], { encoding: 'utf8' });
  if (r.status === 0) return null;
  return r.stderr.trim().split('\n')[0] || `node exited with ${r.status ?? r.signal}`;
}

const versionAtLeast = (have, want) => {
  for (let i = 0; i < want.length; i++) {
    if ((have[i] ?? 0) !== want[i]) return (have[i] ?? 0) > want[i];
  }
  return true;
};

const works = (cmd) => run(cmd, ['--version'])?.status === 0;

/**
 * Every missing prerequisite as { apt, why }, each named by the Debian/Ubuntu package that has it,
 * and the cmake generator to use.
 */
function checkPrerequisites() {
  const missing = [];
  const hasMake = works('make');
  const hasNinja = !hasMake && works('ninja');
  const cmake = run('cmake', ['--version']);
  if (!cmake || cmake.status !== 0) missing.push({ apt: 'cmake', why: 'cmake' });
  else {
    const v = /version (\d+)\.(\d+)/.exec(cmake.stdout);
    if (v && !versionAtLeast([Number(v[1]), Number(v[2])], MIN_CMAKE))
      missing.push({ apt: 'cmake', why: `cmake >= ${MIN_CMAKE.join('.')} (found ${v[1]}.${v[2]})` });
  }
  // The build tool: make (cmake's default generator), else ninja.
  if (!hasMake && !hasNinja) missing.push({ apt: 'make', why: 'make' });
  // cmake's own choice: $CC/$CXX, else cc/c++.
  const cc = (process.env.CC || 'cc').trim().split(/\s+/)[0];
  const cxx = (process.env.CXX || 'c++').trim().split(/\s+/)[0];
  if (!run(cc, ['--version'])) missing.push({ apt: 'gcc', why: `a C compiler (${cc})` });
  if (!run(cxx, ['--version'])) missing.push({ apt: 'g++', why: `a C++ compiler (${cxx})` });
  const pc = run('pkg-config', ['--version']);
  if (!pc || pc.status !== 0) missing.push({ apt: 'pkg-config', why: 'pkg-config' });
  else {
    if (run('pkg-config', ['--exists', 'libbpf']).status !== 0) missing.push({ apt: 'libbpf-dev', why: 'libbpf (libbpf.pc)' });
    else if (run('pkg-config', [`--atleast-version=${MIN_LIBBPF}`, 'libbpf']).status !== 0) {
      const have = run('pkg-config', ['--modversion', 'libbpf']).stdout.trim();
      missing.push({ apt: 'libbpf-dev', why: `libbpf >= ${MIN_LIBBPF} (found ${have})` });
    }
    if (run('pkg-config', ['--exists', 'libelf']).status !== 0) missing.push({ apt: 'libelf-dev', why: 'libelf (libelf.pc)' });
    if (run('pkg-config', ['--exists', 'zlib']).status !== 0) missing.push({ apt: 'zlib1g-dev', why: 'zlib (zlib.pc)' });
  }
  return { missing, generator: hasMake ? [] : ['-G', 'Ninja'] };
}

/** The npm dependencies the build resolves from the package (the same lookups CMakeLists.txt does). */
function checkNodeDependencies() {
  const require = createRequire(join(pkgRoot, 'package.json'));
  const problems = [];
  try {
    require.resolve('node-addon-api');
  } catch {
    problems.push('node-addon-api');
  }
  let headers = null;
  try {
    headers = require('node-api-headers').include_dir;
  } catch {
    headers = resolve(process.execPath, '..', '..', 'include', 'node');
  }
  if (!existsSync(join(headers, 'node_api.h'))) problems.push('node-api-headers');
  return problems;
}

function main() {
  const opts = parseArgs(process.argv.slice(2));
  if (!existsSync(join(pkgRoot, 'CMakeLists.txt')) || !existsSync(join(pkgRoot, 'addon'))) {
    die(`the addon's sources are not in ${pkgRoot} (CMakeLists.txt, addon/): reinstall @xdp-lb/native`);
  }
  if (process.env.XDP_LB_NATIVE_ADDON) {
    say(`note: XDP_LB_NATIVE_ADDON=${process.env.XDP_LB_NATIVE_ADDON} is set, so @xdp-lb/native loads that file, not ${target}`);
  }

  if (!opts.force && existsSync(target)) {
    const why = loadError(target);
    if (why === null) {
      say(`the addon at ${target} loads fine on this machine; nothing to do (--force rebuilds it)`);
      return;
    }
    say(`the addon at ${target} does not load here (${why}); building it`);
  } else if (!opts.force) say(`no addon at ${target}; building it`);

  const { missing, generator } = checkPrerequisites();
  if (missing.length) {
    const apt = [...new Set(missing.map((m) => m.apt))];
    die(`cannot build the addon: missing ${missing.map((m) => m.why).join(', ')}; install with: apt-get install ${apt.join(' ')}`);
  }
  const npmMissing = checkNodeDependencies();
  if (npmMissing.length)
    die(
      `cannot build the addon: the npm package(s) ${npmMissing.join(', ')} are missing next to @xdp-lb/native; reinstall it (npm install)`,
    );
  // Before half a minute of compiling: can the result be put in place?
  let dir = dirname(target);
  while (!existsSync(dir)) dir = dirname(dir);
  try {
    accessSync(dir, constants.W_OK);
  } catch {
    die(`cannot write ${dir}: run it as the user who installed @xdp-lb/native (e.g. with sudo for a global install)`);
  }

  const work = mkdtempSync(join(tmpdir(), `${NAME}-`));
  const log = join(work, 'build.log');
  const out = join(work, 'Release');
  let logText = '';
  const step = (what, args) => {
    say(what);
    const r = spawnSync('cmake', args, { encoding: 'utf8', stdio: opts.verbose ? 'inherit' : 'pipe', maxBuffer: 64 << 20 });
    logText += `$ cmake ${args.join(' ')}\n${r.stdout ?? ''}${r.stderr ?? ''}\n`;
    writeFileSync(log, logText);
    if (r.status !== 0) {
      if (!opts.verbose) process.stderr.write(logText.trimEnd().split('\n').slice(-40).join('\n') + '\n');
      die(`${what.replace(/ \(.*$/, '')} failed (full log: ${log})`);
    }
  };
  step(`configuring (cmake, in ${work})`, [
    '-S',
    pkgRoot,
    '-B',
    join(work, 'cmake'),
    ...generator,
    '-DCMAKE_BUILD_TYPE=Release',
    `-DCMAKE_LIBRARY_OUTPUT_DIRECTORY=${out}`,
    `-DNODE_EXECUTABLE=${process.execPath}`,
  ]);
  step(`compiling (${opts.jobs} jobs)`, ['--build', join(work, 'cmake'), '--parallel', String(opts.jobs)]);

  const built = join(out, ADDON_FILE);
  if (!existsSync(built)) die(`the build produced no ${ADDON_FILE} in ${out} (full log: ${log})`);
  const why = loadError(built);
  if (why !== null) die(`the addon just built does not load: ${why} (it is kept in ${out})`);

  // Replace atomically: a process that has the old file mapped keeps it.
  try {
    mkdirSync(dirname(target), { recursive: true });
    const tmp = `${target}.${process.pid}.tmp`;
    copyFileSync(built, tmp);
    chmodSync(tmp, 0o755);
    renameSync(tmp, target);
  } catch (err) {
    die(`cannot write ${target}: ${err.message}`);
  }
  rmSync(work, { recursive: true, force: true });
  const { version } = JSON.parse(readFileSync(join(pkgRoot, 'package.json'), 'utf8'));
  say(`built ${target} (@xdp-lb/native ${version}, node ${process.version}, ${process.platform}-${process.arch}); it loads`);
}

main();
