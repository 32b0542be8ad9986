// Can this machine run a lab? Suites ask first and skip with the reason instead of failing.
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';

export interface Support {
  ok: boolean;
  /** Why not, when `ok` is false. */
  reason?: string;
}

function onPath(cmd: string): boolean {
  return (process.env['PATH'] ?? '').split(delimiter).some((d) => {
    try {
      accessSync(join(d, cmd), constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

function need(cmds: string[]): Support {
  if (process.getuid?.() !== 0) return { ok: false, reason: 'needs root (network namespaces, veth, XDP)' };
  const missing = cmds.filter((c) => !onPath(c));
  return missing.length ? { ok: false, reason: `missing command(s): ${missing.join(', ')}` } : { ok: true };
}

/** Root plus ip, nsenter, setpriv, sysctl and ethtool. */
export function labSupport(): Support {
  return need(['ip', 'nsenter', 'setpriv', 'sysctl', 'ethtool']);
}

/** `labSupport` plus the tools behind the client helpers and captures (curl, ping, python3). */
export function labToolsSupport(): Support {
  return need(['ip', 'nsenter', 'setpriv', 'sysctl', 'ethtool', 'curl', 'ping', 'python3']);
}
