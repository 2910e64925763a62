import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import type { TSchema } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { afterEach, describe, expect, it } from 'vitest';
import { parse, parseAllDocuments } from 'yaml';
import { actionTypes } from './api/actionTypes.ts';
import { apiGroup, apiVersion, cairnCategory, type KindDefinition } from './api/kindDefinition.ts';
import { cairnKinds, findKind } from './api/kinds.ts';
import { findStructuralViolations, type JsonSchemaProps } from './api/structuralSchema.ts';
import {
  admissionPolicyFile,
  buildCrd,
  chartAdmissionTemplate,
  chartCrdDir,
  checkCrds,
  crdDirs,
  crdFileName,
  defaultCrdDir,
  generatedHeader,
  renderAdmissionPolicy,
  renderChartAdmissionTemplate,
  renderCrds,
  writeCrds,
} from './crdGenerator.ts';

/**
 * Resource names, singular names and short names served by a Kubernetes 1.34 API server (kubectl api-resources),
 * plus a few that were removed recently and may still be served by clusters users run. A Cairn name that matched
 * one of these would make `kubectl get <name>` ambiguous.
 */
const builtinNames = new Set([
  // short names
  ...['cs', 'cm', 'ep', 'ev', 'limits', 'ns', 'no', 'pvc', 'pv', 'po', 'rc', 'quota', 'sa', 'svc'],
  ...['crd', 'crds', 'ds', 'deploy', 'rs', 'sts', 'hpa', 'cj', 'csr', 'ing', 'netpol', 'ip', 'pdb', 'psp'],
  ...['pc', 'sc', 'vac'],
  // core/v1
  ...['bindings', 'componentstatuses', 'configmaps', 'endpoints', 'events', 'limitranges', 'namespaces', 'nodes'],
  ...['persistentvolumeclaims', 'persistentvolumes', 'pods', 'podtemplates', 'replicationcontrollers'],
  ...['resourcequotas', 'secrets', 'serviceaccounts', 'services'],
  ...['binding', 'componentstatus', 'configmap', 'event', 'limitrange', 'namespace', 'node'],
  ...['persistentvolumeclaim', 'persistentvolume', 'pod', 'podtemplate', 'replicationcontroller'],
  ...['resourcequota', 'secret', 'serviceaccount', 'service'],
  // admissionregistration, apiextensions, apiregistration
  ...['mutatingwebhookconfigurations', 'validatingwebhookconfigurations', 'validatingadmissionpolicies'],
  ...['validatingadmissionpolicybindings', 'mutatingadmissionpolicies', 'mutatingadmissionpolicybindings'],
  ...['mutatingwebhookconfiguration', 'validatingwebhookconfiguration', 'validatingadmissionpolicy'],
  ...['validatingadmissionpolicybinding', 'mutatingadmissionpolicy', 'mutatingadmissionpolicybinding'],
  ...['customresourcedefinitions', 'customresourcedefinition', 'apiservices', 'apiservice'],
  // apps, autoscaling, batch
  ...['controllerrevisions', 'daemonsets', 'deployments', 'replicasets', 'statefulsets'],
  ...['controllerrevision', 'daemonset', 'deployment', 'replicaset', 'statefulset'],
  ...['horizontalpodautoscalers', 'horizontalpodautoscaler', 'cronjobs', 'cronjob', 'jobs', 'job'],
  // authentication, authorization
  ...['selfsubjectreviews', 'tokenreviews', 'localsubjectaccessreviews', 'selfsubjectaccessreviews'],
  ...['selfsubjectrulesreviews', 'subjectaccessreviews', 'selfsubjectreview', 'tokenreview'],
  ...['localsubjectaccessreview', 'selfsubjectaccessreview', 'selfsubjectrulesreview', 'subjectaccessreview'],
  // certificates, coordination, discovery, events, flowcontrol
  ...['certificatesigningrequests', 'certificatesigningrequest', 'clustertrustbundles', 'clustertrustbundle'],
  ...['podcertificaterequests', 'podcertificaterequest', 'leases', 'lease', 'leasecandidates', 'leasecandidate'],
  ...['endpointslices', 'endpointslice', 'flowschemas', 'flowschema'],
  ...['prioritylevelconfigurations', 'prioritylevelconfiguration'],
  // networking, node, policy, rbac
  ...['ingressclasses', 'ingressclass', 'ingresses', 'ingress', 'networkpolicies', 'networkpolicy'],
  ...['ipaddresses', 'ipaddress', 'servicecidrs', 'servicecidr', 'runtimeclasses', 'runtimeclass'],
  ...['poddisruptionbudgets', 'poddisruptionbudget', 'podsecuritypolicies', 'podsecuritypolicy'],
  ...['clusterrolebindings', 'clusterrolebinding', 'clusterroles', 'clusterrole', 'rolebindings', 'rolebinding'],
  ...['roles', 'role'],
  // resource.k8s.io, scheduling, storage, storagemigration, internal
  ...['deviceclasses', 'deviceclass', 'resourceclaims', 'resourceclaim', 'resourceclaimtemplates'],
  ...['resourceclaimtemplate', 'resourceslices', 'resourceslice', 'devicetaintrules', 'devicetaintrule'],
  ...['priorityclasses', 'priorityclass', 'csidrivers', 'csidriver', 'csinodes', 'csinode'],
  ...['csistoragecapacities', 'csistoragecapacity', 'storageclasses', 'storageclass'],
  ...['volumeattachments', 'volumeattachment', 'volumeattributesclasses', 'volumeattributesclass'],
  ...['storageversionmigrations', 'storageversionmigration', 'storageversions', 'storageversion'],
]);

const designKinds = [
  'Anomaly',
  'Issue',
  'AIInsight',
  'RemediationPlan',
  'PostMortem',
  'Runbook',
  'NotificationPolicy',
  'EscalationPolicy',
  'ServiceLevelObjective',
  'IncidentSLA',
  'ApprovalPolicy',
  'ApprovalRequest',
  'ClusterRegistration',
  'AuditEvent',
  'ChaosExperiment',
  'SourceRepository',
  'Instance',
];

const kindNamed = (name: string): KindDefinition => {
  const kind = findKind(name);
  if (kind === undefined) throw new Error(`no kind ${name}`);
  return kind;
};

/** The openAPIV3Schema of a kind's generated CRD. */
const openApiSchema = (kind: KindDefinition): JsonSchemaProps => {
  const crd = buildCrd(kind) as { spec: { versions: { schema: { openAPIV3Schema: JsonSchemaProps } }[] } };
  const [version] = crd.spec.versions;
  if (version === undefined) throw new Error('no version');
  return version.schema.openAPIV3Schema;
};

/** Follows `.a.b`, and `.list[?(@.type=='Ready')].field` into the list's items (a condition column). */
const resolvePath = (schema: JsonSchemaProps, jsonPath: string): JsonSchemaProps | undefined => {
  let node: JsonSchemaProps | undefined = schema;
  const segments = jsonPath
    .replace(/\[\?\(@[^\]]*\)\]/g, '[]')
    .split('.')
    .slice(1);
  for (const segment of segments) {
    const inList = segment.endsWith('[]');
    node = node?.properties?.[inList ? segment.slice(0, -2) : segment];
    if (inList) node = node?.items as JsonSchemaProps | undefined;
  }
  return node;
};

describe('kind definitions', () => {
  it('define exactly the kinds of DESIGN.md, in group aiops.cairn.dev/v1alpha1', () => {
    expect(cairnKinds.map((k) => k.kind).sort()).toEqual([...designKinds].sort());
    expect(apiGroup).toBe('aiops.cairn.dev');
    expect(apiVersion).toBe('v1alpha1');
  });

  it('use names that collide with no built-in Kubernetes resource, singular or short name', () => {
    // Guard the list itself: the names the brief calls out must be in it.
    for (const name of ['ev', 'po', 'svc', 'rs', 'pv', 'pvc', 'ing', 'cm', 'ds', 'sts', 'hpa', 'netpol', 'pdb']) {
      expect(builtinNames.has(name)).toBe(true);
    }
    for (const name of ['sa', 'ns', 'no', 'cs', 'ep', 'limits', 'quota', 'csr', 'crd', 'deploy', 'rc', 'pc', 'sc']) {
      expect(builtinNames.has(name)).toBe(true);
    }
    const collisions = cairnKinds.flatMap((k) =>
      [k.plural, k.singular, k.kind.toLowerCase(), ...k.shortNames]
        .filter((n) => builtinNames.has(n))
        .map((n) => `${k.kind}: ${n}`),
    );
    expect(collisions).toEqual([]);
  });

  it('use names that are unique among Cairn kinds and well-formed', () => {
    const all = cairnKinds.flatMap((k) => [
      k.plural,
      ...k.shortNames,
      ...(k.singular === k.plural ? [] : [k.singular]),
    ]);
    expect(new Set(all).size).toBe(all.length);
    for (const k of cairnKinds) {
      expect(k.singular).toBe(k.kind.toLowerCase());
      expect(k.plural).toMatch(/^[a-z]+$/);
      expect(k.shortNames.length).toBeGreaterThan(0);
      for (const short of k.shortNames) expect(short).toMatch(/^[a-z]{2,8}$/);
    }
  });

  it('all belong to the cairn category, so `kubectl get cairn` lists them', () => {
    for (const k of cairnKinds) expect(k.categories).toContain(cairnCategory);
  });

  it('have a status subresource exactly when they have a status', () => {
    for (const k of cairnKinds) expect(k.statusSubresource, k.kind).toBe(k.status !== undefined);
    expect(cairnKinds.filter((k) => !k.statusSubresource).map((k) => k.kind)).toEqual(['AuditEvent']);
  });

  it('show Severity, State, Risk, Resource, Age for issues and Signal, Source, Resource, Issue, Age for anomalies', () => {
    const defaultColumns = (name: string) =>
      kindNamed(name)
        .printerColumns.filter((c) => (c.priority ?? 0) === 0)
        .map((c) => c.name);
    expect(defaultColumns('Issue')).toEqual(['Severity', 'State', 'Risk', 'Resource', 'Age']);
    expect(defaultColumns('Anomaly')).toEqual(['Signal', 'Source', 'Resource', 'Issue', 'Age']);
  });

  it('have printer columns that point at existing fields of the right type, Age last', () => {
    const columnTypeOf = (node: JsonSchemaProps) => (node.format === 'date-time' ? 'date' : node.type);
    for (const k of cairnKinds) {
      const schema = openApiSchema(k);
      expect(k.printerColumns.at(-1)?.name, k.kind).toBe('Age');
      for (const column of k.printerColumns) {
        if (column.jsonPath === '.metadata.creationTimestamp') continue;
        const node = resolvePath(schema, column.jsonPath);
        expect(node, `${k.kind} ${column.jsonPath}`).toBeDefined();
        expect(columnTypeOf(node ?? {}), `${k.kind} ${column.jsonPath}`).toBe(column.type);
      }
    }
  });

  it('accept an object with a status as a projection writes it', () => {
    const issue = {
      apiVersion: 'aiops.cairn.dev/v1alpha1',
      kind: 'Issue',
      metadata: { name: 'checkout-oom', namespace: 'default', generation: 2 },
      spec: {
        resource: { kind: 'Deployment', name: 'checkout' },
        signal: 'oom_kill',
        source: 'watcher',
        severity: 'medium',
        riskScore: 50,
      },
      status: {
        state: 'Remediating',
        attempts: 1,
        snoozedUntil: null,
        failedActions: ['RestartDeployment'],
        observedGeneration: 2,
        conditions: [
          {
            type: 'Ready',
            status: 'False',
            reason: 'Remediating',
            message: '',
            lastTransitionTime: '2025-01-01T00:00:00Z',
          },
        ],
      },
    };
    expect([...Value.Errors(kindNamed('Issue').resource, issue)].map((e) => e.path)).toEqual([]);
    const badCondition = structuredClone(issue);
    badCondition.status.conditions[0] = { ...issue.status.conditions[0], status: 'Maybe' } as never;
    expect(Value.Check(kindNamed('Issue').resource, badCondition)).toBe(false);
  });

  it('offer every action type, and only those, wherever an action is named', () => {
    const runbookStep = resolvePath(openApiSchema(kindNamed('Runbook')), '.spec.steps')?.items;
    expect(runbookStep?.properties?.action?.enum).toEqual([...actionTypes]);
    const planned = resolvePath(openApiSchema(kindNamed('RemediationPlan')), '.spec.actions')?.items;
    expect(planned?.properties?.type?.enum).toEqual([...actionTypes]);
  });
});

describe('generated schemas', () => {
  it.each(cairnKinds.map((k) => [k.kind, k] as const))('%s follows the structural-schema rules', (_, kind) => {
    const schema = openApiSchema(kind);
    expect(findStructuralViolations(schema.properties?.spec, 'spec')).toEqual([]);
    if (kind.status !== undefined) expect(findStructuralViolations(schema.properties?.status, 'status')).toEqual([]);
    // The envelope: spec required, metadata left to the API server.
    expect(schema.type).toBe('object');
    expect(schema.required).toEqual(['spec']);
    expect(schema.properties?.metadata).toEqual({ type: 'object' });
    expect(Object.keys(schema.properties ?? {})).toEqual(
      kind.status === undefined
        ? ['apiVersion', 'kind', 'metadata', 'spec']
        : ['apiVersion', 'kind', 'metadata', 'spec', 'status'],
    );
    // Nothing JSON cannot carry (symbols, undefined, functions) survives into the CRD.
    expect(JSON.parse(JSON.stringify(schema))).toEqual(schema);
  });

  it('declare defaults that their own schema accepts (the API server refuses the CRD otherwise)', () => {
    const bad: string[] = [];
    let checked = 0;
    const visit = (node: unknown, path: string): void => {
      if (typeof node !== 'object' || node === null) return;
      const schema = node as Record<string, unknown>;
      if ('default' in schema) {
        checked += 1;
        if (!Value.Check(schema as TSchema, schema.default)) bad.push(path);
      }
      for (const [key, child] of Object.entries(schema)) {
        if (key === 'properties' || key === 'patternProperties') {
          for (const [name, sub] of Object.entries(child as object)) visit(sub, `${path}.${name}`);
        } else if (key === 'items') visit(child, `${path}[]`);
        else if (key === 'anyOf' && Array.isArray(child))
          for (const [i, sub] of child.entries()) visit(sub, `${path}|${i}`);
      }
    };
    for (const k of cairnKinds) {
      visit(k.spec, `${k.kind}.spec`);
      if (k.status) visit(k.status, `${k.kind}.status`);
    }
    expect(bad).toEqual([]);
    expect(checked).toBeGreaterThan(20);
  });

  it('carry the cross-field rules as CEL', () => {
    const rulesOf = (node: JsonSchemaProps | undefined) =>
      (node?.['x-kubernetes-validations'] ?? []).map((v) => v.rule);
    const runbook = openApiSchema(kindNamed('Runbook'));
    expect(resolvePath(runbook, '.spec.trigger')?.required).toContain('severity');
    expect(rulesOf(resolvePath(runbook, '.spec.trigger'))).toEqual(['!has(self.signal) || has(self.resourceKind)']);
    const slo = resolvePath(openApiSchema(kindNamed('ServiceLevelObjective')), '.spec.target');
    expect(slo).toMatchObject({ minimum: 0, exclusiveMinimum: true, maximum: 100, exclusiveMaximum: true });
    expect(rulesOf(resolvePath(openApiSchema(kindNamed('AuditEvent')), '.spec'))).toContain('self == oldSelf');
  });
});

describe('crds/', () => {
  const temps: string[] = [];
  afterEach(() => {
    for (const dir of temps.splice(0)) rmSync(dir, { recursive: true, force: true });
  });
  const tempDir = () => {
    const dir = mkdtempSync(join(tmpdir(), 'cairn-crds-'));
    temps.push(dir);
    return dir;
  };

  it('are checked in at crds/ and in the Helm chart, and nowhere else', () => {
    expect(crdDirs).toEqual([defaultCrdDir, chartCrdDir]);
    expect(chartCrdDir).toMatch(/\/deploy\/helm\/cairn\/crds\/$/);
  });

  it.each(crdDirs.map((dir) => [relative(process.cwd(), dir), dir]))(
    '%s matches what the schemas render (run `npm run crds` after changing src/adapters/kubernetes/api)',
    (_, dir) => {
      const rendered = renderCrds();
      const onDisk = readdirSync(dir).filter((f) => f.endsWith(`.${apiGroup}.yaml`));
      expect(onDisk.sort()).toEqual([...rendered.keys()].sort());
      for (const [file, content] of rendered) {
        expect(readFileSync(join(dir, file), 'utf8'), `${file} drifted; run npm run crds`).toBe(content);
      }
      expect(checkCrds(dir)).toEqual([]);
    },
  );

  it("the chart's copy holds nothing but the generated CRDs (Helm would install any other YAML there too)", () => {
    expect(readdirSync(chartCrdDir).sort()).toEqual([...renderCrds().keys()].sort());
  });

  it('holds CustomResourceDefinitions the API server will serve', () => {
    const rendered = renderCrds();
    for (const kind of cairnKinds) {
      const text = rendered.get(crdFileName(kind)) ?? '';
      expect(text.startsWith(generatedHeader)).toBe(true);
      const crd = parse(text);
      expect(crd).toMatchObject({
        apiVersion: 'apiextensions.k8s.io/v1',
        kind: 'CustomResourceDefinition',
        metadata: { name: `${kind.plural}.aiops.cairn.dev` },
        spec: {
          group: 'aiops.cairn.dev',
          scope: 'Namespaced',
          names: { kind: kind.kind, plural: kind.plural, singular: kind.singular, categories: ['cairn'] },
        },
      });
      const [version] = crd.spec.versions;
      expect(crd.spec.versions).toHaveLength(1);
      expect(version).toMatchObject({ name: 'v1alpha1', served: true, storage: true });
      expect(version.subresources).toEqual(kind.statusSubresource ? { status: {} } : undefined);
      expect(version.additionalPrinterColumns.length).toBe(kind.printerColumns.length);
      expect(text).not.toMatch(/[&*]a\d/); // no YAML anchors: every schema is spelled out
    }
  });

  it('check reports missing, changed and stale files', () => {
    const dir = tempDir();
    writeCrds(dir);
    expect(checkCrds(dir)).toEqual([]);
    const issues = join(dir, 'issues.aiops.cairn.dev.yaml');
    writeFileSync(issues, `${readFileSync(issues, 'utf8')}# edited by hand\n`);
    rmSync(join(dir, 'runbooks.aiops.cairn.dev.yaml'));
    writeFileSync(join(dir, 'widgets.aiops.cairn.dev.yaml'), 'kind: CustomResourceDefinition\n');
    expect(checkCrds(dir)).toEqual([
      { file: 'issues.aiops.cairn.dev.yaml', problem: 'changed' },
      { file: 'runbooks.aiops.cairn.dev.yaml', problem: 'missing' },
      { file: 'widgets.aiops.cairn.dev.yaml', problem: 'stale' },
    ]);
  });

  it('generates the admission policy on Anomalies beside the CRDs, and as a template of the chart', () => {
    const dir = tempDir();
    writeCrds(dir);
    const policy = readFileSync(join(dir, admissionPolicyFile), 'utf8');
    expect(policy).toBe(renderAdmissionPolicy());
    expect(policy.startsWith(generatedHeader)).toBe(true);
    const [vap, binding] = parseAllDocuments(policy).map((d) => d.toJS());
    expect(vap).toMatchObject({ kind: 'ValidatingAdmissionPolicy', spec: { failurePolicy: 'Fail' } });
    expect(binding).toMatchObject({
      kind: 'ValidatingAdmissionPolicyBinding',
      spec: { policyName: vap.metadata.name, validationActions: ['Deny'] },
    });
    writeFileSync(join(dir, admissionPolicyFile), policy.replace("'manual'", "'watcher'"));
    expect(checkCrds(dir)).toEqual([{ file: admissionPolicyFile, problem: 'changed' }]);

    const template = readFileSync(join(chartCrdDir, chartAdmissionTemplate), 'utf8');
    expect(template).toBe(renderChartAdmissionTemplate());
    expect(template).toContain('{{- if .Values.admissionPolicy.enabled }}');
  });
});

describe('crds/samples', () => {
  const samplesDir = join(defaultCrdDir, 'samples');
  const invalidDir = join(samplesDir, 'invalid');
  const load = (file: string): { kind: string; apiVersion: string; metadata: Record<string, unknown> } =>
    parse(readFileSync(file, 'utf8'));
  const errorsOf = (kind: KindDefinition, doc: unknown) =>
    [...Value.Errors(kind.resource, doc)].map((e) => `${e.path}: ${e.message}`);

  const validFiles = readdirSync(samplesDir).filter((f) => f.endsWith('.yaml'));
  const invalidFiles = readdirSync(invalidDir).filter((f) => f.endsWith('.yaml'));

  it('has one sample per kind users write', () => {
    const userKinds = cairnKinds.filter((k) => k.specAuthor !== 'cairn').map((k) => `${k.singular}.yaml`);
    expect(validFiles.sort()).toEqual(userKinds.sort());
    expect(userKinds).toHaveLength(11);
  });

  it.each(validFiles)('%s is a valid object of its kind', (file) => {
    const doc = load(join(samplesDir, file));
    expect(doc.apiVersion).toBe('aiops.cairn.dev/v1alpha1');
    expect(doc.metadata.namespace ?? 'default').toBe('default');
    const kind = kindNamed(doc.kind);
    expect(`${kind.singular}.yaml`).toBe(file);
    expect(errorsOf(kind, doc)).toEqual([]);
    expect(Value.Check(kind.resource, doc)).toBe(true);
  });

  // Each invalid sample is wrong in exactly one place, which is where validation must point.
  const expectedErrors: Record<string, string> = {
    'anomaly-bad-signal.yaml': '/spec/signal',
    'issue-risk-150.yaml': '/spec/riskScore',
    'runbook-no-severity.yaml': '/spec/trigger/severity',
    'slo-target-120.yaml': '/spec/target',
  };

  it('has the invalid samples this test knows about', () => {
    expect(invalidFiles.sort()).toEqual(Object.keys(expectedErrors).sort());
  });

  it.each(invalidFiles)('%s is rejected', (file) => {
    const doc = load(join(invalidDir, file));
    expect(doc.apiVersion).toBe('aiops.cairn.dev/v1alpha1');
    const kind = kindNamed(doc.kind);
    expect(Value.Check(kind.resource, doc)).toBe(false);
    const paths = [...new Set([...Value.Errors(kind.resource, doc)].map((e) => e.path))];
    expect(paths).toEqual([expectedErrors[file]]);
  });
});
