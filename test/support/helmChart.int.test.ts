import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as k8s from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { parseAllDocuments, parse as parseYaml } from 'yaml';
import { cairnKinds } from '../../src/adapters/kubernetes/api/kinds.ts';
import { renderCrds } from '../../src/adapters/kubernetes/crdGenerator.ts';
import { buildCli } from '../../src/cli/main.ts';
import { applyFault } from '../../src/cluster/faults.ts';
import type { LocalCluster } from '../../src/cluster/localCluster.ts';
import { ensureHelm } from '../../src/cluster/toolchain.ts';
import { type RunningOperator, startOperator } from '../../src/operator.ts';
import {
  createNamespace,
  deleteNamespace,
  deployment,
  eventually,
  isReady,
  type KubeClients,
  kubeClients,
  podsOf,
  testCluster,
} from './kube.ts';

/**
 * The Helm chart against the real API server: it lints, renders what the values ask for, the API server accepts
 * every manifest, and its RBAC is enough for the operator and no more (checked with `kubectl auth can-i` and by
 * running the operator with the ServiceAccount's own token).
 */

const chartDir = fileURLToPath(new URL('../../deploy/helm/cairn/', import.meta.url));
const kubeVersion = 'v1.34.4';

interface Manifest {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  [key: string]: unknown;
}
interface Rule {
  apiGroups: string[];
  resources: string[];
  verbs: string[];
  resourceNames?: string[];
}
interface Container {
  args: string[];
  [key: string]: unknown;
}

interface Ran {
  code: number;
  stdout: string;
  stderr: string;
}

const run = (cmd: string, args: readonly string[], input = ''): Promise<Ran> =>
  new Promise((resolve, reject) => {
    const child = spawn(cmd, [...args], { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      stdout += d;
    });
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
    });
    child.on('error', reject);
    child.on('exit', (code) => resolve({ code: code ?? -1, stdout, stderr }));
    child.stdin.end(input);
  });

const ok = (what: string, ran: Ran): string => {
  if (ran.code !== 0) throw new Error(`${what} failed (exit ${ran.code}): ${ran.stderr.trim() || ran.stdout.trim()}`);
  return ran.stdout;
};

let helm: string;
let cluster: LocalCluster;
let clients: KubeClients;
const namespaces: string[] = [];
const releases: string[] = [];

const kubectl = (args: readonly string[], input?: string) =>
  run(cluster.toolchain.kubectl, ['--kubeconfig', inject('kubeconfig'), ...args], input);

/** `--set` pairs, in order; each value is set as Helm parses it (numbers and booleans typed). */
type Sets = ReadonlyArray<readonly [string, string]>;

const helmArgs = (release: string, namespace: string, sets: Sets) => [
  release,
  chartDir,
  '--namespace',
  namespace,
  '--kube-version',
  kubeVersion,
  ...sets.flatMap(([key, value]) => ['--set', `${key}=${value}`]),
];

async function template(release: string, namespace: string, sets: Sets = [], extra: string[] = []) {
  const text = ok('helm template', await run(helm, ['template', ...helmArgs(release, namespace, sets), ...extra]));
  const docs = parseAllDocuments(text);
  for (const doc of docs) expect(doc.errors, 'rendered YAML parses').toEqual([]);
  const manifests = docs.map((d) => d.toJS() as Manifest | null).filter((m): m is Manifest => m !== null);
  return { text, manifests };
}

const only = (manifests: Manifest[], kind: string): Manifest => {
  const found = manifests.filter((m) => m.kind === kind);
  expect(found.map((m) => m.kind)).toEqual([kind]);
  return found[0] as Manifest;
};

const operatorContainer = (manifests: Manifest[]): Container => {
  const spec = only(manifests, 'Deployment').spec as { template: { spec: { containers: Container[] } } };
  const [container] = spec.template.spec.containers;
  if (!container) throw new Error('the Deployment has no container');
  return container;
};

/** The Role whose name ends with `suffix` (the chart renders one per concern). */
const role = (manifests: Manifest[], suffix: string): Rule[] => {
  const found = manifests.filter((m) => m.kind === 'Role' && m.metadata.name.endsWith(suffix));
  expect(found.map((m) => m.metadata.name)).toHaveLength(1);
  return (found[0] as unknown as { rules: Rule[] }).rules;
};

const clusterRules = (manifests: Manifest[]): Rule[] =>
  (only(manifests, 'ClusterRole') as unknown as { rules: Rule[] }).rules;

/** Every (group, resource, verb) the rules grant, as `verb resource.group` strings. */
const grants = (rules: Rule[]): Set<string> =>
  new Set(
    rules.flatMap((rule) =>
      rule.apiGroups.flatMap((group) =>
        rule.resources.flatMap((resource) =>
          rule.verbs.map((verb) => `${verb} ${resource}${group ? `.${group}` : ''}`),
        ),
      ),
    ),
  );

/** How `cairn operator` reads the rendered args: the real CLI definition, parsed without running the action. */
const parseOperatorArgs = (args: readonly string[]) => {
  expect(args[0]).toBe('operator');
  const operator = buildCli().commands.find((c) => c.name() === 'operator');
  if (!operator) throw new Error('no operator command');
  const { operands, unknown } = operator.parseOptions([...args.slice(1)]);
  expect({ operands, unknown }).toEqual({ operands: [], unknown: [] });
  return operator.opts();
};

const overrides: Sets = [
  ['image.repository', 'registry.example/cairn'],
  ['image.tag', '1.2.3'],
  ['replicaCount', '3'],
  ['store.url', 'esdb://eventstore.cairn-system.svc:2113?tls=false'],
  ['persistence.enabled', 'false'],
  ['watchNamespaces[0]', 'shop'],
  ['watchNamespaces[1]', 'payments'],
  ['detection.tlsSecrets', 'true'],
  ['thresholds.podNotReadySeconds', '60'],
  ['thresholds.podRestarts', '5'],
  ['remediation.enabled', 'false'],
  ['remediation.verificationTimeoutSeconds', '120'],
  ['remediation.envelope.factor', '2.5'],
  ['remediation.envelope.replicaCeiling', '50'],
  ['remediation.autonomousNodeActions', 'true'],
  ['leaderElection.leaseDurationMs', '20000'],
  ['http.port', '9000'],
  ['service.port', '9000'],
  ['serviceMonitor.enabled', 'true'],
  ['policy.mode', 'approve'],
  ['policy.namespaceModes.lab', 'observe'],
  ['policy.namespaceModes.dev', 'auto'],
  ['policy.defaultApproval', 'single'],
  ['policy.sloGuard', 'refuse'],
  ['policy.disruptionGuard', 'approve'],
  ['policy.maxDependants', '2'],
  ['policy.protectedNamespaces[0]', 'payments'],
  ['policy.deniedActions[0]', 'DeletePod'],
  ['policy.deniedActions[1]', 'DrainNode'],
  ['policy.maxPodsAffected', '4'],
  ['policy.maxReplicaShare', '0.5'],
  ['policy.maxDestructivePerPlan', '0'],
  ['auditEvents.limit', '50'],
  ['auditEvents.maxAge', '7d'],
  ['cascade.windowMinutes', '0'],
  ['cascade.recoveryGraceSeconds', '90'],
];

/** Two channels whose Secrets the chart creates; the webhook points nowhere, only Ready is checked. */
const notificationValues = `notifications:
  policies:
    - name: on-call
      spec:
        channels:
          - {name: team-chat, type: slack, secretRef: {name: cairn-slack, key: url}}
          - {name: hook, type: webhook, url: "http://127.0.0.1:9/hook", signingSecretRef: {name: cairn-hook, key: key}}
        rules:
          - {name: prod, match: {severities: [critical, high]}, channels: [team-chat, hook]}
        grouping: {groupWait: 0s}
  secrets:
    - name: cairn-slack
      stringData: {url: "http://127.0.0.1:9/services/T000/B000/XXXX"}
    - name: cairn-hook
      stringData: {key: "s3cret-signing-key"}
`;

/**
 * What chaos.enabled adds to the ClusterRole (src/chaos/faultInjector.ts): pod_kill deletes pods, pod_not_ready
 * labels them, the template faults and scale_to_zero patch workloads, and the node faults label Nodes (missing_config
 * reads the ConfigMap it names, which cascade correlation may read anyway).
 */
const chaosGrants = [
  'delete pods',
  'patch daemonsets.apps',
  'patch deployments.apps',
  'patch nodes',
  'patch pods',
  'patch statefulsets.apps',
];

beforeAll(async () => {
  helm = await ensureHelm();
  cluster = await testCluster();
  clients = kubeClients();
});

afterAll(async () => {
  // Cluster-scoped objects outlive their namespace: remove them by their release label.
  for (const release of releases) {
    await kubectl(['delete', 'clusterrole,clusterrolebinding', '-l', `app.kubernetes.io/instance=${release}`]);
  }
  for (const namespace of namespaces) await deleteNamespace(clients, namespace);
});

describe('the Helm chart (deploy/helm/cairn)', () => {
  it('passes helm lint --strict with the default values and with overrides', async () => {
    ok('helm lint', await run(helm, ['lint', '--strict', chartDir, '--kube-version', kubeVersion]));
    const sets = overrides.flatMap(([k, v]) => ['--set', `${k}=${v}`]);
    ok(
      'helm lint with overrides',
      await run(helm, ['lint', '--strict', chartDir, '--kube-version', kubeVersion, ...sets]),
    );
  });

  it('renders the defaults: two leader-elected replicas, SQLite on a kept PVC, the operator flags, probes on /healthz', async () => {
    const { manifests } = await template('cairn', 'cairn-system');
    expect(manifests.map((m) => m.kind).sort()).toEqual(
      [
        'ClusterRole',
        'ClusterRoleBinding',
        'Deployment',
        'PersistentVolumeClaim',
        'Role',
        'Role',
        'RoleBinding',
        'RoleBinding',
        'Service',
        'ServiceAccount',
        // One on Anomalies (who may say what), one on AuditEvents (no edit at all).
        'ValidatingAdmissionPolicy',
        'ValidatingAdmissionPolicy',
        'ValidatingAdmissionPolicyBinding',
        'ValidatingAdmissionPolicyBinding',
      ].sort(),
    );
    const container = operatorContainer(manifests);
    expect(container.args).toEqual([
      'operator',
      '--store=sqlite:/var/lib/cairn/events.db',
      '--namespace=cairn-system',
      '--identity=$(POD_NAME)',
      '--lease-duration=15000',
      '--http-host=0.0.0.0',
      '--http-port=8090',
      '--verification-timeout=90',
      '--envelope-factor=4',
      '--replica-ceiling=20',
      '--approve-unconfirmed=manual,prometheus,grpc,kafka',
      '--remediation-mode=auto',
      '--default-approval=auto',
      '--slo-guard=off',
      '--disruption-guard=refuse',
      '--max-dependants=5',
      '--max-pods-affected=10',
      '--max-replica-share=1',
      '--max-destructive-per-plan=1',
      '--audit-event-limit=1000',
      '--audit-event-max-age=30d',
      '--cascade-window=15',
      '--cascade-recovery-grace=30',
    ]);
    expect(container).toMatchObject({
      image: 'cairn:0.1.0',
      workingDir: '/var/lib/cairn',
      resources: { limits: { memory: '384Mi' } },
      ports: [{ name: 'http', containerPort: 8090 }],
      readinessProbe: { httpGet: { path: '/healthz', port: 'http' } },
      livenessProbe: { httpGet: { path: '/healthz', port: 'http' } },
      volumeMounts: expect.arrayContaining([{ name: 'data', mountPath: '/var/lib/cairn' }]),
      securityContext: { readOnlyRootFilesystem: true, allowPrivilegeEscalation: false },
    });
    const deploymentSpec = only(manifests, 'Deployment').spec as {
      replicas: number;
      template: { spec: Record<string, unknown> };
    };
    expect(deploymentSpec.replicas).toBe(2);
    expect(deploymentSpec.template.spec).toMatchObject({
      serviceAccountName: 'cairn',
      volumes: expect.arrayContaining([{ name: 'data', persistentVolumeClaim: { claimName: 'cairn-data' } }]),
      // Replicas sharing a ReadWriteOnce SQLite volume must run on its node.
      affinity: {
        podAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [{ topologyKey: 'kubernetes.io/hostname' }] },
      },
    });
    expect(only(manifests, 'PersistentVolumeClaim')).toMatchObject({
      metadata: { name: 'cairn-data', annotations: { 'helm.sh/resource-policy': 'keep' } },
      spec: { accessModes: ['ReadWriteOnce'] },
    });
    expect(only(manifests, 'Service')).toMatchObject({
      spec: { ports: [{ name: 'http', port: 8090, targetPort: 'http' }] },
    });
    // The Lease name is the one src/operator.ts campaigns for.
    expect(role(manifests, '-leader-election')).toEqual([
      { apiGroups: ['coordination.k8s.io'], resources: ['leases'], verbs: ['create'] },
      {
        apiGroups: ['coordination.k8s.io'],
        resources: ['leases'],
        resourceNames: ['cairn-operator'],
        verbs: ['get', 'update'],
      },
    ]);
  });

  it('maps overrides to flags and objects: EventStoreDB, no PVC, namespaces, thresholds, no remediation, a ServiceMonitor', async () => {
    const { manifests } = await template('prod', 'ops', overrides);
    const container = operatorContainer(manifests);
    expect(container.args).toEqual([
      'operator',
      '--store=esdb://eventstore.cairn-system.svc:2113?tls=false',
      '--namespace=ops',
      '--identity=$(POD_NAME)',
      '--lease-duration=20000',
      '--http-host=0.0.0.0',
      '--http-port=9000',
      '--verification-timeout=120',
      '--no-remediate',
      '--envelope-factor=2.5',
      '--replica-ceiling=50',
      '--autonomous-node-actions',
      '--approve-unconfirmed=manual,prometheus,grpc,kafka',
      '--remediation-mode=approve',
      '--namespace-mode=dev=auto',
      '--namespace-mode=lab=observe',
      '--default-approval=single',
      '--slo-guard=refuse',
      '--disruption-guard=approve',
      '--max-dependants=2',
      '--protected-namespace=payments',
      '--deny-action=DeletePod,DrainNode',
      '--max-pods-affected=4',
      '--max-replica-share=0.5',
      '--max-destructive-per-plan=0',
      '--audit-event-limit=50',
      '--audit-event-max-age=7d',
      '--cascade-window=0',
      '--cascade-recovery-grace=90',
      '--watch-namespace=shop',
      '--watch-namespace=payments',
      '--detect-tls-secrets',
      '--threshold=podNotReadySeconds=60',
      '--threshold=podRestarts=5',
    ]);
    expect(container.image).toBe('registry.example/cairn:1.2.3');
    expect(manifests.some((m) => m.kind === 'PersistentVolumeClaim')).toBe(false);
    const spec = only(manifests, 'Deployment').spec as {
      replicas: number;
      template: { spec: Record<string, unknown> };
    };
    expect(spec.replicas).toBe(3);
    expect(spec.template.spec).toMatchObject({
      volumes: expect.arrayContaining([{ name: 'data', emptyDir: {} }]),
      affinity: { podAntiAffinity: { preferredDuringSchedulingIgnoredDuringExecution: [{ weight: 100 }] } },
    });
    expect(only(manifests, 'ServiceMonitor')).toMatchObject({
      apiVersion: 'monitoring.coreos.com/v1',
      metadata: { name: 'prod-cairn', namespace: 'ops' },
      spec: {
        selector: { matchLabels: { 'app.kubernetes.io/instance': 'prod', 'app.kubernetes.io/component': 'operator' } },
        endpoints: [{ port: 'http', path: '/metrics' }],
      },
    });
    // Without remediation nothing in the cluster is changed but Cairn's own objects and Events.
    const writes = [...grants(clusterRules(manifests))].filter((g) => !/^(get|list|watch) /.test(g));
    expect(writes.filter((g) => !g.endsWith('.aiops.cairn.dev'))).toEqual(['create events']);
  });

  it('renders only flags `cairn operator` accepts, which it reads back as the values meant', async () => {
    const defaults = parseOperatorArgs(operatorContainer((await template('cairn', 'cairn-system')).manifests).args);
    expect(defaults).toMatchObject({
      store: 'sqlite:/var/lib/cairn/events.db',
      namespace: 'cairn-system',
      leaseDuration: 15_000,
      httpHost: '0.0.0.0',
      httpPort: 8090,
      remediate: true,
      verificationTimeout: 90,
      envelopeFactor: 4,
      replicaCeiling: 20,
      remediationMode: 'auto',
      defaultApproval: 'auto',
      sloGuard: 'off',
      disruptionGuard: 'refuse',
      maxDependants: 5,
      maxPodsAffected: 10,
      maxReplicaShare: 1,
      maxDestructivePerPlan: 1,
      auditEventLimit: 1000,
      auditEventMaxAge: 30 * 86_400,
      cascadeWindow: 15,
      cascadeRecoveryGrace: 30,
    });
    for (const flag of ['namespaceMode', 'protectedNamespace', 'allowAction', 'denyAction'])
      expect(defaults[flag], flag).toBeUndefined();
    expect(defaults.autonomousNodeActions).toBeUndefined();
    expect(defaults.watchNamespace).toBeUndefined();
    const custom = parseOperatorArgs(operatorContainer((await template('prod', 'ops', overrides)).manifests).args);
    expect(custom).toMatchObject({
      store: 'esdb://eventstore.cairn-system.svc:2113?tls=false',
      namespace: 'ops',
      leaseDuration: 20_000,
      httpPort: 9000,
      remediate: false,
      verificationTimeout: 120,
      envelopeFactor: 2.5,
      replicaCeiling: 50,
      autonomousNodeActions: true,
      watchNamespace: ['shop', 'payments'],
      threshold: { podNotReadySeconds: 60, podRestarts: 5 },
      remediationMode: 'approve',
      namespaceMode: { dev: 'auto', lab: 'observe' },
      defaultApproval: 'single',
      sloGuard: 'refuse',
      disruptionGuard: 'approve',
      maxDependants: 2,
      protectedNamespace: ['payments'],
      denyAction: ['DeletePod', 'DrainNode'],
      maxPodsAffected: 4,
      maxReplicaShare: 0.5,
      maxDestructivePerPlan: 0,
      auditEventLimit: 50,
      auditEventMaxAge: 7 * 86_400,
      cascadeWindow: 0,
      cascadeRecoveryGrace: 90,
    });
    const allowed = parseOperatorArgs(
      operatorContainer(
        (
          await template('prod', 'ops', [
            ['policy.allowedActions[0]', 'RollbackDeployment'],
            ['policy.allowedActions[1]', 'RestartDeployment'],
          ])
        ).manifests,
      ).args,
    );
    expect(allowed.allowAction).toEqual(['RollbackDeployment', 'RestartDeployment']);
  });

  it('refuses operator policy values the operator would refuse: an unknown mode, a share above 1, a bad namespace', async () => {
    for (const [key, value, message] of [
      ['policy.mode', 'fast', "at '/policy/mode': value must be one of 'observe', 'approve', 'auto'"],
      ['policy.namespaceModes.lab', 'sometimes', "at '/policy/namespaceModes/lab': value must be one of"],
      ['policy.namespaceModes.Lab', 'auto', 'Lab'],
      ['policy.maxReplicaShare', '1.5', "at '/policy/maxReplicaShare'"],
      ['policy.defaultApproval', 'quorum', "at '/policy/defaultApproval'"],
      ['policy.sloGuard', 'block', "at '/policy/sloGuard'"],
      ['policy.disruptionGuard', 'maybe', "at '/policy/disruptionGuard'"],
      ['policy.maxDependants', '-1', "at '/policy/maxDependants'"],
      ['policy.deniedActions[0]', 'delete-pod', "at '/policy/deniedActions/0'"],
      ['auditEvents.maxAge', '1w', "at '/auditEvents/maxAge'"],
      ['cascade.windowMinutes', '1441', "at '/cascade/windowMinutes'"],
      ['cascade.windowMinutes', '-1', "at '/cascade/windowMinutes'"],
    ] as const) {
      const refused = await run(helm, ['template', ...helmArgs('cairn', 'x', [[key, value]])]);
      expect(refused.code, `${key}=${value}`).not.toBe(0);
      expect(refused.stderr).toContain(message);
    }
  });

  it('grants access to Secrets only with remediation.secretActions (RotateSecret, HelmRollback)', async () => {
    const secretGrants = (granted: Set<string>) => [...granted].filter((g) => / secrets$/.test(g)).sort();
    expect(secretGrants(grants(clusterRules((await template('cairn', 'cairn-system')).manifests)))).toEqual([]);
    const opted = await template('cairn', 'cairn-system', [['remediation.secretActions', 'true']]);
    expect(secretGrants(grants(clusterRules(opted.manifests)))).toEqual([
      'get secrets',
      'list secrets',
      'patch secrets',
    ]);
  });

  it("grants get, create and update on Secrets of the operator's own namespace for the snapshot keys, only with remediation", async () => {
    const { manifests } = await template('cairn', 'cairn-system');
    expect(role(manifests, '-snapshot-keys')).toEqual([
      { apiGroups: [''], resources: ['secrets'], verbs: ['get', 'create', 'update'] },
    ]);
    const binding = manifests.find((m) => m.kind === 'RoleBinding' && m.metadata.name.endsWith('-snapshot-keys'));
    expect(binding).toMatchObject({
      metadata: { namespace: 'cairn-system' },
      roleRef: { kind: 'Role', name: 'cairn-snapshot-keys' },
      subjects: [{ kind: 'ServiceAccount', name: 'cairn', namespace: 'cairn-system' }],
    });
    const without = await template('cairn', 'cairn-system', [['remediation.enabled', 'false']]);
    expect(without.manifests.filter((m) => m.kind === 'Role').map((m) => m.metadata.name)).toEqual([
      'cairn-leader-election',
    ]);
  });

  it('grants delete on claims only with remediation.volumeActions (RecreateStatefulSetPVC)', async () => {
    const claimGrants = (granted: Set<string>) => [...granted].filter((g) => / persistentvolumeclaims$/.test(g)).sort();
    expect(claimGrants(grants(clusterRules((await template('cairn', 'cairn-system')).manifests)))).toEqual([
      'get persistentvolumeclaims',
      'list persistentvolumeclaims',
      'patch persistentvolumeclaims',
      'watch persistentvolumeclaims',
    ]);
    const opted = await template('cairn', 'cairn-system', [['remediation.volumeActions', 'true']]);
    expect(claimGrants(grants(clusterRules(opted.manifests)))).toEqual([
      'delete persistentvolumeclaims',
      'get persistentvolumeclaims',
      'list persistentvolumeclaims',
      'patch persistentvolumeclaims',
      'watch persistentvolumeclaims',
    ]);
  });

  it('watches TLS Secrets for the Ingress check only with detection.tlsSecrets, and says so to the operator', async () => {
    const secretGrants = (granted: Set<string>) => [...granted].filter((g) => / secrets$/.test(g)).sort();
    const plain = await template('cairn', 'cairn-system');
    expect(operatorContainer(plain.manifests).args).not.toContain('--detect-tls-secrets');
    const opted = await template('cairn', 'cairn-system', [['detection.tlsSecrets', 'true']]);
    expect(secretGrants(grants(clusterRules(opted.manifests)))).toEqual(['list secrets', 'watch secrets']);
    expect(operatorContainer(opted.manifests).args).toContain('--detect-tls-secrets');
  });

  it("renders --chaos and the fault injector's writes only with chaos.enabled, with or without remediation", async () => {
    const plain = await template('cairn', 'cairn-system');
    expect(operatorContainer(plain.manifests).args).not.toContain('--chaos');
    expect(parseOperatorArgs(operatorContainer(plain.manifests).args).chaos).toBeUndefined();

    // Without remediation the chaos rules are the only writes on workloads, pods, Nodes and ConfigMaps.
    const watching = grants(
      clusterRules((await template('cairn', 'cairn-system', [['remediation.enabled', 'false']])).manifests),
    );
    const opted = await template('cairn', 'cairn-system', [
      ['remediation.enabled', 'false'],
      ['chaos.enabled', 'true'],
    ]);
    expect(parseOperatorArgs(operatorContainer(opted.manifests).args)).toMatchObject({ chaos: true, remediate: false });
    expect([...grants(clusterRules(opted.manifests))].filter((g) => !watching.has(g)).sort()).toEqual(chaosGrants);

    // With remediation on as well, both sets are granted and both flags rendered.
    const both = await template('cairn', 'cairn-system', [['chaos.enabled', 'true']]);
    const granted = grants(clusterRules(both.manifests));
    expect(chaosGrants.filter((g) => !granted.has(g))).toEqual([]);
    expect(parseOperatorArgs(operatorContainer(both.manifests).args)).toMatchObject({ chaos: true, remediate: true });

    for (const [key, value, message] of [
      ['chaos.enabled', 'yes', "at '/chaos/enabled'"],
      ['chaos.faults', 'all', 'faults'],
    ] as const) {
      const refused = await run(helm, ['template', ...helmArgs('cairn', 'x', [[key, value]])]);
      expect(refused.code, `${key}=${value}`).not.toBe(0);
      expect(refused.stderr).toContain(message);
    }
  });

  it('refuses values that would break the operator: SQLite without a shared volume for two replicas, a misspelt key', async () => {
    const split = await run(helm, ['template', ...helmArgs('cairn', 'x', [['persistence.enabled', 'false']])]);
    expect(split.code).not.toBe(0);
    expect(split.stderr).toContain('each replica would keep its own event log');
    const single = await template('cairn', 'x', [
      ['persistence.enabled', 'false'],
      ['replicaCount', '1'],
    ]);
    expect(operatorContainer(single.manifests).args).toContain('--store=sqlite:/var/lib/cairn/events.db');
    const typo = await run(helm, ['template', ...helmArgs('cairn', 'x', [['thresholds.podRestart', '3']])]);
    expect(typo.code).not.toBe(0);
    expect(typo.stderr).toContain("additional properties 'podRestart' not allowed");
  });

  it('creates NotificationPolicies and the Secrets they name from values, and lets the operator get those Secrets only', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'cairn-helm-notify-')), 'values.yaml');
    writeFileSync(file, notificationValues);
    const { manifests } = await template('cairn', 'ops', [], ['-f', file]);
    const policy = only(manifests, 'NotificationPolicy');
    expect(policy.metadata).toMatchObject({ name: 'on-call', namespace: 'ops' });
    expect((policy.spec as { channels: { name: string }[] }).channels.map((c) => c.name)).toEqual([
      'team-chat',
      'hook',
    ]);
    const secrets = manifests.filter((m) => m.kind === 'Secret');
    expect(secrets.map((m) => [m.metadata.name, m.metadata.namespace, Object.keys(m.stringData as object)])).toEqual([
      ['cairn-slack', 'ops', ['url']],
      ['cairn-hook', 'ops', ['key']],
    ]);
    expect(role(manifests, '-notification-secrets')).toEqual([
      { apiGroups: [''], resources: ['secrets'], resourceNames: ['cairn-hook', 'cairn-slack'], verbs: ['get'] },
    ]);
    // Without policies, nothing of it is rendered.
    const plain = await template('cairn', 'ops');
    expect(
      plain.manifests.filter(
        (m) => m.kind === 'NotificationPolicy' || m.metadata.name.endsWith('-notification-secrets'),
      ),
    ).toEqual([]);
    const missing = await run(helm, ['template', ...helmArgs('cairn', 'x', [['notifications.secrets[0].name', 'x']])]);
    expect(missing.code).not.toBe(0);
    expect(missing.stderr).toContain("missing property 'stringData'");
  });

  it('installs exactly the generated CRDs from its crds/ folder', async () => {
    const { manifests } = await template('cairn', 'cairn-system', [], ['--include-crds']);
    const byName = (a: Manifest, b: Manifest) => a.metadata.name.localeCompare(b.metadata.name);
    const crds = manifests.filter((m) => m.kind === 'CustomResourceDefinition').sort(byName);
    const generated = [...renderCrds().values()].map((text) => parseYaml(text) as Manifest).sort(byName);
    expect(crds).toEqual(generated);
  });

  it('gives Cairn read access to all of its kinds, writes to those it authors, and status on every kind that has one', async () => {
    const granted = grants(clusterRules((await template('cairn', 'cairn-system')).manifests));
    const missing: string[] = [];
    const want = (grant: string) => {
      if (!granted.has(grant)) missing.push(grant);
    };
    for (const kind of cairnKinds) {
      for (const verb of ['get', 'list', 'watch']) want(`${verb} ${kind.plural}.aiops.cairn.dev`);
      if (kind.specAuthor !== 'user')
        for (const verb of ['create', 'patch']) want(`${verb} ${kind.plural}.aiops.cairn.dev`);
      if (kind.statusSubresource) want(`patch ${kind.plural}/status.aiops.cairn.dev`);
    }
    expect(missing).toEqual([]);
    const extra = [...granted].filter(
      (g) =>
        g.endsWith('.aiops.cairn.dev') &&
        !g.startsWith('update issues/finalizers') &&
        // AuditEvent retention; the CRD refuses any change of their spec.
        g !== 'delete auditevents.aiops.cairn.dev' &&
        !/^(get|list|watch|create|patch) /.test(g),
    );
    expect(extra).toEqual([]);
  });
});

describe('the chart on the API server', () => {
  it('has every rendered manifest accepted by kubectl apply --dry-run=server, CRDs included', async () => {
    const namespace = await createNamespace(clients, 'helm-dryrun');
    namespaces.push(namespace);
    for (const sets of [[], overrides.filter(([key]) => !key.startsWith('serviceMonitor'))] as Sets[]) {
      const { text, manifests } = await template(`cairn-${randomBytes(3).toString('hex')}`, namespace, sets, [
        '--include-crds',
      ]);
      const applied = ok(
        'kubectl apply --dry-run=server',
        await kubectl(['apply', '--dry-run=server', '-f', '-'], text),
      );
      // One line per object, each with the server's verdict.
      expect(applied.trim().split('\n')).toHaveLength(manifests.length);
      expect(applied).toContain('(server dry run)');
    }
  });
});

describe("the chart's RBAC, applied for real", () => {
  const release = `cairn-rbac-${randomBytes(3).toString('hex')}`;
  let namespace: string;
  let account: string;

  beforeAll(async () => {
    namespace = await createNamespace(clients, 'helm-rbac');
    namespaces.push(namespace);
    releases.push(release);
    const { manifests } = await template(release, namespace);
    const rbacKinds = ['ServiceAccount', 'ClusterRole', 'ClusterRoleBinding', 'Role', 'RoleBinding'];
    const rbac = manifests.filter((m) => rbacKinds.includes(m.kind));
    expect(rbac.map((m) => m.kind).sort()).toEqual([...rbacKinds, 'Role', 'RoleBinding'].sort());
    ok('kubectl apply', await kubectl(['apply', '-f', '-'], rbac.map((m) => JSON.stringify(m)).join('\n---\n')));
    account = `system:serviceaccount:${namespace}:${only(manifests, 'ServiceAccount').metadata.name}`;
  });

  /** `kubectl auth can-i` as the chart's ServiceAccount: exit 0 is yes, 1 is no. */
  const canI = async (
    verb: string,
    resource: string,
    where: { namespace?: string; subresource?: string; name?: string } = {},
  ) => {
    const args = ['auth', 'can-i', verb, where.name ? `${resource}/${where.name}` : resource, `--as=${account}`];
    if (where.namespace) args.push('-n', where.namespace);
    else args.push('--all-namespaces');
    if (where.subresource) args.push(`--subresource=${where.subresource}`);
    const ran = await kubectl(args);
    if (ran.code > 1) throw new Error(`kubectl auth can-i failed: ${ran.stderr}`);
    return ran.code === 0;
  };

  it('lets the ServiceAccount do what the operator does', async () => {
    const asked: [string, string, Parameters<typeof canI>[2]?][] = [
      ['list', 'pods'],
      ['watch', 'pods'],
      ['watch', 'deployments.apps'],
      ['watch', 'nodes'],
      ['watch', 'horizontalpodautoscalers.autoscaling'],
      ['watch', 'cronjobs.batch'],
      ['watch', 'services'],
      ['watch', 'endpointslices.discovery.k8s.io'],
      ['watch', 'ingresses.networking.k8s.io'],
      ['watch', 'networkpolicies.networking.k8s.io'],
      ['watch', 'persistentvolumeclaims'],
      ['watch', 'storageclasses.storage.k8s.io'],
      ['watch', 'validatingwebhookconfigurations.admissionregistration.k8s.io'],
      ['watch', 'mutatingwebhookconfigurations.admissionregistration.k8s.io'],
      ['list', 'resourcequotas', { namespace: 'shop' }],
      ['list', 'limitranges', { namespace: 'shop' }],
      ['list', 'configmaps', { namespace: 'shop' }],
      ['create', 'events', { namespace: 'default' }],
      ['watch', 'anomalies.aiops.cairn.dev'],
      ['create', 'issues.aiops.cairn.dev', { namespace: 'shop' }],
      ['patch', 'issues.aiops.cairn.dev', { namespace: 'shop', subresource: 'status' }],
      ['patch', 'remediationplans.aiops.cairn.dev', { namespace: 'shop', subresource: 'status' }],
      ['create', 'leases.coordination.k8s.io', { namespace }],
      ['create', 'auditevents.aiops.cairn.dev', { namespace }],
      ['delete', 'auditevents.aiops.cairn.dev', { namespace }],
      ['update', 'leases.coordination.k8s.io', { namespace, name: 'cairn-operator' }],
      // Snapshot keys, in the operator's namespace.
      ['get', 'secrets', { namespace }],
      ['create', 'secrets', { namespace }],
      ['update', 'secrets', { namespace }],
      ['create', 'pods', { namespace: 'shop', subresource: 'eviction' }],
      ['create', 'pods', { namespace: 'shop', subresource: 'exec' }],
      ['get', 'pods', { namespace: 'shop', subresource: 'log' }],
      ['patch', 'deployments.apps', { namespace: 'shop' }],
      ['patch', 'nodes'],
      ['delete', 'pods', { namespace: 'shop' }],
      ['patch', 'statefulsets.apps', { namespace: 'shop' }],
      ['patch', 'daemonsets.apps', { namespace: 'shop' }],
      ['list', 'controllerrevisions.apps', { namespace: 'shop' }],
      ['patch', 'cronjobs.batch', { namespace: 'shop' }],
      ['patch', 'jobs.batch', { namespace: 'shop' }],
      ['create', 'jobs.batch', { namespace: 'shop' }],
      ['delete', 'jobs.batch', { namespace: 'shop' }],
    ];
    const refused: string[] = [];
    for (const [verb, resource, where] of asked) {
      if (!(await canI(verb, resource, where))) refused.push(`${verb} ${resource} ${JSON.stringify(where ?? {})}`);
    }
    expect(refused).toEqual([]);
  });

  it('refuses it everything else that matters', async () => {
    const asked: [string, string, Parameters<typeof canI>[2]?][] = [
      ['delete', 'namespaces'],
      ['create', 'clusterrolebindings.rbac.authorization.k8s.io'],
      ['escalate', 'clusterroles.rbac.authorization.k8s.io'],
      ['create', 'rolebindings.rbac.authorization.k8s.io', { namespace }],
      ['get', 'secrets'],
      ['get', 'secrets', { namespace: 'shop' }],
      ['list', 'secrets', { namespace }],
      ['delete', 'secrets', { namespace }],
      ['impersonate', 'serviceaccounts'],
      ['create', 'serviceaccounts', { namespace: 'shop', subresource: 'token' }],
      ['create', 'pods', { namespace: 'shop' }],
      // Labelling pods is pod_not_ready's, granted only with chaos.enabled.
      ['patch', 'pods', { namespace: 'shop' }],
      // Workloads are deleted only where ApplyManifest can create them (Deployments), never these.
      ['delete', 'statefulsets.apps', { namespace: 'shop' }],
      ['delete', 'daemonsets.apps', { namespace: 'kube-system' }],
      ['delete', 'cronjobs.batch', { namespace: 'shop' }],
      ['delete', 'persistentvolumeclaims', { namespace: 'shop' }],
      ['delete', 'nodes'],
      ['delete', 'customresourcedefinitions.apiextensions.k8s.io'],
      ['get', 'customresourcedefinitions.apiextensions.k8s.io', { name: 'issues.aiops.cairn.dev' }],
      // The Lease of another controller in the same namespace.
      ['update', 'leases.coordination.k8s.io', { namespace, name: 'someone-else' }],
      ['update', 'leases.coordination.k8s.io', { namespace: 'kube-system', name: 'cairn-operator' }],
      ['delete', 'issues.aiops.cairn.dev', { namespace: 'shop' }],
      ['update', 'runbooks.aiops.cairn.dev', { namespace: 'shop' }],
    ];
    const allowed: string[] = [];
    for (const [verb, resource, where] of asked) {
      if (await canI(verb, resource, where)) allowed.push(`${verb} ${resource} ${JSON.stringify(where ?? {})}`);
    }
    expect(allowed).toEqual([]);
  });

  describe('with the ServiceAccount token, the operator', () => {
    let operator: RunningOperator | undefined;
    const dir = mkdtempSync(join(tmpdir(), 'cairn-helm-sa-'));
    const log: string[] = [];
    afterAll(async () => {
      await operator?.stop();
      rmSync(dir, { recursive: true, force: true });
    });

    /** A kubeconfig for the test cluster that authenticates with a token issued to the chart's ServiceAccount. */
    async function serviceAccountKubeconfig(): Promise<string> {
      const name = account.split(':').at(-1) as string;
      const token = await clients.core.createNamespacedServiceAccountToken({
        name,
        namespace,
        body: { spec: { audiences: [], expirationSeconds: 3600 } },
      });
      const admin = clients.config.getCurrentCluster();
      if (!admin || !token.status?.token) throw new Error('no cluster or token');
      const config = new k8s.KubeConfig();
      config.loadFromOptions({
        clusters: [admin],
        users: [{ name, token: token.status.token }],
        contexts: [{ name, cluster: admin.name, user: name }],
        currentContext: name,
      });
      const file = join(dir, 'kubeconfig');
      writeFileSync(file, config.exportConfig(), { mode: 0o600 });
      return file;
    }

    it('rolls back a crash-looping release and resolves the Issue without one Forbidden answer', {
      timeout: 240_000,
    }, async () => {
      const apps = await createNamespace(clients, 'helm-app');
      namespaces.push(apps);
      operator = await startOperator({
        kubeconfig: await serviceAccountKubeconfig(),
        store: `sqlite:${join(dir, 'events.db')}`,
        namespace,
        watchNamespaces: [apps],
        verificationTimeoutSeconds: 30,
        thresholds: { workloadUnavailableSeconds: 3600, podNotReadySeconds: 3 },
        log: (line) => {
          log.push(line);
          if (process.env.CAIRN_TEST_LOG) process.stderr.write(`[helm-sa] ${line}\n`);
        },
      });
      await eventually('the operator to hold the lease', async () => operator?.isLeader());

      await clients.apps.createNamespacedDeployment({ namespace: apps, body: deployment('web', { replicas: 2 }) });
      await eventually('web ready', async () => (await podsOf(clients, apps, 'web')).filter(isReady).length === 2);
      await applyFault(cluster, 'crashloop', `${apps}/web`);

      const issue = await eventually(
        'the Issue of web to end',
        async () => {
          const list = (await clients.custom.listNamespacedCustomObject({
            group: 'aiops.cairn.dev',
            version: 'v1alpha1',
            namespace: apps,
            plural: 'issues',
          })) as { items: { spec: { resource?: { name: string } }; status?: { state?: string } }[] };
          const found = list.items.find((i) => i.spec.resource?.name === 'web');
          return found?.status?.state === 'Resolved' || found?.status?.state === 'Escalated' ? found : undefined;
        },
        180_000,
      );
      expect(log.filter((line) => /forbidden|\b403\b/i.test(line))).toEqual([]);
      expect(issue.status?.state).toBe('Resolved');
      const images = (await podsOf(clients, apps, 'web')).filter(isReady).map((p) => p.spec?.containers[0]?.image);
      expect(images).toEqual(['registry.local/shop/web:1.0.0', 'registry.local/shop/web:1.0.0']);
      const events = await clients.core.listNamespacedEvent({ namespace: apps });
      expect(events.items.some((e) => e.reason === 'CairnIssueDetected')).toBe(true);
    });

    it("makes the NotificationPolicy of the values Ready, reading the Secrets it names with the chart's RBAC", {
      timeout: 180_000,
    }, async () => {
      const file = join(dir, 'notifications.yaml');
      writeFileSync(file, notificationValues);
      const { manifests } = await template(release, namespace, [], ['-f', file]);
      const wanted = manifests.filter(
        (m) =>
          m.kind === 'NotificationPolicy' || m.kind === 'Secret' || m.metadata.name.endsWith('-notification-secrets'),
      );
      expect(wanted.map((m) => m.kind).sort()).toEqual([
        'NotificationPolicy',
        'Role',
        'RoleBinding',
        'Secret',
        'Secret',
      ]);
      ok('kubectl apply', await kubectl(['apply', '-f', '-'], wanted.map((m) => JSON.stringify(m)).join('\n---\n')));
      expect(await canI('get', 'secrets', { namespace, name: 'cairn-slack' })).toBe(true);
      operator ??= await startOperator({
        kubeconfig: await serviceAccountKubeconfig(),
        store: `sqlite:${join(dir, 'events.db')}`,
        namespace,
        watchNamespaces: [namespace],
        remediate: false,
      });
      const ready = await eventually(
        'the policy to be Ready',
        async () => {
          const policy = (await clients.custom.getNamespacedCustomObject({
            group: 'aiops.cairn.dev',
            version: 'v1alpha1',
            namespace,
            plural: 'notificationpolicies',
            name: 'on-call',
          })) as { status?: { conditions?: { type: string; status: string; message: string }[] } };
          const condition = policy.status?.conditions?.find((c) => c.type === 'Ready');
          return condition?.status === 'True' ? condition : undefined;
        },
        120_000,
      );
      expect(ready.message).toBe('notifications follow this generation');
    });
  });
});

describe("the chart's RBAC with chaos.enabled and remediation off, applied for real", () => {
  const suffix = randomBytes(3).toString('hex');
  const chaosRelease = `cairn-chaos-${suffix}`;
  const plainRelease = `cairn-plain-${suffix}`;
  let namespace: string;
  const accounts: Record<'chaos' | 'plain', string> = { chaos: '', plain: '' };
  let operator: RunningOperator | undefined;
  const dir = mkdtempSync(join(tmpdir(), 'cairn-helm-chaos-'));
  const log: string[] = [];

  beforeAll(async () => {
    namespace = await createNamespace(clients, 'helm-chaos');
    namespaces.push(namespace);
    for (const [which, release, chaos] of [
      ['chaos', chaosRelease, 'true'],
      ['plain', plainRelease, 'false'],
    ] as const) {
      releases.push(release);
      const { manifests } = await template(release, namespace, [
        ['remediation.enabled', 'false'],
        ['chaos.enabled', chaos],
      ]);
      const rbacKinds = ['ServiceAccount', 'ClusterRole', 'ClusterRoleBinding', 'Role', 'RoleBinding'];
      const rbac = manifests.filter((m) => rbacKinds.includes(m.kind));
      ok('kubectl apply', await kubectl(['apply', '-f', '-'], rbac.map((m) => JSON.stringify(m)).join('\n---\n')));
      accounts[which] = `system:serviceaccount:${namespace}:${only(manifests, 'ServiceAccount').metadata.name}`;
    }
  });

  afterAll(async () => {
    await operator?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const canI = async (account: string, verb: string, resource: string, namespaced?: string) => {
    const args = ['auth', 'can-i', verb, resource, `--as=${account}`];
    args.push(...(namespaced ? ['-n', namespaced] : ['--all-namespaces']));
    const ran = await kubectl(args);
    if (ran.code > 1) throw new Error(`kubectl auth can-i failed: ${ran.stderr}`);
    return ran.code === 0;
  };

  /** The injector's writes, as kubectl asks for them (its read of ConfigMaps every release has, for cascades). */
  const injectorVerbs: [string, string, string?][] = [
    ['delete', 'pods', 'shop'],
    ['patch', 'pods', 'shop'],
    ['patch', 'deployments.apps', 'shop'],
    ['patch', 'statefulsets.apps', 'shop'],
    ['patch', 'daemonsets.apps', 'shop'],
    ['patch', 'nodes'],
  ];

  it('grants the fault injector exactly its verbs, and a release without chaos none of them', async () => {
    const answers = async (account: string, asked: [string, string, string?][]) => {
      const yes: string[] = [];
      for (const [verb, resource, where] of asked)
        if (await canI(account, verb, resource, where)) yes.push(`${verb} ${resource}`);
      return yes;
    };
    expect(await answers(accounts.chaos, injectorVerbs)).toEqual(injectorVerbs.map(([v, r]) => `${v} ${r}`));
    expect(await answers(accounts.plain, injectorVerbs)).toEqual([]);
    // Nothing beyond what the faults change: no other verbs on those objects, nothing remediation alone needs.
    const beyond: [string, string, string?][] = [
      ['create', 'pods', 'shop'],
      ['update', 'pods', 'shop'],
      ['delete', 'deployments.apps', 'shop'],
      ['create', 'deployments.apps', 'shop'],
      ['update', 'deployments.apps', 'shop'],
      ['delete', 'statefulsets.apps', 'shop'],
      ['update', 'nodes'],
      ['delete', 'nodes'],
      ['patch', 'configmaps', 'shop'],
      ['create', 'configmaps', 'shop'],
      ['patch', 'jobs.batch', 'shop'],
      ['patch', 'cronjobs.batch', 'shop'],
      ['patch', 'horizontalpodautoscalers.autoscaling', 'shop'],
      ['get', 'secrets', 'shop'],
      ['create', 'pods/eviction', 'shop'],
      ['create', 'pods/exec', 'shop'],
    ];
    expect(await answers(accounts.chaos, beyond)).toEqual([]);
  });

  it('runs a ChaosExperiment with the ServiceAccount token without one Forbidden answer, and takes its fault back', {
    timeout: 300_000,
  }, async () => {
    const name = accounts.chaos.split(':').at(-1) as string;
    const token = await clients.core.createNamespacedServiceAccountToken({
      name,
      namespace,
      body: { spec: { audiences: [], expirationSeconds: 3600 } },
    });
    const admin = clients.config.getCurrentCluster();
    if (!admin || !token.status?.token) throw new Error('no cluster or token');
    const config = new k8s.KubeConfig();
    config.loadFromOptions({
      clusters: [admin],
      users: [{ name, token: token.status.token }],
      contexts: [{ name, cluster: admin.name, user: name }],
      currentContext: name,
    });
    const kubeconfig = join(dir, 'kubeconfig');
    writeFileSync(kubeconfig, config.exportConfig(), { mode: 0o600 });

    const apps = await createNamespace(clients, 'helm-chaos-app');
    namespaces.push(apps);
    operator = await startOperator({
      kubeconfig,
      store: `sqlite:${join(dir, 'events.db')}`,
      namespace,
      watchNamespaces: [apps],
      remediate: false,
      chaos: true,
      log: (line) => {
        log.push(line);
        if (process.env.CAIRN_TEST_LOG) process.stderr.write(`[helm-chaos] ${line}\n`);
      },
    });
    await eventually('the operator to hold the lease', async () => operator?.isLeader());
    await clients.apps.createNamespacedDeployment({ namespace: apps, body: deployment('web', { replicas: 2 }) });
    await eventually(
      'web ready',
      async () => (await podsOf(clients, apps, 'web')).filter(isReady).length === 2,
      120_000,
    );
    const image = (await clients.apps.readNamespacedDeployment({ namespace: apps, name: 'web' })).spec?.template.spec
      ?.containers[0]?.image;

    // missing_config reads a ConfigMap and patches the Deployment; the fault is taken back when its time is up.
    await clients.custom.createNamespacedCustomObject({
      group: 'aiops.cairn.dev',
      version: 'v1alpha1',
      namespace: apps,
      plural: 'chaosexperiments',
      body: {
        apiVersion: 'aiops.cairn.dev/v1alpha1',
        kind: 'ChaosExperiment',
        metadata: { name: 'no-config' },
        spec: {
          fault: { type: 'missing_config' },
          target: { kind: 'Deployment', name: 'web' },
          duration: '15s',
          safety: { maxPodsPercent: 100 },
          recovery: { expect: 'WorkloadReady', within: '3m' },
        },
      },
    });
    const done = await eventually(
      'the experiment to finish',
      async () => {
        const e = (await clients.custom.getNamespacedCustomObject({
          group: 'aiops.cairn.dev',
          version: 'v1alpha1',
          namespace: apps,
          plural: 'chaosexperiments',
          name: 'no-config',
        })) as { status?: { state?: string; result?: string; podsAffected?: number } };
        return ['Passed', 'Failed', 'Aborted', 'Refused'].includes(e.status?.state ?? '') ? e : undefined;
      },
      240_000,
    );
    // The NotificationPolicy an earlier test left in its own namespace names Secrets only that release may read.
    const forbidden = log.filter((line) => /forbidden|\b403\b/i.test(line) && !line.includes('notification policy'));
    expect(forbidden).toEqual([]);
    expect(done.status).toMatchObject({ state: 'Passed', podsAffected: 2 });
    const after = await clients.apps.readNamespacedDeployment({ namespace: apps, name: 'web' });
    expect(after.spec?.template.spec?.containers[0]?.image).toBe(image);
    expect(after.spec?.template.spec?.containers[0]?.envFrom ?? []).toEqual([]);
  });
});
