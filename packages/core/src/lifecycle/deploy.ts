import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { flowTableBuckets, halfOpenSize } from '../config/defaults.js';
import { toInput } from '../config/load.js';
import type { XdpMode } from '../config/defaults.js';
import type { LbConfig } from '../config/types.js';
import { copyTable, loadProgram, movePin, pinnedSize } from '../dataplane/loader.js';
import { flowTimeouts } from '../dataplane/flowtab.js';
import { moveFlowTable } from '../dataplane/flowtab-move.js';
import { InstanceMaps } from '../dataplane/maps.js';
import { primeNeighbours } from '../dataplane/neighbours.js';
import type { NetnsScope } from '../dataplane/netns.js';
import { rodataFor } from '../dataplane/rodata.js';
import {
  attach,
  detachNetlink,
  detachPinnedLink,
  MODE_NAME,
  pinnedLinkProgram,
  rollbackLinks,
  updatePinnedLink,
  type KernelMode,
} from '../dataplane/xdp.js';
import { allocate } from '../state/allocation.js';
import { instancePaths } from '../state/paths.js';
import {
  type AttachedInterface,
  clearIntent,
  type InstanceState,
  type Intent,
  readState,
  writeIntent,
  writeState,
} from '../state/store.js';
import { crashPoint } from './crash-point.js';
import { recoverFirstDeploy } from './recover.js';
import type { ProgramStrategies } from '../strategy/program.js';
import { LbError } from './errors.js';
import { checkSnatOwned, checkSnatPorts, planInterfaces } from './preflight.js';
import { type LinkChange, prepareLinks, restoreLinks } from './link-prep.js';
import { checkLayout, stampLayout } from './layout.js';
import { enableForwarding } from './forwarding.js';
import { leaveChain, openOrCreateRoot, pinnedRootProgramId } from '../dataplane/chain.js';
import { MAPS, u32 } from '../dataplane/abi.js';
import { reconcile } from './reconcile.js';
import { desiredOf, validateTables } from './desired.js';
import { objectCapacity } from '../dataplane/capacity.js';

export interface DeployOptions {
  netns?: string | null;
  force?: boolean;
}

export interface DeployResult {
  instance: string;
  redeploy: boolean;
  interfaces: { name: string; ifindex: number; mode: string; kernelMode: KernelMode; progId: number }[];
  warnings: string[];
  /** What deploy changed on devices besides attaching (a veth peer's XDP program, offloads), one line each. */
  links: string[];
  /** The layout of the pinned maps this re-deploy upgraded in place (lifecycle/layout.ts UPGRADES). */
  upgradedFrom?: number;
}

/**
 * Validate everything, then load, fill maps and attach. A first deploy that fails part-way
 * removes all it created; a re-deploy swaps the program atomically on each link and keeps the
 * pinned maps, conntrack included, so no established flow breaks.
 */
export async function deploy(cfg: LbConfig, strategies: ProgramStrategies, ns: NetnsScope, opts: DeployOptions): Promise<DeployResult> {
  const paths = instancePaths(cfg.instance);
  // A first deploy killed before it wrote its state left pins (and attached links) that would
  // make this one refuse: rolled back first, and said.
  const recovered = recoverFirstDeploy(cfg.instance);
  const prev = readState(cfg.instance);
  if (prev && (prev.netns ?? null) !== ns.name) {
    throw new LbError(
      `instance ${cfg.instance} is deployed in netns ${prev.netns ?? '(host)'}; undeploy it first or pass the same --netns`,
    );
  }
  if (!existsSync(strategies.objectPath)) {
    throw new LbError(
      `strategies ${strategies.ids.join(', ')}: BPF object ${strategies.objectPath} is missing (run the build: npx nx run-many -t build-bpf)`,
      'ENOENT',
    );
  }
  if (prev?.chain && cfg.chain && (prev.chain.name !== cfg.chain.name || prev.chain.slot !== cfg.chain.slot)) {
    throw new LbError(
      `instance ${cfg.instance} runs in chain ${prev.chain.name} slot ${prev.chain.slot}: undeploy it before moving it to another chain or slot`,
    );
  }
  const { plans, warnings: planWarnings } = planInterfaces(
    cfg,
    ns,
    prev,
    opts.force ?? false,
    cfg.chain ? pinnedRootProgramId(cfg.chain.name) : undefined,
  );
  const warnings = [...(recovered ? [recovered] : []), ...planWarnings];
  checkSnatPorts(cfg, ns);
  checkSnatOwned(cfg, ns);
  const allocation = allocate(prev?.allocation, cfg, objectCapacity(strategies.objectPath));
  validateTables(cfg, strategies, allocation);
  const { upgradeFrom } = checkLayout(cfg.instance, paths, { upgrade: true });

  // ---- the kernel changes from here on ----
  // (A deploy rewrites every map anyway; its intent tells a later update if it was interrupted.)
  // A first deploy also records, as it goes, what it changes outside its pins, so that the next
  // writer can roll it back if it is killed before its state is written (recover.ts).
  const fresh = !prev;
  const journal: Omit<Intent, 'pid' | 'action' | 'since'> = fresh
    ? { netns: ns.name, ...(cfg.chain ? { chain: { name: cfg.chain.name, slot: cfg.chain.slot } } : {}) }
    : {};
  const record = (more: typeof journal) => {
    if (!fresh) return;
    Object.assign(journal, more);
    writeIntent(cfg.instance, 'deploy', journal);
  };
  writeIntent(cfg.instance, prev ? 're-deploy' : 'deploy', journal);
  crashPoint('deploy:intent');
  mkdirSync(paths.maps, { recursive: true, mode: 0o700 });
  mkdirSync(paths.links, { recursive: true, mode: 0o700 });
  // Chained mode: the root goes on the interface, xdp-lb into its slot of the root's array.
  const root = cfg.chain ? await openOrCreateRoot(cfg.chain.name) : undefined;
  const linksDir = root ? join(root.dir, 'links') : paths.links;
  if (root) mkdirSync(linksDir, { recursive: true, mode: 0o700 });
  const halfOpen = halfOpenSize(cfg.limits);
  const { object, program, missingVariables, resized } = await loadProgram({
    ...(root ? { chainArray: root.array } : {}),
    objectPath: strategies.objectPath,
    variables: rodataFor(cfg),
    conntrackSize: cfg.limits.conntrackSize,
    halfOpenSize: halfOpen,
    flowTableBuckets: cfg.limits.flowTable ? flowTableBuckets(cfg.limits) : 0,
    // The LRU tables are preallocated (about 160 bytes an entry each): a DSR-only deployment gets a
    // token NAT table. The NAT table holds the reverse entries of established and half-open flows
    // (bpf/lib/halfopen.h), so that a SYN flood's do not push established ones out. A size that
    // changes gets a new table with the flows migrated (below); a DSR-only deployment keeps
    // whatever NAT table it has.
    snatSize: cfg.snat ? cfg.limits.conntrackSize + halfOpen : (pinnedSize(join(paths.maps, MAPS.snat)) ?? 4096),
    mapPinDir: paths.maps,
    ...(cfg.cluster ? { flowSyncBytes: cfg.cluster.ringBytes } : {}),
    // A new size: a new table, the entries copied over (below), then the pin moved to it.
    resize: true,
  }).catch((e) => {
    if (fresh) {
      rmSync(paths.root, { recursive: true, force: true });
      clearIntent(cfg.instance); // nothing of it is left
    }
    if (root) {
      root.dispose();
      if (!prev?.chain) leaveChain(cfg.chain!.name, cfg.chain!.slot, undefined);
    }
    throw e;
  });
  if (cfg.chain) record({ chain: { name: cfg.chain.name, slot: cfg.chain.slot, progId: program.id } });
  crashPoint('deploy:loaded');
  const attached: AttachedInterface[] = [];
  const created: ReturnType<typeof attach>['link'][] = [];
  const migrations = resized.map((r) => ({ ...r, pin: join(paths.maps, r.name), map: object.map(r.name), moved: false }));
  // lb_ft4 comes last in `resized`: its flows go into the new lb_ct / lb_ct_syn after their own copy.
  const migrate = async (m: (typeof migrations)[number]) =>
    m.name === MAPS.ft4
      ? moveFlowTable(m.pin, object.map(MAPS.ct), object.map(MAPS.ctSyn), flowTimeouts(cfg.limits))
      : copyTable(m.pin, m.map);
  let linkChanges: LinkChange[] = [];
  try {
    // The flows so far go into the new tables before the new program runs.
    for (const m of migrations) await migrate(m);
    const maps = InstanceMaps.fromObject(object);
    // In full: a re-deploy may load a program of other strategies, whose tables read differently.
    await reconcile(maps, strategies, { config: cfg, allocation }, prev ? desiredOf(prev) : undefined, { full: true });
    const restore: Record<string, string> = { ...(prev?.restore ?? {}) };
    enableForwarding(ns, cfg, restore);
    record({ restore });
    crashPoint('deploy:filled');
    // Filling the slot is the atomic switch in chained mode (a re-deploy replaces the entry).
    if (root) root.array.update(u32(cfg.chain!.slot), program);
    const entry = root?.program ?? program;
    // The peers are prepared for the mode that will run: a kept link (update) or a chain root
    // (shared) keeps the mode it has.
    const running = (p: (typeof plans)[number]): KernelMode | undefined =>
      p.action === 'update'
        ? prev!.interfaces.find((x) => x.ifindex === p.ifindex)?.mode
        : p.action === 'shared'
          ? (p.occupant!.mode as KernelMode)
          : undefined;
    const prep = prepareLinks(
      ns,
      plans.map((p) => {
        const m = running(p);
        return m && MODE_NAME[m] ? { ...p.link, mode: MODE_NAME[m] as XdpMode } : p.link;
      }),
      warnings,
    );
    linkChanges = prep.changes;
    record({ links: linkChanges });
    ns.run(() => {
      for (const [i, p] of plans.entries()) {
        const iface = cfg.interfaces[i]!;
        const linkPin = join(linksDir, p.name);
        let mode: KernelMode;
        if (p.action === 'shared') {
          mode = p.occupant!.mode as KernelMode; // another member of the chain attached the root
        } else if (p.action === 'update') {
          updatePinnedLink(linkPin, entry);
          mode = prev!.interfaces.find((x) => x.ifindex === p.ifindex)!.mode;
        } else {
          if (p.action === 'replace') detachNetlink(p.ifindex, p.occupant!.mode);
          const was = p.action === 'reattach' ? prev!.interfaces.find((x) => x.ifindex === p.ifindex)! : undefined;
          if (was) detachPinnedLink(was.linkPin);
          let r: ReturnType<typeof attach>;
          try {
            r = attach(entry, p.ifindex, p.name, p.link.mode);
          } catch (e) {
            // The new mode is refused: the interface gets its old mode back rather than no LB.
            if (was) {
              const back = attach(entry, p.ifindex, p.name, MODE_NAME[was.mode] as XdpMode);
              back.link.pin(linkPin);
              back.link.dispose();
            }
            throw e;
          }
          created.push(r.link);
          // A pin left by a link that no longer holds the interface (detached by hand, the
          // interface re-created): the new link takes its place.
          if (existsSync(linkPin) && pinnedLinkProgram(linkPin) === null) rmSync(linkPin, { force: true });
          r.link.pin(linkPin);
          mode = r.mode;
        }
        maps.setTxPort(p.ifindex);
        attached.push({ name: p.name, ifindex: p.ifindex, requestedMode: iface.mode, mode, linkPin });
      }
    });
    crashPoint('deploy:attached');
    // Interfaces the previous deploy had and this one does not.
    for (const old of prev?.interfaces ?? []) {
      if (attached.some((a) => a.ifindex === old.ifindex)) continue;
      // Same name, new ifindex (the interface was re-created): its pin now holds the new link.
      if (!attached.some((a) => a.linkPin === old.linkPin)) detachPinnedLink(old.linkPin);
      maps.deleteTxPort(old.ifindex);
    }
    // The new program runs: the flows the old one created meanwhile follow, then the pins move.
    for (const m of migrations) {
      const copied = await migrate(m);
      movePin(m.pin, m.map);
      m.moved = true;
      if (m.name === MAPS.ft4) {
        const what = !cfg.limits.flowTable
          ? 'limits.flowTable off: the flow table emptied'
          : m.from === 1
            ? `limits.flowTable on: a flow table of ${m.to} buckets`
            : `limits.flowTableBuckets ${m.from} -> ${m.to}: a new, empty flow table`;
        if (m.from > 1 || copied > 0)
          warnings.push(
            `${what}; ${copied} flows of the old one moved to the conntrack table (flows created during the move may be re-balanced)`,
          );
        else warnings.push(what);
        continue;
      }
      const what = m.name === MAPS.ct ? 'limits.conntrackSize' : m.name === MAPS.ctSyn ? 'limits.halfOpenSize' : 'the NAT table';
      warnings.push(
        `${what} ${m.from} -> ${m.to}: a new table, ${copied} entries copied into it (flows created during the copy may be re-balanced${m.to < m.from ? '; a smaller table keeps the most recent ones' : ''})`,
      );
    }
    const unresolved = primeNeighbours(
      ns,
      cfg.services.flatMap((s) => s.backends.map((b) => b.address)),
    );
    if (unresolved.length)
      warnings.push(
        `next hop not resolved yet for ${unresolved.join(', ')}: first packets to them are dropped (drop_no_neigh) until it is`,
      );
    const now = new Date().toISOString();
    const state: InstanceState = {
      layout: 1,
      instance: cfg.instance,
      config: toInput(cfg),
      strategy: { id: cfg.strategy, objectPath: strategies.objectPath },
      strategies: strategies.ids,
      netns: ns.name,
      interfaces: attached,
      allocation,
      ...(cfg.chain ? { chain: { name: cfg.chain.name, slot: cfg.chain.slot, progId: program.id } } : {}),
      restore,
      links: [...(prev?.links ?? []), ...linkChanges],
      deployedAt: prev?.deployedAt ?? now,
      updatedAt: now,
    };
    writeState(state);
    crashPoint('deploy:written');
    clearIntent(cfg.instance);
    stampLayout(paths);
    if (cfg.limits.newFlowsPerSec > 0 && missingVariables.includes('ct_new_rate')) {
      warnings.push('limits.newFlowsPerSec is ignored: this data plane has no new-flow rate guard (rodata ct_new_rate)');
    }
    return {
      instance: cfg.instance,
      redeploy: !fresh,
      interfaces: attached.map((a) => ({
        name: a.name,
        ifindex: a.ifindex,
        mode: MODE_NAME[a.mode],
        kernelMode: a.mode,
        progId: program.id,
      })),
      warnings,
      links: prep.notes,
      ...(upgradeFrom !== undefined ? { upgradedFrom: upgradeFrom } : {}),
    };
  } catch (e) {
    rollbackLinks(created);
    restoreLinks(linkChanges);
    for (const m of migrations) if (!m.moved) rmSync(`${m.pin}_new`, { force: true });
    if (fresh) {
      rmSync(paths.root, { recursive: true, force: true });
      clearIntent(cfg.instance); // rolled back in full; a failed re-deploy keeps it (maps partly new)
    }
    if (cfg.chain && !prev?.chain) leaveChain(cfg.chain.name, cfg.chain.slot, program.id);
    throw e;
  } finally {
    for (const link of created) link.dispose();
    root?.dispose();
    object.dispose();
  }
}
