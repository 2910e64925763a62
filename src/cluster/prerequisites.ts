import { spawn } from 'node:child_process';
import { accessSync, constants, statSync } from 'node:fs';
import { delimiter, join } from 'node:path';

/**
 * The machine tools the tests run for real, besides Node and the control plane Cairn builds itself. Each check
 * looks where the test support looks (the same paths and environment overrides), so "present" here means the
 * tests will find it.
 */
export interface Lookup {
  /** Whether `name` is an executable file in a directory of PATH. */
  onPath(name: string): boolean;
  /** Whether `path` is an executable file. */
  executable(path: string): boolean;
  env(name: string): string | undefined;
}

export interface Prerequisite {
  readonly tool: string;
  /** The Debian package that provides it; undefined when apt cannot provide a version that works (Go). */
  readonly debianPackage?: string;
  /** What to do when it is missing and apt cannot help. */
  readonly hint?: string;
  readonly neededBy: string;
  /** Environment variables that point the tests at another binary than the package's. */
  readonly overrides?: readonly string[];
  readonly present: (look: Lookup) => boolean;
}

/** A missing tool, with the overrides that are set but name no executable (apt cannot fix those). */
export type MissingTool = Prerequisite & { readonly badOverrides: readonly string[] };

/** A binary named by an environment override, else a default: a path is checked as a file, a bare name on PATH. */
const binary = (look: Lookup, envName: string, fallback: string): boolean =>
  resolves(look, look.env(envName) || fallback);

const resolves = (look: Lookup, value: string): boolean =>
  value.includes('/') ? look.executable(value) : look.onPath(value);

export const Prerequisites: readonly Prerequisite[] = [
  {
    tool: 'go',
    hint: 'install Go 1.24 or newer (https://go.dev/doc/install) and put it on PATH',
    neededBy: 'building the local control plane, Helm and the Mailpit SMTP server of the email tests',
    present: (look) => look.onPath('go'),
  },
  {
    tool: 'alertmanager',
    debianPackage: 'prometheus-alertmanager',
    neededBy: 'the Alertmanager webhook and channel tests',
    // Debian names the binary prometheus-alertmanager; upstream tarballs name it alertmanager.
    present: (look) => look.onPath('alertmanager') || look.onPath('prometheus-alertmanager'),
  },
  {
    tool: 'prometheus',
    debianPackage: 'prometheus',
    neededBy: 'the metrics and SLO tests (prometheus and promtool)',
    overrides: ['CAIRN_PROMETHEUS_BINARY', 'CAIRN_PROMTOOL_BINARY'],
    present: (look) =>
      binary(look, 'CAIRN_PROMETHEUS_BINARY', '/usr/bin/prometheus') &&
      binary(look, 'CAIRN_PROMTOOL_BINARY', '/usr/bin/promtool'),
  },
  {
    tool: 'chromium',
    debianPackage: 'chromium',
    neededBy: 'the dashboard tests',
    overrides: ['CAIRN_CHROMIUM'],
    present: (look) => binary(look, 'CAIRN_CHROMIUM', '/usr/bin/chromium'),
  },
  {
    tool: 'jq',
    debianPackage: 'jq',
    neededBy: "the check of the local cluster's KWOK stage selectors",
    overrides: ['CAIRN_JQ'],
    present: (look) => binary(look, 'CAIRN_JQ', 'jq'),
  },
  {
    tool: 'openssl',
    debianPackage: 'openssl',
    neededBy: 'the self-signed certificates of the email (STARTTLS) and model-provider TLS tests',
    present: (look) => look.onPath('openssl'),
  },
  {
    tool: 'git',
    debianPackage: 'git',
    neededBy: 'the SourceRepository tests (git http-backend)',
    present: (look) => look.onPath('git'),
  },
  {
    tool: 'sshd',
    debianPackage: 'openssh-server',
    neededBy: 'the SourceRepository ssh:// tests (a loopback sshd of their own at /usr/sbin/sshd)',
    present: (look) => look.executable('/usr/sbin/sshd'),
  },
];

export function missingPrerequisites(
  look: Lookup,
  prerequisites: readonly Prerequisite[] = Prerequisites,
): MissingTool[] {
  return prerequisites
    .filter((p) => !p.present(look))
    .map((p) => ({
      ...p,
      badOverrides: (p.overrides ?? []).filter((name) => {
        const value = look.env(name);
        return value !== undefined && value !== '' && !resolves(look, value);
      }),
    }));
}

/** The packages apt can usefully install: none for a tool the tests look for through a broken override. */
const packagesOf = (missing: readonly MissingTool[]): string[] => [
  ...new Set(
    missing.flatMap((p) => (p.debianPackage === undefined || p.badOverrides.length > 0 ? [] : [p.debianPackage])),
  ),
];

export const aptInstallLine = (packages: readonly string[]): string =>
  `apt-get install -y --no-install-recommends ${packages.join(' ')}`;

/** The one message that lists every command to run, each missing tool with what needs it. */
export function missingMessage(missing: readonly MissingTool[], asRoot: boolean): string {
  const packages = packagesOf(missing);
  const sudo = asRoot ? '' : 'sudo ';
  const commands = [
    ...(packages.length > 0 ? [`${sudo}apt-get update && ${sudo}${aptInstallLine(packages)}`] : []),
    ...missing.flatMap((p) => (p.hint === undefined ? [] : [p.hint])),
    ...missing.flatMap((p) =>
      p.badOverrides.map((name) => `unset ${name}, or point it at an executable ${p.tool} (it names none)`),
    ),
  ];
  return [
    `the tests need tools that are missing: ${missing.map((p) => `${p.tool} (${p.neededBy})`).join('; ')}.`,
    'Run:',
    ...commands.map((c) => `  ${c}`),
  ].join('\n');
}

export type SetupPlan =
  | { readonly kind: 'ready' }
  | { readonly kind: 'install'; readonly packages: readonly string[] }
  | { readonly kind: 'stop'; readonly message: string };

/**
 * What to do about the missing tools: nothing; install the Debian packages (only as root with apt-get, and only
 * when apt can provide something that is missing); or stop with the commands to run.
 */
export function planSetup(
  missing: readonly MissingTool[],
  machine: { readonly root: boolean; readonly aptGet: boolean; readonly install: boolean },
): SetupPlan {
  if (missing.length === 0) return { kind: 'ready' };
  const packages = packagesOf(missing);
  if (packages.length > 0 && machine.root && machine.aptGet && machine.install) return { kind: 'install', packages };
  return { kind: 'stop', message: missingMessage(missing, machine.root) };
}

export interface SetupDeps {
  readonly look: Lookup;
  readonly root: boolean;
  /** Whether to install what is missing when the machine allows it. */
  readonly install: boolean;
  /** Runs a command with its output shown; resolves to its exit code. */
  readonly run: (command: string, args: readonly string[]) => Promise<number>;
  readonly log: (line: string) => void;
}

/**
 * Makes sure every test prerequisite is present, installing the Debian packages when it may, and throws one error
 * listing every command to run when something is still missing. Does nothing more than log one line when all is
 * there, so a second run is a no-op.
 */
export async function ensurePrerequisites(deps: SetupDeps): Promise<void> {
  const missing = missingPrerequisites(deps.look);
  const plan = planSetup(missing, { root: deps.root, aptGet: deps.look.onPath('apt-get'), install: deps.install });
  if (plan.kind === 'ready') {
    deps.log(`test prerequisites present: ${Prerequisites.map((p) => p.tool).join(', ')}`);
    return;
  }
  if (plan.kind === 'stop') throw new Error(plan.message);
  deps.log(`installing Debian packages the tests need: ${plan.packages.join(' ')}`);
  const updated = await deps.run('apt-get', ['update']);
  const installed =
    updated === 0 ? await deps.run('apt-get', ['install', '-y', '--no-install-recommends', ...plan.packages]) : updated;
  const still = missingPrerequisites(deps.look);
  if (still.length === 0) {
    deps.log('test prerequisites installed');
    return;
  }
  const why = installed === 0 ? 'after installing' : `apt-get failed (exit ${installed})`;
  throw new Error(`${why}, ${missingMessage(still, deps.root)}`);
}

/** The real machine: PATH, the file system and the process environment. */
export const machineLookup: Lookup = {
  onPath: (name) =>
    (process.env.PATH ?? '')
      .split(delimiter)
      .filter((dir) => dir !== '')
      .some((dir) => isExecutable(join(dir, name))),
  executable: (path) => isExecutable(path),
  env: (name) => process.env[name],
};

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

/** Runs a command noninteractively with its output on stderr (stdout stays free for a command's result). */
export function runShown(command: string, args: readonly string[]): Promise<number> {
  return new Promise((resolve) => {
    const child = spawn(command, args, {
      stdio: ['ignore', process.stderr, process.stderr],
      env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
    });
    child.on('error', () => resolve(127));
    child.on('exit', (code) => resolve(code ?? 1));
  });
}
