import { describe, expect, it } from 'vitest';
import { buildProgram, composeLoadBalancer, configFromFlags, run, type Io } from '../src/index.js';

function capture(): Io & { stdout: string[]; stderr: string[] } {
  const stdout: string[] = [];
  const stderr: string[] = [];
  return { stdout, stderr, out: (s) => stdout.push(s), err: (s) => stderr.push(s) };
}

async function lb(...argv: string[]) {
  const io = capture();
  const code = await run(buildProgram(composeLoadBalancer, io), argv, io);
  return { code, out: io.stdout.join('\n'), err: io.stderr.join('\n') };
}

describe('lb usage', () => {
  it('suggests the command a typo meant, exit 2', async () => {
    const r = await lb('deplyo');
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/Did you mean deploy\?/);
  });

  it('rejects an unknown flag with help, exit 2', async () => {
    const r = await lb('status', '--colour');
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/unknown option '--colour'/);
  });

  it('rejects a bad --mode value, exit 2', async () => {
    const r = await lb('deploy', '--iface', 'eth0', '--mode', 'turbo', '--vip', '198.18.0.10:80', '--backend', '198.18.0.11');
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/Allowed choices are native, generic, offload, auto/);
  });

  it('names the missing deploy flags, exit 2', async () => {
    const r = await lb('deploy', '--iface', 'eth0');
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/^lb: deploy needs --vip, --backend/);
  });

  it('reports an unknown strategy as one config line, exit 1, before touching the kernel', async () => {
    const r = await lb(
      'deploy',
      '--strategy',
      'fastest',
      '--iface',
      'lo',
      '--vip',
      '198.18.0.10:80',
      '--backend',
      '198.18.0.11',
      '--forward',
      'dsr',
    );
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/^lb: strategy  unknown strategy "fastest" \(one of hash, random, round-robin/);
  });

  it('reports a missing interface as one config line, exit 1', async () => {
    const r = await lb('deploy', '--iface', 'xlb-no-such0', '--vip', '198.18.0.10:80', '--backend', '198.18.0.11', '--forward', 'dsr');
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/^lb: interfaces.0  no interface named "xlb-no-such0"/);
  });

  it('has help with examples on every command', async () => {
    const program = buildProgram(composeLoadBalancer, capture());
    const all = program.commands.flatMap((c) => [c, ...c.commands]);
    for (const c of all) {
      if (c.commands.length > 0) continue;
      const help = c.helpInformation() + ((c as any)._afterHelpList ?? []).join('');
      let text = help;
      c.configureOutput({ writeOut: (s) => (text += s), writeErr: () => {} });
      c.outputHelp();
      expect(text, `lb ${c.parent?.name()} ${c.name()}`).toMatch(/Examples:/);
    }
  });

  it('config check validates a file without the kernel', async () => {
    const r = await lb('config', 'check', new URL('../../../deploy/examples/lb.yaml', import.meta.url).pathname, '--no-interfaces');
    expect(r.err).toBe('');
    expect(r.out).toMatch(/ok \(1 service\(s\), 3 backend\(s\), strategy hash\)/);
    expect(r.code).toBe(0);
  });
});

describe('flags to config', () => {
  it('builds the one-service config, NAME:MODE overriding --mode, SNAT defaulting to the interface', () => {
    const cfg = configFromFlags(
      {
        iface: ['eth0', 'eth1:generic'],
        mode: 'native',
        vip: '198.18.0.10:53/udp',
        backend: ['198.18.0.11@2'],
        opt: ['tableSize=251', 'hashFields=source'],
      },
      (i) => (i === 'eth0' ? '198.18.0.2' : undefined),
    );
    expect(cfg).toEqual({
      interfaces: ['eth0:native', 'eth1:generic'],
      snat: { addresses: ['198.18.0.2'] },
      services: [
        {
          vip: '198.18.0.10:53',
          protocol: 'udp',
          forward: 'nat',
          options: { tableSize: 251, hashFields: 'source' },
          backends: ['198.18.0.11@2'],
        },
      ],
    });
  });

  it('a prefix VIP: its /LEN is part of the VIP, a trailing /udp the protocol', () => {
    const vip = (text: string) =>
      configFromFlags({ iface: ['eth0'], vip: text, backend: ['198.18.0.11'], forward: 'dsr' }, () => undefined).services[0];
    expect(vip('198.18.10.0/28:80')).toMatchObject({ vip: '198.18.10.0/28:80' });
    expect(vip('198.18.10.0/28:80')!.protocol).toBeUndefined();
    expect(vip('[2001:db8:10::/120]:*/udp')).toMatchObject({ vip: '[2001:db8:10::/120]:*', protocol: 'udp' });
  });
});
