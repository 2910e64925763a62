import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type * as k8s from '@kubernetes/client-node';
import { CairnError, ErrorCategory } from '../../domain/errors.ts';
import type { ResourceRef } from '../../domain/events/common.schema.ts';
import { type ActionClients, type ActionParams, AnyKind, MaxDetailLength } from './action.ts';
import { ActionErrorCode, display, isNotFound, kube, kubeFailure, missing, readOptional } from './actionErrors.ts';
import { boolParam, bounded, defineAction, intParam, nameParam, optionalParam } from './actionParams.ts';
import { PatchAs } from './patchOptions.ts';
import { secondsFloor } from './workloadPods.ts';

const apiVersions: Readonly<Record<string, string>> = {
  Deployment: 'apps/v1',
  StatefulSet: 'apps/v1',
  DaemonSet: 'apps/v1',
  ReplicaSet: 'apps/v1',
  Job: 'batch/v1',
  CronJob: 'batch/v1',
  Service: 'v1',
  ConfigMap: 'v1',
  Pod: 'v1',
};

/** The target's labels and annotations, where GitOps tools record who manages an object. */
async function targetMetadata(clients: ActionClients, target: ResourceRef): Promise<k8s.V1ObjectMeta | undefined> {
  const apiVersion = apiVersions[target.kind];
  if (apiVersion === undefined) return undefined;
  const object = await readOptional(`reading ${display(target)}`, () =>
    clients.objects.read({
      apiVersion,
      kind: target.kind,
      metadata: { name: target.name, namespace: target.namespace },
    }),
  );
  return object?.metadata;
}

// --- HelmRollback ----------------------------------------------------------------------------------------------

const HelmReleaseAnnotation = 'meta.helm.sh/release-name';
const HelmTimeoutMs = 120_000;

/** Helm 3 keeps one record per revision, a Secret (or a ConfigMap) labelled owner=helm,name=<release>. */
async function helmRecords(clients: ActionClients, namespace: string, release: string) {
  const labelSelector = `owner=helm,name=${release}`;
  const secrets = await kube('listing Helm release records', () =>
    clients.core.listNamespacedSecret({ namespace, labelSelector }),
  );
  const maps = await kube('listing Helm release records', () =>
    clients.core.listNamespacedConfigMap({ namespace, labelSelector }),
  );
  return [...secrets.items, ...maps.items].map((record) => ({
    version: Number(record.metadata?.labels?.version ?? 0),
    status: record.metadata?.labels?.status ?? 'unknown',
    created: record.metadata?.creationTimestamp,
  }));
}

async function releaseName(clients: ActionClients, target: ResourceRef, params: ActionParams): Promise<string> {
  const named = nameParam(params, 'release');
  if (named !== undefined) return named;
  const fromAnnotation = (await targetMetadata(clients, target))?.annotations?.[HelmReleaseAnnotation];
  if (fromAnnotation) return fromAnnotation;
  throw missing(
    'release',
    `${display(target)} is not managed by a Helm release (no ${HelmReleaseAnnotation} annotation) and no release was named`,
  );
}

const runHelm = (args: readonly string[], env: NodeJS.ProcessEnv): Promise<string> =>
  new Promise((resolve, reject) => {
    execFile(process.env.CAIRN_HELM ?? 'helm', [...args], { env, timeout: HelmTimeoutMs }, (error, stdout, stderr) => {
      if (error) {
        const code = (error as NodeJS.ErrnoException).code;
        reject(
          new CairnError(
            ActionErrorCode.Unavailable,
            ErrorCategory.IllegalState,
            code === 'ENOENT'
              ? 'the helm CLI is not installed where Cairn runs: a Helm rollback needs it'
              : `helm ${args[0]} failed: ${(stderr || error.message).trim()}`,
            { cause: error },
          ),
        );
        return;
      }
      resolve(stdout.trim());
    });
  });

export const helmRollback = defineAction({
  type: 'HelmRollback',
  targetKinds: [AnyKind],
  destructive: false,
  describe:
    'Rolls a Helm release back (helm rollback) to its previous revision or the one given; the release is named or ' +
    "read from the target's meta.helm.sh/release-name annotation.",
  params: {
    release: { description: "the release; by default the target's meta.helm.sh/release-name" },
    revision: { description: 'the release revision to go back to; by default the previous one' },
  },
  validate(params) {
    nameParam(params, 'release');
    intParam(params, 'revision', { min: 1 });
  },
  async execute({ clients, target, params }) {
    const release = await releaseName(clients, target, params);
    const { namespace } = target;
    const records = await helmRecords(clients, namespace, release);
    if (records.length === 0) {
      throw missing('release', `there is no Helm release "${release}" in namespace ${namespace} (no release records)`);
    }
    const revision = intParam(params, 'revision', { min: 1 });
    if (revision !== undefined && !records.some((r) => r.version === revision)) {
      const known = records
        .map((r) => r.version)
        .sort((a, b) => a - b)
        .join(', ');
      throw missing('revision', `Helm release ${release} has no revision ${revision} (it has ${known})`);
    }
    const dir = await mkdtemp(join(tmpdir(), 'cairn-helm-'));
    try {
      const kubeconfig = join(dir, 'kubeconfig');
      await writeFile(kubeconfig, clients.config.exportConfig(), { mode: 0o600 });
      const args = [
        'rollback',
        release,
        ...(revision === undefined ? [] : [String(revision)]),
        '--namespace',
        namespace,
      ];
      const out = await runHelm(args, { ...process.env, KUBECONFIG: kubeconfig });
      return {
        detail: bounded(
          `helm rollback ${release}${revision ? ` to revision ${revision}` : ''} in ${namespace}: ${out}`,
          MaxDetailLength,
        ),
        touched: [{ kind: 'HelmRelease', name: release, namespace }],
      };
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  },
  /** A rollback writes a new release record; a second one would go back one revision further. */
  async isDone({ clients, target, params, startedAt }) {
    if (startedAt === undefined) return true;
    const release = await releaseName(clients, target, params).catch(() => undefined);
    if (release === undefined) return false;
    const records = await helmRecords(clients, target.namespace, release);
    return records.some((r) => r.created !== undefined && new Date(r.created).getTime() >= secondsFloor(startedAt));
  },
});

// --- ArgoSyncApp -----------------------------------------------------------------------------------------------

const Argo = {
  group: 'argoproj.io',
  version: 'v1alpha1',
  plural: 'applications',
  crd: 'applications.argoproj.io',
} as const;
const ArgoTrackingAnnotation = 'argocd.argoproj.io/tracking-id';
const ArgoTrackingLabel = 'app.kubernetes.io/instance';
const DefaultArgoNamespace = 'argocd';

async function applicationName(clients: ActionClients, target: ResourceRef, params: ActionParams): Promise<string> {
  const named = nameParam(params, 'application');
  if (named !== undefined) return named;
  const metadata = await targetMetadata(clients, target);
  // The tracking id reads "<app>:<group>/<kind>:<namespace>/<name>".
  const tracked =
    metadata?.annotations?.[ArgoTrackingAnnotation]?.split(':')[0] ?? metadata?.labels?.[ArgoTrackingLabel];
  if (tracked) return tracked;
  throw missing(
    'application',
    `${display(target)} carries no Argo CD tracking annotation or label, and no application was named`,
  );
}

interface ArgoApplication {
  operation?: unknown;
  status?: { operationState?: { phase?: string } };
}

export const argoSyncApp = defineAction({
  type: 'ArgoSyncApp',
  targetKinds: [AnyKind],
  destructive: false,
  describe:
    "Asks Argo CD to sync an Application (to a revision, if given) by setting the Application's operation, " +
    'as the argocd CLI does.',
  params: {
    application: { description: "the Application; by default read from the target's Argo CD tracking annotation" },
    argoNamespace: { description: `where the Application lives (default ${DefaultArgoNamespace})` },
    revision: { description: 'the git revision to sync to; by default the tracked one' },
    prune: { description: 'true to delete resources no longer in git (default false)' },
  },
  validate(params) {
    nameParam(params, 'application');
    nameParam(params, 'argoNamespace');
    boolParam(params, 'prune');
  },
  async execute({ clients, target, params }) {
    const crd = await readOptional(`reading CustomResourceDefinition ${Argo.crd}`, () =>
      clients.extensions.readCustomResourceDefinition({ name: Argo.crd }),
    );
    if (!crd) {
      throw missing(
        'application',
        `Argo CD is not installed in this cluster (no ${Argo.crd} CustomResourceDefinition)`,
      );
    }
    const name = await applicationName(clients, target, params);
    const namespace = nameParam(params, 'argoNamespace') ?? DefaultArgoNamespace;
    let app: ArgoApplication;
    try {
      app = (await clients.custom.getNamespacedCustomObject({ ...Argo, namespace, name })) as ArgoApplication;
    } catch (error) {
      if (isNotFound(error)) throw missing('application', `there is no Argo CD Application ${namespace}/${name}`);
      throw kubeFailure(error, `reading Argo CD Application ${namespace}/${name}`);
    }
    if (app.operation !== undefined || app.status?.operationState?.phase === 'Running') {
      throw new CairnError(
        ActionErrorCode.IllegalState,
        ErrorCategory.Conflict,
        `Argo CD Application ${namespace}/${name} already has an operation in progress`,
      );
    }
    const revision = optionalParam(params, 'revision');
    const prune = boolParam(params, 'prune') ?? false;
    const sync = { prune, ...(revision === undefined ? {} : { revision }) };
    await kube(`requesting a sync of Argo CD Application ${namespace}/${name}`, () =>
      clients.custom.patchNamespacedCustomObject(
        { ...Argo, namespace, name, body: { operation: { initiatedBy: { username: 'cairn' }, sync } } },
        PatchAs.merge,
      ),
    );
    return {
      detail: `requested a sync of Argo CD Application ${namespace}/${name}${revision ? ` to ${revision}` : ''}${prune ? ' with prune' : ''}`,
      touched: [{ kind: 'Application', name, namespace }],
    };
  },
});

export const gitopsActions = [helmRollback, argoSyncApp] as const;
