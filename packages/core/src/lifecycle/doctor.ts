import { spawnSync } from 'node:child_process';
import { existsSync, statfsSync } from 'node:fs';
import { dirname } from 'node:path';
import { NetnsScope } from '../dataplane/netns.js';
import { kernelFeatures, lockdownMode, probeExtensions, probeTailCalls, type ProbeOutcome } from '../dataplane/probes.js';
import { ifindexOf, type KernelMode, LIBXDP_DISPATCHER, LIBXDP_NOTE, MODE_NAME, occupant, programName } from '../dataplane/xdp.js';
import { bpffsRoot } from '../state/paths.js';
import { mtuOf, XDP_MAX_NATIVE_MTU } from './preflight.js';
import { features, vethPeer, xdpProgramOn } from '../dataplane/links.js';
import { hasPrivileges } from './privileges.js';

/**
 * `lb doctor`: what this machine lets xdp-lb do, found by trying (probes.ts) rather than by kernel
 * versions, with one line each on what a refusal means for the user. Nothing is attached and
 * nothing stays behind.
 */
export type CheckStatus = 'ok' | 'warn' | 'fail' | 'info';

export interface DoctorCheck {
  /** Stable key (JSON consumers, tests). */
  id: string;
  title: string;
  status: CheckStatus;
  detail: string;
}

export interface DoctorReport {
  /** False when a check xdp-lb cannot run without failed. */
  ok: boolean;
  checks: DoctorCheck[];
}

export interface DoctorOptions {
  /** Interfaces to look at: existence, MTU, driver, what XDP program holds them now. */
  interfaces?: readonly string[];
  netns?: string | null;
}

const BPF_FS_MAGIC = 0xcafe4a11;

const check = (id: string, title: string, status: CheckStatus, detail: string): DoctorCheck => ({ id, title, status, detail });

export async function doctor(opts: DoctorOptions = {}): Promise<DoctorReport> {
  const checks: DoctorCheck[] = [];
  const privileged = hasPrivileges();
  checks.push(
    privileged
      ? check('privileges', 'privileges', 'ok', 'CAP_BPF and CAP_NET_ADMIN')
      : check('privileges', 'privileges', 'fail', 'needs CAP_BPF (or CAP_SYS_ADMIN) and CAP_NET_ADMIN: run as root'),
  );
  const p = kernelFeatures();
  checks.push(check('bpf', 'bpf() syscall', p.bpf ? 'ok' : 'fail', p.bpf ? 'maps can be created' : reasonOf(p.reasons, 'bpf()')));
  checks.push(check('xdp', 'XDP programs', p.xdp ? 'ok' : 'fail', p.xdp ? 'the kernel loads XDP programs' : reasonOf(p.reasons, 'XDP')));
  if (p.jit !== undefined) {
    checks.push(
      check(
        'jit',
        'BPF JIT',
        p.jit ? 'ok' : 'warn',
        p.jit
          ? 'net.core.bpf_jit_enable = 1'
          : 'net.core.bpf_jit_enable = 0: programs run interpreted, several times slower; chain mode needs the JIT',
      ),
    );
  }
  checks.push(
    check(
      'btf',
      'kernel BTF',
      p.btf ? 'ok' : 'info',
      p.btf
        ? '/sys/kernel/btf/vmlinux'
        : 'no /sys/kernel/btf/vmlinux: fine for xdp-lb (its objects need no CO-RE), but extension programs need it',
    ),
  );
  checks.push(bpffsCheck());
  if (p.xdp) {
    // Only `lb bench` ever used live frames; the load balancer itself never needs them.
    checks.push(
      check(
        'live-frames',
        'XDP live frames (BPF_F_TEST_XDP_LIVE_FRAMES)',
        p.liveFrames ? 'ok' : 'info',
        p.liveFrames
          ? 'BPF_PROG_RUN can transmit frames'
          : `refused (${p.liveFramesErrno ?? 'error'}): not needed by xdp-lb; lb bench packet-rate uses its own closed-loop generator instead`,
      ),
    );
  }
  if (p.bpf && p.xdp && privileged) {
    checks.push(
      fromProbe('chain', 'chain mode (tail calls)', await probeTailCalls(), (o) =>
        o.ok
          ? 'xdp-lb can share an interface with other XDP programs: chain: {name, slot, next} (docs/config.md)'
          : `chain mode is unavailable: ${o.detail}`,
      ),
    );
    checks.push(fromProbe('libxdp', 'libxdp dispatcher (freplace)', await probeExtensions(), explainExtensions));
  } else {
    checks.push(check('chain', 'chain mode (tail calls)', 'info', 'not probed: needs the bpf() syscall, XDP and privileges'));
    checks.push(check('libxdp', 'libxdp dispatcher (freplace)', 'info', 'not probed: needs the bpf() syscall, XDP and privileges'));
  }
  const lockdown = lockdownMode();
  checks.push(
    check(
      'lockdown',
      'kernel lockdown',
      'info',
      lockdown === null ? 'not visible (no /sys/kernel/security/lockdown): the probes above are what counts' : `${lockdown}`,
    ),
  );
  checks.push(clangCheck());
  for (const name of opts.interfaces ?? []) checks.push(interfaceCheck(name, new NetnsScope(opts.netns ?? null)));
  return { ok: !checks.some((c) => c.status === 'fail'), checks };
}

function reasonOf(reasons: readonly string[], topic: string): string {
  return reasons.find((r) => r.includes(topic)) ?? reasons[0] ?? `${topic} is not available`;
}

/** A probe as a check: ok, or a warning (neither probe is needed to run xdp-lb on its own). */
function fromProbe(id: string, title: string, o: ProbeOutcome, explain: (o: ProbeOutcome) => string): DoctorCheck {
  return check(id, title, o.ok ? 'ok' : 'warn', explain(o));
}

/**
 * libxdp's dispatcher attaches each member program as an extension of one of its slot functions,
 * so a kernel that refuses extensions cannot run it (xdp-loader falls back to one program per
 * interface, or fails). xdp-lb's chain mode needs only a program array.
 */
export function explainExtensions(o: ProbeOutcome): string {
  if (o.ok)
    return 'extension programs work: libxdp\'s dispatcher (xdp-loader) can run here; see bpf/README.md "Chaining" for using xdp-lb next to it';
  const how = o.stage === 'attach' ? 'refuses to attach' : o.stage === 'run' ? 'does not run' : 'refuses to load';
  return (
    `this kernel ${how} extension (freplace) programs${o.code ? ` (${o.code})` : ''}, which libxdp's dispatcher needs: ` +
    'xdp-loader/libxdp multi-program mode cannot work here; to run xdp-lb next to other XDP programs use its chain mode ' +
    '(chain: {name, slot, next}: a root program and tail calls)'
  );
}

function bpffsCheck(): DoctorCheck {
  const root = bpffsRoot();
  let dir = root;
  while (!existsSync(dir) && dirname(dir) !== dir) dir = dirname(dir);
  try {
    const fs = statfsSync(dir);
    if (fs.type === BPF_FS_MAGIC) return check('bpffs', 'bpffs', 'ok', `${dir} is on bpffs (pins under ${root})`);
    return check('bpffs', 'bpffs', 'fail', `${dir} is not on bpffs: pins under ${root} need it (mount -t bpf bpf /sys/fs/bpf)`);
  } catch (e) {
    return check('bpffs', 'bpffs', 'fail', `cannot inspect ${dir}: ${(e as Error).message}`);
  }
}

function clangCheck(): DoctorCheck {
  const r = spawnSync('clang', ['--version'], { encoding: 'utf8' });
  if (r.status !== 0)
    return check(
      'clang',
      'clang',
      'info',
      'not installed: needed only to compile third-party strategy fragments (apt-get install clang llvm)',
    );
  const version = /clang version ([\d.]+)/.exec(r.stdout)?.[1] ?? 'installed';
  return check('clang', 'clang', 'ok', `clang ${version}: third-party strategy fragments compile`);
}

/** The interface's driver as ethtool names it (veth, virtio_net, mlx5_core, ...), or undefined. */
function driverOf(ns: NetnsScope, name: string): string | undefined {
  const r = ns.exec('ethtool', ['-i', name], { allowFail: true });
  return /^driver: (\S+)/m.exec(r.stdout)?.[1];
}

function interfaceCheck(name: string, ns: NetnsScope): DoctorCheck {
  const id = `interface:${name}`;
  const title = `interface ${name}`;
  let ifindex: number;
  try {
    ifindex = ns.run(() => ifindexOf(name));
  } catch {
    return check(id, title, 'fail', `no such interface${ns.name ? ` in netns ${ns.name}` : ''}`);
  }
  const parts: string[] = [];
  let status: CheckStatus = 'ok';
  const driver = driverOf(ns, name);
  if (driver) parts.push(`driver ${driver}`);
  const mtu = mtuOf(ns, name);
  if (mtu !== undefined) {
    parts.push(`MTU ${mtu}`);
    if (mtu > XDP_MAX_NATIVE_MTU) {
      status = 'warn';
      parts.push(`jumbo frames: native XDP impossible (MTU <= ${XDP_MAX_NATIVE_MTU}), generic mode only`);
    }
  }
  const link = linkNote(ns, name);
  if (link.warn) status = 'warn';
  parts.push(link.text);
  const occ = ns.run(() => occupant(ifindex));
  if (!occ) {
    parts.push('no XDP program: free');
  } else {
    const progName = programName(occ.progId);
    const held = `XDP program ${occ.progId}${progName ? ` (${progName})` : ''}, ${MODE_NAME[occ.mode as KernelMode] ?? occ.mode}, ${occ.attachment === 'link' ? `bpf_link ${occ.linkId ?? '?'}` : 'netlink'}`;
    if (progName === LIBXDP_DISPATCHER) {
      status = 'warn';
      parts.push(`${held}: ${LIBXDP_NOTE(name)}`);
    } else if (progName === 'xdp_lb' || progName === 'xdp_root') {
      parts.push(`${held}: xdp-lb${progName === 'xdp_root' ? "'s chain root (lb chain status)" : ''}`);
    } else {
      status = 'warn';
      parts.push(`${held}: another tool's program; deploy refuses to replace it (--force replaces a netlink one; chain mode can run both)`);
    }
  }
  return check(id, title, status, parts.join('; '));
}

/**
 * What deploy will do to the device besides attaching (lifecycle/link-prep.ts), or why native mode
 * is refused: a veth's peer (xdp_pass, TX checksum and VLAN offload), a NIC's rx VLAN offload.
 */
function linkNote(ns: NetnsScope, name: string): { text: string; warn: boolean } {
  const peer = vethPeer(ns, name);
  if (!peer) {
    const f = features(ns, name);
    if (!f) return { text: 'ethtool -k failed (is ethtool installed?): whether the NIC strips VLAN tags is unknown', warn: true };
    const on = ['rxvlan', 'rx-vlan-stag-hw-parse'].filter((k) => f[k]?.on);
    if (!on.length) return { text: 'VLAN tags reach XDP in the frame', warn: false };
    if (on.some((k) => f[k]!.fixed))
      return {
        text: `${on.join(', ')} on [fixed]: the NIC strips VLAN tags before XDP sees them (tagged frames are balanced as untagged)`,
        warn: true,
      };
    return {
      text: `${on.join(', ')} on: the NIC would strip VLAN tags before XDP; deploy turns it off (restored at undeploy)`,
      warn: false,
    };
  }
  if ('unreachable' in peer) {
    return {
      text: `veth; ${peer.unreachable}: native mode is refused (veth drops XDP_TX'd frames unless its peer runs XDP, and the peer's TX checksum offload must be off), use generic; auto picks generic`,
      warn: true,
    };
  }
  const where = `peer ${peer.found.name}${peer.found.netns && peer.found.netns !== ns.name ? ` in netns ${peer.found.netns}` : ''}`;
  const scope = new NetnsScope(peer.found.netns);
  const xdp = xdpProgramOn(scope, peer.found.name);
  const f = features(scope, peer.found.name) ?? {};
  const on = ['tx', 'txvlan', 'tx-vlan-stag-hw-insert'].filter((k) => f[k]?.on);
  return {
    text:
      `veth, ${where} (${xdp ? `XDP program ${xdp.id}${xdp.name ? ` (${xdp.name})` : ''}` : 'no XDP program'}${on.length ? `; ${on.join(', ')} on` : ''}): ` +
      `native mode needs an XDP program on the peer and its TX checksum offload off, and VLAN tags stay in the frame only with its TX VLAN offload off; ` +
      `deploy does that (xdp_pass when the peer has none, costing TCP retransmits on the peer's traffic; restored at undeploy); auto picks generic on veth`,
    warn: false,
  };
}
