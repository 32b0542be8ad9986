import type { StatusView } from '@xdp-lb/core';
import { human, table } from './table.js';

export function renderStatus(s: StatusView): string {
  const out: string[] = [];
  out.push(
    `instance ${s.instance}  strategies ${s.strategies.join(', ')} (default ${s.strategy})${s.netns ? `  netns ${s.netns}` : ''}  updated ${s.updatedAt}`,
  );
  if (s.chain)
    out.push(
      `chain ${s.chain.name}: xdp-lb in slot ${s.chain.slot}; slots in use ${
        Object.entries(s.chain.slots)
          .map(([k, v]) => `${k}=prog ${v}`)
          .join(' ') || 'none'
      }`,
    );
  out.push('');
  out.push(
    table(
      ['IFACE', 'IFINDEX', 'MODE', 'REQUESTED', 'PROG', 'ATTACHED'],
      s.interfaces.map((i) => [i.name, i.ifindex, i.mode, i.requestedMode, i.progId ?? '-', i.attached ? 'yes' : 'NO']),
    ),
  );
  for (const d of s.devices ?? []) {
    const what = [
      ...(d.features?.length ? [`${d.features.join(', ')} off`] : []),
      ...(d.xdpPass !== undefined ? [`xdp_pass program ${d.xdpPass}`] : []),
    ].join(', ');
    out.push(
      `device ${d.dev}${d.netns && d.netns !== s.netns ? ` (netns ${d.netns})` : ''}: ${what} (deploy's change, undone at undeploy)`,
    );
  }
  for (const svc of s.services) {
    out.push('');
    const addr = `${svc.vip}/${svc.protocol}`;
    out.push(
      `service ${svc.name === addr ? addr : `${svc.name}  ${addr}`}  forward ${svc.forward}  strategy ${svc.strategy}${svc.quic ? '  quic' : ''}  packets ${human(svc.counters.packets)}  flows ${human(svc.counters.newFlows)}  drops ${human(svc.counters.drops)}`,
    );
    if (!svc.serving) out.push(`  NOT SERVING: ${svc.problem}`);
    out.push(
      table(
        ['BACKEND', 'STATE', 'WEIGHT', 'SLOTS', 'PACKETS', 'BYTES', 'FLOWS'],
        svc.backends.map((b) => [
          b.quicServerId !== undefined ? `${b.key} (quic id ${b.quicServerId})` : b.key,
          b.state,
          b.weight,
          b.slots,
          human(b.counters.packets),
          human(b.counters.bytes),
          human(b.counters.newFlows),
        ]),
      ),
    );
  }
  out.push('');
  out.push(`conntrack ${s.conntrack.entries}/${s.conntrack.max}  half-open ${s.halfOpen.entries}/${s.halfOpen.max}`);
  // The flow table's flows are counted above too: this is their share, and its size.
  if (s.flowTable)
    out.push(
      `flow table ${s.flowTable.buckets} buckets x 4: ${s.flowTable.established} established, ${s.flowTable.halfOpen} half-open (counted above too)`,
    );
  if (s.flowSync) {
    const f = s.flowSync;
    out.push(
      `flow sync ${f.listen} with ${f.peers.join(', ')}: ${human(f.recordsSent)} flow records to the agent, ${human(f.recordsDropped)} dropped (the agent's /metrics has the rest)`,
    );
  }
  const nonzero = Object.entries(s.reasons).filter(([, v]) => v > 0);
  if (nonzero.length) out.push(`verdicts  ${nonzero.map(([k, v]) => `${k}=${human(v)}`).join('  ')}`);
  return out.join('\n');
}
