import { NET_EXPAND, needsVipNets } from '../config/prefix.js';
import type { LbConfig } from '../config/types.js';

/**
 * The settings fixed when the program is loaded (rodata, map sizes, attachments): a change to any
 * of them needs a deploy, never a hot update. One list, read by `update` (which refuses such a
 * change) and by the agent (which re-deploys for it), so the two cannot disagree again (they did on
 * `chain`). Returns the names of those that differ between `a` and `b`.
 */
export function loadTimeChanges(a: LbConfig, b: LbConfig, carried: readonly string[] = a.services.map((s) => s.strategy)): string[] {
  const out: string[] = [];
  if (a.instance !== b.instance) out.push('instance');
  // `carried`: the strategies of the running program (default: those `a` uses). A service may move
  // to any of them hot (its lb_svc.strategy); one the program lacks needs a program that has it.
  if (b.services.some((s) => !carried.includes(s.strategy))) out.push('strategy');
  if (a.hashSeed !== b.hashSeed) out.push('hashSeed');
  if (JSON.stringify(a.interfaces) !== JSON.stringify(b.interfaces)) out.push('interfaces');
  if (JSON.stringify(a.limits) !== JSON.stringify(b.limits)) out.push('limits');
  if (JSON.stringify(a.chain) !== JSON.stringify(b.chain)) out.push('chain');
  if (needsVipNets(a) !== needsVipNets(b))
    out.push(
      `services (a prefix VIP of more than ${NET_EXPAND} addresses turns the data plane's prefix lookup ${needsVipNets(b) ? 'on' : 'off'})`,
    );
  if (!!a.cluster !== !!b.cluster || a.cluster?.ringBytes !== b.cluster?.ringBytes) out.push('cluster');
  if (a.snat?.portMin !== b.snat?.portMin || a.snat?.portMax !== b.snat?.portMax) out.push('snat.ports');
  return out;
}
