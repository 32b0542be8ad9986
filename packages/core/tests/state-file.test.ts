// The state file: read through a schema whose every refusal names the file and the way out
// (lb undeploy --force), never a raw JSON or TypeError; written atomically (temporary file,
// fsync, rename), so nothing half-written is ever read.
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { type InstanceState, readState, writeState } from '../src/state/store.js';

const root = mkdtempSync(join(tmpdir(), 'xlb-state-'));
process.env.XDP_LB_STATE_DIR = root;
afterAll(() => rmSync(root, { recursive: true, force: true }));

const good: InstanceState = {
  layout: 1,
  instance: 'st',
  config: { instance: 'st', interfaces: ['eth0'], services: [{ vip: '198.18.0.10:80', forward: 'dsr', backends: ['198.18.0.11'] }] },
  strategy: { id: 'hash', objectPath: '/x/hash.bpf.o' },
  netns: null,
  interfaces: [{ name: 'eth0', ifindex: 2, requestedMode: 'native', mode: 'drv', linkPin: '/sys/fs/bpf/xdp-lb/st/links/eth0' }],
  allocation: { nextGen: 2, services: { '198.18.0.10:80/tcp': { id: 0, backends: { '198.18.0.11:80': { id: 0, gen: 1 } } } } },
  restore: {},
  deployedAt: '2026-01-01T00:00:00.000Z',
  updatedAt: '2026-01-01T00:00:00.000Z',
};
const file = join(root, 'st', 'state.json');
const put = (text: string) => {
  mkdirSync(join(root, 'st'), { recursive: true });
  writeFileSync(file, text);
};
const refusal = (why: string) =>
  new RegExp(
    `^state file ${file.replace(/[.]/g, '\\.')} is damaged \\(${why}\\): lb undeploy --force --instance st removes the instance from its pins alone$`,
  );

describe('state file', () => {
  it('round-trips, and leaves no temporary file', () => {
    writeState(good);
    expect(readState('st')).toEqual(good);
    expect(readdirSync(join(root, 'st'))).toEqual(['state.json']);
  });

  it.each([
    ['truncated JSON', '{"layout": 1, "inst', /Unexpected end of JSON input|Unterminated string/],
    ['empty file', '', /Unexpected end of JSON input/],
    ['not an object', '[]', /\(root\): .*expected object/],
    ['a field of the wrong type', JSON.stringify({ ...good, interfaces: 'eth0' }), /interfaces: .*expected array/],
    ['a missing field', JSON.stringify({ ...good, allocation: undefined }), /allocation: .*expected object/],
    ['an unknown kernel mode', JSON.stringify({ ...good, interfaces: [{ ...good.interfaces[0], mode: 'fast' }] }), /interfaces\.0\.mode: /],
    [
      'a negative id',
      JSON.stringify({ ...good, allocation: { nextGen: 1, services: { x: { id: -1, backends: {} } } } }),
      /allocation\.services\.x\.id: /,
    ],
    ["another instance's state", JSON.stringify({ ...good, instance: 'other' }), /it is the state of instance "other"/],
  ])('%s: one LbError naming the file and lb undeploy --force', (_n, text, why) => {
    put(text);
    let err: Error | undefined;
    try {
      readState('st');
    } catch (e) {
      err = e as Error;
    }
    expect(err?.name).toBe('LbError');
    expect(err!.message.split('\n')).toHaveLength(1);
    expect(err!.message).toMatch(refusal('.*'));
    expect(err!.message).toMatch(why);
  });

  it('absent: not deployed (undefined), not an error', () => {
    rmSync(join(root, 'st'), { recursive: true, force: true });
    expect(readState('st')).toBeUndefined();
  });

  it('a crash between write and rename leaves the old state readable', () => {
    writeState(good);
    writeFileSync(join(root, 'st', 'state.json.tmp-999999'), '{"half');
    expect(readState('st')).toEqual(good);
    expect(JSON.parse(readFileSync(file, 'utf8'))).toEqual(good);
    writeState(good); // the next write removes what the killed one left
    expect(readdirSync(join(root, 'st'))).toEqual(['state.json']);
  });
});
