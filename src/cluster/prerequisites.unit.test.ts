import { describe, expect, it } from 'vitest';
import { ensurePrerequisites, type Lookup, missingPrerequisites, Prerequisites, planSetup } from './prerequisites.ts';

/** A machine with exactly these files executable and these names on PATH. */
const machine = (onPath: string[], files: string[], env: Record<string, string> = {}) => {
  const path = new Set(onPath);
  const fs = new Set(files);
  const look: Lookup = { onPath: (n) => path.has(n), executable: (p) => fs.has(p), env: (n) => env[n] };
  return { look, path, fs };
};

const debianFiles = ['/usr/bin/prometheus', '/usr/bin/promtool', '/usr/bin/chromium', '/usr/sbin/sshd'];
const debianPath = ['go', 'prometheus-alertmanager', 'jq', 'openssl', 'git', 'apt-get'];

describe('test prerequisites', () => {
  it('finds nothing missing on a machine with every Debian tool and Go', () => {
    expect(missingPrerequisites(machine(debianPath, debianFiles).look)).toEqual([]);
  });

  it('accepts an upstream alertmanager binary and environment overrides where the tests honour them', () => {
    const { look } = machine(
      ['go', 'alertmanager', 'openssl', 'git', 'my-jq'],
      ['/opt/prom/prometheus', '/opt/prom/promtool', '/opt/chrome', '/usr/sbin/sshd'],
      {
        CAIRN_PROMETHEUS_BINARY: '/opt/prom/prometheus',
        CAIRN_PROMTOOL_BINARY: '/opt/prom/promtool',
        CAIRN_CHROMIUM: '/opt/chrome',
        CAIRN_JQ: 'my-jq',
      },
    );
    expect(missingPrerequisites(look)).toEqual([]);
  });

  it('names each missing tool, Prometheus when only promtool is absent, sshd by its path only', () => {
    const { look } = machine(['go', 'jq', 'git', 'sshd'], ['/usr/bin/prometheus', '/usr/bin/chromium']);
    expect(missingPrerequisites(look).map((p) => p.tool)).toEqual(['alertmanager', 'prometheus', 'openssl', 'sshd']);
  });

  it('plans an install of the Debian packages only as root with apt-get', () => {
    const missing = missingPrerequisites(machine(['go', 'apt-get'], []).look);
    expect(planSetup(missing, { root: true, aptGet: true, install: true })).toEqual({
      kind: 'install',
      packages: ['prometheus-alertmanager', 'prometheus', 'chromium', 'jq', 'openssl', 'git', 'openssh-server'],
    });
    for (const m of [
      { root: false, aptGet: true, install: true },
      { root: true, aptGet: false, install: true },
      { root: true, aptGet: true, install: false },
    ])
      expect(planSetup(missing, m).kind).toBe('stop');
  });

  it('stops with one message listing the apt-get line with every package and the Go hint', () => {
    const missing = missingPrerequisites(machine(['openssl', 'git'], ['/usr/sbin/sshd', '/usr/bin/chromium']).look);
    const plan = planSetup(missing, { root: false, aptGet: true, install: true });
    expect(plan.kind).toBe('stop');
    const message = plan.kind === 'stop' ? plan.message : '';
    expect(message).toContain(
      'sudo apt-get update && sudo apt-get install -y --no-install-recommends prometheus-alertmanager prometheus jq',
    );
    expect(message).toContain('https://go.dev/doc/install');
    for (const tool of ['go', 'alertmanager', 'prometheus', 'jq']) expect(message).toContain(`${tool} (`);
    expect(message).not.toContain('chromium');
  });

  it('does not reinstall a package whose binary the tests look for through a broken override', () => {
    const { look } = machine(
      debianPath,
      debianFiles.filter((f) => f !== '/usr/bin/chromium'),
      {
        CAIRN_JQ: '/nonexistent/jq',
      },
    );
    const missing = missingPrerequisites(look);
    expect(planSetup(missing, { root: true, aptGet: true, install: true })).toEqual({
      kind: 'install',
      packages: ['chromium'],
    });
    const onlyJq = missing.filter((p) => p.tool === 'jq');
    const plan = planSetup(onlyJq, { root: true, aptGet: true, install: true });
    expect(plan.kind === 'stop' && plan.message).toContain('unset CAIRN_JQ, or point it at an executable jq');
    expect(plan.kind === 'stop' && plan.message).not.toContain('apt-get');
  });

  it('with only Go missing, a root machine still stops: apt has no Go recent enough', () => {
    const missing = missingPrerequisites(machine(debianPath.slice(1), debianFiles).look);
    const plan = planSetup(missing, { root: true, aptGet: true, install: true });
    expect(plan).toMatchObject({ kind: 'stop' });
    expect(plan.kind === 'stop' && plan.message).not.toContain('apt-get');
  });
});

describe('ensurePrerequisites', () => {
  const deps = (m: ReturnType<typeof machine>, root: boolean, onInstall: (packages: string[]) => number) => {
    const runs: string[] = [];
    const log: string[] = [];
    return {
      runs,
      log,
      deps: {
        look: m.look,
        root,
        install: true,
        log: (line: string) => log.push(line),
        run: async (command: string, args: readonly string[]) => {
          runs.push([command, ...args].join(' '));
          return args[0] === 'install' ? onInstall(args.slice(3)) : 0;
        },
      },
    };
  };

  it('says one line and runs nothing when everything is there, every time', async () => {
    const d = deps(machine(debianPath, debianFiles), true, () => 0);
    await ensurePrerequisites(d.deps);
    await ensurePrerequisites(d.deps);
    expect(d.runs).toEqual([]);
    expect(d.log).toHaveLength(2);
  });

  it('as root, updates, installs the missing packages noninteractively, checks again, then is a no-op', async () => {
    const m = machine(debianPath, ['/usr/bin/prometheus', '/usr/bin/promtool']);
    m.path.delete('jq');
    const d = deps(m, true, (packages) => {
      if (packages.includes('jq')) m.path.add('jq');
      if (packages.includes('chromium')) m.fs.add('/usr/bin/chromium');
      if (packages.includes('openssh-server')) m.fs.add('/usr/sbin/sshd');
      return 0;
    });
    await ensurePrerequisites(d.deps);
    expect(d.runs).toEqual(['apt-get update', 'apt-get install -y --no-install-recommends chromium jq openssh-server']);
    await ensurePrerequisites(d.deps);
    expect(d.runs).toHaveLength(2);
  });

  it('when apt-get fails, stops with its exit code and every command still to run', async () => {
    const m = machine(
      debianPath,
      debianFiles.filter((f) => f !== '/usr/bin/chromium'),
    );
    m.path.delete('git');
    const d = deps(m, true, () => 100);
    await expect(ensurePrerequisites(d.deps)).rejects.toThrow(
      /apt-get failed \(exit 100\)[\s\S]*apt-get install -y --no-install-recommends chromium git/,
    );
  });

  it('as a user, installs nothing and stops with the sudo line', async () => {
    const m = machine(debianPath, debianFiles);
    m.path.delete('openssl');
    const d = deps(m, false, () => 0);
    await expect(ensurePrerequisites(d.deps)).rejects.toThrow(
      'sudo apt-get install -y --no-install-recommends openssl',
    );
    expect(d.runs).toEqual([]);
  });

  it('lists every tool once', () => {
    expect(new Set(Prerequisites.map((p) => p.tool)).size).toBe(Prerequisites.length);
  });
});
