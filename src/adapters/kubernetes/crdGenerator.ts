import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';
import { anomalyAdmissionPolicy } from './api/anomalyAdmission.ts';
import { auditEventAdmissionPolicy } from './api/auditEventAdmission.ts';
import { apiGroup, apiVersion, type KindDefinition } from './api/kindDefinition.ts';
import { cairnKinds } from './api/kinds.ts';
import { findStructuralViolations, type JsonSchemaProps, toStructuralSchema } from './api/structuralSchema.ts';

/** Where the generated CRDs are checked in. */
export const defaultCrdDir = fileURLToPath(new URL('../../../crds/', import.meta.url));

/** The Helm chart's copy: Helm installs what its crds/ folder holds before the templates, and reads no other path. */
export const chartCrdDir = fileURLToPath(new URL('../../../deploy/helm/cairn/crds/', import.meta.url));

/** Every checked-in copy of the generated CRDs; `generate` writes and `check` checks them all. */
export const crdDirs: readonly string[] = [defaultCrdDir, chartCrdDir];

export const generatedHeader = [
  '# Generated from src/adapters/kubernetes/api/ by `npm run crds` (cairn crds generate). Do not edit by hand:',
  '# change the TypeBox schema and regenerate; `cairn crds check` fails when this file drifts.',
].join('\n');

const crdFileSuffix = `.${apiGroup}.yaml`;

export const crdFileName = (kind: KindDefinition): string => `${kind.plural}${crdFileSuffix}`;

/** The apiextensions.k8s.io/v1 CustomResourceDefinition of one kind, as a plain object. */
export function buildCrd(kind: KindDefinition): Record<string, unknown> {
  const schema = rootSchema(kind);
  // The envelope (apiVersion, kind, metadata) is fixed here; spec and status come from the kind and get checked.
  const problems = ['spec', 'status'].flatMap((part) => {
    const sub = schema.properties?.[part];
    return sub === undefined ? [] : findStructuralViolations(sub, `${kind.kind}.${part}`);
  });
  if (problems.length > 0) throw new Error(`${kind.kind} has a non-structural schema:\n  ${problems.join('\n  ')}`);
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: {
      name: `${kind.plural}.${apiGroup}`,
      labels: { 'app.kubernetes.io/name': 'cairn', 'app.kubernetes.io/part-of': 'cairn' },
    },
    spec: {
      group: apiGroup,
      scope: 'Namespaced',
      names: {
        kind: kind.kind,
        listKind: `${kind.kind}List`,
        plural: kind.plural,
        singular: kind.singular,
        shortNames: [...kind.shortNames],
        categories: [...kind.categories],
      },
      versions: [
        {
          name: apiVersion,
          served: true,
          storage: true,
          schema: { openAPIV3Schema: schema },
          ...(kind.statusSubresource ? { subresources: { status: {} } } : {}),
          additionalPrinterColumns: kind.printerColumns.map((column) => ({
            name: column.name,
            type: column.type,
            jsonPath: column.jsonPath,
            ...(column.description === undefined ? {} : { description: column.description }),
            ...(column.priority === undefined || column.priority === 0 ? {} : { priority: column.priority }),
          })),
        },
      ],
    },
  };
}

function rootSchema(kind: KindDefinition): JsonSchemaProps {
  const properties: Record<string, JsonSchemaProps> = {
    apiVersion: { description: 'The versioned schema of this representation of an object.', type: 'string' },
    kind: { description: 'The REST resource this object represents.', type: 'string' },
    // The API server owns metadata; a CRD may not constrain it beyond name.
    metadata: { type: 'object' },
    spec: toStructuralSchema(kind.spec, `${kind.kind}.spec`),
  };
  if (kind.status !== undefined) properties.status = toStructuralSchema(kind.status, `${kind.kind}.status`);
  return { description: kind.description, type: 'object', required: ['spec'], properties };
}

export function renderCrd(kind: KindDefinition): string {
  return `${generatedHeader}\n${stringify(buildCrd(kind), { lineWidth: 0, aliasDuplicateObjects: false })}`;
}

/** Every CRD file, keyed by file name, rendered in memory. */
export function renderCrds(kinds: readonly KindDefinition[] = cairnKinds): Map<string, string> {
  return new Map(kinds.map((kind) => [crdFileName(kind), renderCrd(kind)]));
}

/** The admission policy on Anomalies, applied with the CRDs by `kubectl apply -f crds/`. */
export const admissionPolicyFile = 'anomalies.admission.yaml';

/** In the chart it is a template, so `helm upgrade` updates it (Helm never upgrades what its crds/ folder holds). */
export const chartAdmissionTemplate = '../templates/anomaly-admission.yaml';

const renderPolicyDocuments = () =>
  anomalyAdmissionPolicy()
    .map((doc) => stringify(doc, { lineWidth: 0, aliasDuplicateObjects: false }))
    .join('---\n');

export function renderAdmissionPolicy(): string {
  return `${generatedHeader}\n${renderPolicyDocuments()}`;
}

/** Off with `admissionPolicy.enabled=false`, for clusters older than Kubernetes 1.30. */
export function renderChartAdmissionTemplate(): string {
  return `${generatedHeader}\n{{- if .Values.admissionPolicy.enabled }}\n${renderPolicyDocuments()}{{- end }}\n`;
}

/** What is generated beside the CRDs of `dir`, by path relative to it: the admission policy, in the chart's form there. */
export function renderCompanions(dir: string): Map<string, string> {
  return resolve(dir) === resolve(chartCrdDir)
    ? new Map([
        [chartAdmissionTemplate, renderChartAdmissionTemplate()],
        [chartAuditEventAdmissionTemplate, renderChartAdmission(auditEventAdmissionPolicy())],
      ])
    : new Map([
        [admissionPolicyFile, renderAdmissionPolicy()],
        [auditEventAdmissionFile, renderAdmission(auditEventAdmissionPolicy())],
      ]);
}

/** The admission policy that keeps AuditEvents unchanged (api/auditEventAdmission.ts), beside the CRDs. */
export const auditEventAdmissionFile = 'auditevents.admission.yaml';
export const chartAuditEventAdmissionTemplate = '../templates/auditevent-admission.yaml';

const renderDocuments = (docs: readonly Record<string, unknown>[]) =>
  docs.map((doc) => stringify(doc, { lineWidth: 0, aliasDuplicateObjects: false })).join('---\n');

const renderAdmission = (docs: readonly Record<string, unknown>[]) => `${generatedHeader}\n${renderDocuments(docs)}`;

/** Under the same switch as the Anomaly policy: Kubernetes 1.30 or later. */
const renderChartAdmission = (docs: readonly Record<string, unknown>[]) =>
  `${generatedHeader}\n{{- if .Values.admissionPolicy.enabled }}\n${renderDocuments(docs)}{{- end }}\n`;

export function writeCrds(dir: string = defaultCrdDir): string[] {
  mkdirSync(dir, { recursive: true });
  const rendered = renderCrds();
  for (const [file, content] of rendered) writeFileSync(join(dir, file), content);
  for (const [file, content] of renderCompanions(dir)) writeFileSync(join(dir, file), content);
  return [...rendered.keys()];
}

export interface CrdDrift {
  readonly file: string;
  readonly problem: 'missing' | 'changed' | 'stale';
}

/** Files in `dir` that differ from what the schemas render: missing, changed, or generated for a kind that is gone. */
export function checkCrds(dir: string = defaultCrdDir): CrdDrift[] {
  const rendered = renderCrds();
  const onDisk = listCrdFiles(dir);
  const drift: CrdDrift[] = [];
  for (const [file, content] of rendered) {
    if (!onDisk.includes(file)) drift.push({ file, problem: 'missing' });
    else if (readFileSync(join(dir, file), 'utf8') !== content) drift.push({ file, problem: 'changed' });
  }
  for (const file of onDisk) if (!rendered.has(file)) drift.push({ file, problem: 'stale' });
  for (const [file, content] of renderCompanions(dir)) {
    const path = join(dir, file);
    if (!existsSync(path)) drift.push({ file, problem: 'missing' });
    else if (readFileSync(path, 'utf8') !== content) drift.push({ file, problem: 'changed' });
  }
  return drift;
}

function listCrdFiles(dir: string): string[] {
  try {
    return readdirSync(dir).filter((file) => file.endsWith(crdFileSuffix));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
}
