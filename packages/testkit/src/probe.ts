// A probe packet through the program an instance attached: BPF_PROG_TEST_RUN of the very program
// its link holds, run in the LB's namespace with the attached interface as the ingress (so its
// FIB lookups and neighbours are the lab's). Each probe is a new flow (a TCP SYN or a UDP
// datagram from a fresh source port): it exercises the service lookup, the strategy's table and
// the backend map exactly as a new client's first packet does.
import { BpfProgram, inNetns, xdpMd } from '@xdp-lb/native';
import { buildFrame, parseFrame } from '@xdp-lb/netlab';

export const VERDICTS: Record<number, string> = { 0: 'ABORTED', 1: 'DROP', 2: 'PASS', 3: 'TX', 4: 'REDIRECT' };

export interface ProbeTarget {
  /** The lab namespace the instance was deployed into. */
  netns: string;
  ifindex: number;
  progId: number;
}

export interface ProbeResult {
  verdict: string;
  /** Where the rewritten packet goes ("addr:port"), when it was forwarded. */
  to?: string;
}

let sport = 10_000 + Math.floor(Math.random() * 20_000);

/** Sends one new flow to `vip:port/protocol` from `client`. */
export function probe(t: ProbeTarget, svc: { vip: string; port: number; protocol: 'tcp' | 'udp' }, client = '198.18.0.101'): ProbeResult {
  sport = sport >= 60_000 ? 10_000 : sport + 1;
  const ipv4 = { src: client, dst: svc.vip };
  const frame = Buffer.from(
    buildFrame(
      svc.protocol === 'tcp'
        ? { eth: {}, ipv4, tcp: { sport, dport: svc.port, flags: 'S' } }
        : { eth: {}, ipv4, udp: { sport, dport: svc.port }, payload: 'probe' },
    ),
  );
  const prog = BpfProgram.fromId(t.progId);
  try {
    const r = inNetns(`/run/netns/${t.netns}`, () =>
      prog.testRun({ data: frame, ctx: xdpMd({ packetLength: frame.length, ingressIfindex: t.ifindex }) }),
    );
    const verdict = VERDICTS[r.retval] ?? `retval ${r.retval}`;
    if (verdict !== 'TX' && verdict !== 'REDIRECT') return { verdict };
    const out = parseFrame(r.data as Buffer);
    const port = out.tcp?.dport ?? out.udp?.dport;
    return { verdict, to: `${out.ipv4?.dst}:${port}` };
  } finally {
    prog.dispose();
  }
}
