import { readFile } from 'node:fs/promises';
import * as k8s from '@kubernetes/client-node';
import type { Command } from 'commander';
import { parseAllDocuments } from 'yaml';
import { CairnError, ErrorCategory } from '../../../domain/errors.ts';
import { customResources } from '../../adapters/kubernetes/customResources.ts';
import { validateSlo } from '../../slo/slo.validation.ts';
import { sloPrometheusRule, toYaml } from '../../slo/sloRules.ts';

export type Write = (text: string) => void;

export interface SloRulesRequest {
  /** `<namespace>/<name>` or `<name>`; optional with --file when the file holds one SLO. */
  readonly slo?: string;
  readonly namespace?: string;
  /** A YAML file holding the SLO (other documents in it are skipped); `-` reads standard input. */
  readonly file?: string;
  readonly kubeconfig?: string;
  /** `key=value` labels for the PrometheusRule. */
  readonly labels?: readonly string[];
  readonly write: Write;
  /** For tests: what `-` reads. */
  readonly stdin?: () => Promise<string>;
}

const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const LABEL_KEY = /^([a-z0-9]([-a-z0-9.]*[a-z0-9])?\/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;

const invalid = (message: string) => new CairnError('cli.invalid_argument', ErrorCategory.Validation, message);

function parseLabels(labels: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const label of labels) {
    const at = label.indexOf('=');
    const key = at < 0 ? label : label.slice(0, at);
    const value = at < 0 ? undefined : label.slice(at + 1);
    if (
      value === undefined ||
      !LABEL_KEY.test(key) ||
      key.length > 316 ||
      !LABEL_VALUE.test(value) ||
      value.length > 63
    ) {
      throw invalid(
        `--label takes key=value with a Kubernetes label key and value, e.g. release=prometheus; got ${JSON.stringify(label)}`,
      );
    }
    out[key] = value;
  }
  return out;
}

/** `<namespace>/<name>` or `<name>`, checked as Kubernetes names. */
function parseRef(ref: string, namespace: string | undefined): { namespace: string | undefined; name: string } {
  const parts = ref.split('/');
  const [ns, name] = parts.length === 2 ? (parts as [string, string]) : [namespace, ref];
  if (parts.length > 2 || !DNS_SUBDOMAIN.test(name) || (ns !== undefined && !DNS_LABEL.test(ns))) {
    throw invalid(`<slo> is <namespace>/<name> or <name> (with -n): got ${JSON.stringify(ref)}`);
  }
  if (parts.length === 2 && namespace !== undefined && namespace !== ns) {
    throw invalid(`${ref} names namespace ${ns}, but -n says ${namespace}`);
  }
  return { namespace: ns, name };
}

interface SloDocument {
  metadata?: { name?: unknown; namespace?: unknown; generation?: unknown };
  spec?: unknown;
}

/** The SLO a file holds: the only one, or the one named. */
async function fromFile(request: SloRulesRequest, file: string) {
  let text: string;
  try {
    text = file === '-' ? await (request.stdin ?? readStdin)() : await readFile(file, 'utf8');
  } catch (error) {
    throw new CairnError(
      'cli.file_unreadable',
      ErrorCategory.Validation,
      `cannot read ${file}: ${(error as Error).message}`,
    );
  }
  const slos: SloDocument[] = [];
  for (const doc of parseAllDocuments(text)) {
    if (doc.errors.length > 0) throw invalid(`${file} is not YAML: ${doc.errors[0]!.message}`);
    const object = doc.toJS() as { kind?: unknown } | null;
    if (object && typeof object === 'object' && object.kind === 'ServiceLevelObjective')
      slos.push(object as SloDocument);
  }
  const named = (o: SloDocument) => (typeof o.metadata?.name === 'string' ? o.metadata.name : '');
  const wanted = request.slo === undefined ? undefined : parseRef(request.slo, request.namespace);
  const matches = slos.filter(
    (o) =>
      wanted === undefined ||
      (named(o) === wanted.name &&
        (wanted.namespace === undefined ||
          o.metadata?.namespace === undefined ||
          o.metadata.namespace === wanted.namespace)),
  );
  if (matches.length === 0) {
    throw new CairnError(
      'slo.not_found',
      ErrorCategory.NotFound,
      wanted === undefined
        ? `${file} holds no ServiceLevelObjective`
        : `${file} holds no ServiceLevelObjective ${request.slo}${slos.length > 0 ? ` (it holds ${slos.map(named).join(', ')})` : ''}`,
    );
  }
  if (matches.length > 1) {
    throw invalid(
      `${file} holds ${matches.length} ServiceLevelObjectives (${matches.map(named).join(', ')}): name one`,
    );
  }
  const object = matches[0]!;
  const name = named(object);
  if (!DNS_SUBDOMAIN.test(name)) throw invalid(`the ServiceLevelObjective in ${file} has no valid metadata.name`);
  const namespace =
    typeof object.metadata?.namespace === 'string'
      ? object.metadata.namespace
      : (wanted?.namespace ?? request.namespace ?? 'default');
  return { namespace, name, generation: 1, spec: object.spec };
}

async function fromCluster(request: SloRulesRequest) {
  if (request.slo === undefined)
    throw invalid('name the SLO: cairn slo rules <namespace>/<name> (or -n <namespace> <name>, or --file)');
  const config = new k8s.KubeConfig();
  if (request.kubeconfig) config.loadFromFile(request.kubeconfig);
  else config.loadFromDefault();
  const ref = parseRef(request.slo, request.namespace);
  const namespace = ref.namespace ?? config.getContextObject(config.getCurrentContext())?.namespace ?? 'default';
  const object = await customResources(config, 'ServiceLevelObjective', 'servicelevelobjectives').get(
    namespace,
    ref.name,
  );
  if (!object) {
    throw new CairnError(
      'slo.not_found',
      ErrorCategory.NotFound,
      `ServiceLevelObjective ${namespace}/${ref.name} does not exist`,
    );
  }
  const generation = (object.metadata as { generation?: number }).generation ?? 1;
  return { namespace, name: ref.name, generation, spec: object.spec };
}

const readStdin = async (): Promise<string> => {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
};

/** Reads the SLO (cluster or file), validates it as the operator does, and writes its PrometheusRule as YAML. */
export async function sloRules(request: SloRulesRequest): Promise<void> {
  const labels = parseLabels(request.labels ?? []);
  const source = request.file === undefined ? await fromCluster(request) : await fromFile(request, request.file);
  const outcome = validateSlo(source, source.spec);
  if (!outcome.ok) {
    throw new CairnError(
      'slo.invalid',
      ErrorCategory.Validation,
      `ServiceLevelObjective ${source.namespace}/${source.name}: ${outcome.problem.field}: ${outcome.problem.message}`,
    );
  }
  const service = (source.spec as { service: string }).service;
  request.write(toYaml(sloPrometheusRule(outcome.slo, { service, labels })));
}

/** `cairn slo rules <namespace>/<name>`: the Prometheus recording and alerting rules of an SLO. */
export function registerSloCommand(program: Command, write: Write = (t) => process.stdout.write(t)): void {
  const slo = program.command('slo').description('service level objectives');
  slo
    .command('rules')
    .description(
      'print a PrometheusRule (monitoring.coreos.com/v1): the error ratio of every window the SLO reads, and a multiwindow burn-rate alert per pair',
    )
    .argument('[slo]', '<namespace>/<name>, or <name> with -n (optional with --file holding one SLO)')
    .option('-n, --namespace <name>', "the SLO's namespace (default: the kubeconfig context's, or default)")
    .option('-f, --file <path>', 'read the SLO from a YAML file instead of the cluster (- for standard input)')
    .option('--kubeconfig <path>', 'kubeconfig (default: KUBECONFIG, ~/.kube/config, or in-cluster)')
    .option(
      '--label <key=value>',
      'a label of the PrometheusRule, e.g. the one your Prometheus ruleSelector picks (repeatable)',
      (value: string, previous: string[]) => [...previous, value],
      [] as string[],
    )
    .action(
      async (
        ref: string | undefined,
        opts: { namespace?: string; file?: string; kubeconfig?: string; label: string[] },
      ) => {
        await sloRules({
          ...(ref === undefined ? {} : { slo: ref }),
          ...(opts.namespace === undefined ? {} : { namespace: opts.namespace }),
          ...(opts.file === undefined ? {} : { file: opts.file }),
          ...(opts.kubeconfig === undefined ? {} : { kubeconfig: opts.kubeconfig }),
          labels: opts.label,
          write,
        });
      },
    );
}
