import type { ConfigShape } from './schema.js';
import type { BackendConfig } from './types.js';

/**
 * QUIC connection-id routing (bpf/lib/quic.h): `quic: true` on a UDP service, and on its backends
 * `quicServerId`, the server id each writes into its connection ids; unique within the service (a
 * packet's id names one backend). Reports what does not fit.
 */
export function checkQuic(
  svc: ConfigShape['services'][number],
  backends: readonly BackendConfig[],
  path: string,
  report: (path: string, message: string) => void,
): void {
  if (svc.quic && svc.protocol !== 'udp') report(`${path}.quic`, 'QUIC runs over UDP: quic needs protocol: udp');
  const seen = new Map<number, string>();
  svc.backends.forEach((entry, j) => {
    if (typeof entry === 'string' || entry.quicServerId === undefined) return;
    if (!svc.quic) {
      report(`${path}.backends.${j}.quicServerId`, 'quicServerId is for QUIC services: set quic: true on the service');
      return;
    }
    const other = seen.get(entry.quicServerId);
    if (other !== undefined)
      report(
        `${path}.backends.${j}.quicServerId`,
        `server id ${entry.quicServerId} is also backend ${other}'s: each backend needs its own`,
      );
    seen.set(entry.quicServerId, backends.find((b) => b.quicServerId === entry.quicServerId)?.key ?? entry.address);
  });
}
