import * as k8s from '@kubernetes/client-node';
import type { ContextEnricher, ContextSection } from '../enricher.ts';
import { apiReason } from '../logs/logs.enricher.ts';
import { renderChangeSection } from './change.render.ts';
import type { ArgoFacts, ChangeFacts, FluxFacts, HelmFacts } from './changeFacts.ts';
import {
  type ArgoApplication,
  argoFacts,
  argoNamesOf,
  type FluxObject,
  findArgoApplication,
  fluxFacts,
  fluxOwners,
} from './gitopsState.ts';
import { type HelmRecord, helmFacts } from './helmRelease.ts';

/**
 * The `change` enricher: what deployed the workload and what changed in it lately. It reads the Helm release the
 * workload's annotations name (history and values diff, from Helm's own release Secrets), the Argo CD Application
 * or Flux objects that deploy it, and leaves the rollout history to the Kubernetes context. A tool that is not
 * installed is simply absent; a source that cannot be read is named, and the rest is still shown.
 */
export interface ChangeEnricherOptions {
  /** Helm revisions shown. Default 10. */
  readonly maxRevisions?: number;
  /** Argo CD resources named as out of sync or unhealthy. Default 10. */
  readonly maxResources?: number;
  /** Bound of the section's text. Default 4,000 characters. */
  readonly maxChars?: number;
}

export const HelmAnnotations = {
  release: 'meta.helm.sh/release-name',
  namespace: 'meta.helm.sh/release-namespace',
} as const;

const apiVersions: Readonly<Record<string, string>> = {
  Deployment: 'apps/v1',
  StatefulSet: 'apps/v1',
  DaemonSet: 'apps/v1',
  ReplicaSet: 'apps/v1',
  Job: 'batch/v1',
  CronJob: 'batch/v1',
  Pod: 'v1',
  Service: 'v1',
};

const Argo = { group: 'argoproj.io', version: 'v1alpha1', plural: 'applications' } as const;
const Flux = {
  Kustomization: { group: 'kustomize.toolkit.fluxcd.io', version: 'v1', plural: 'kustomizations' },
  HelmRelease: { group: 'helm.toolkit.fluxcd.io', version: 'v2', plural: 'helmreleases' },
} as const;

const isNotFound = (error: unknown) => (error as { code?: number }).code === 404;
const isForbidden = (error: unknown) => (error as { code?: number }).code === 403;

/** Where Argo CD keeps its Applications unless configured otherwise (as ArgoSyncApp assumes too). */
const DefaultArgoNamespace = 'argocd';

/** Helm's release and chart names are DNS-1123 labels; anything else in an annotation is not a release name. */
const releaseNamePattern = /^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/;

export function createChangeEnricher(config: k8s.KubeConfig, options: ChangeEnricherOptions = {}): ContextEnricher {
  const objects = k8s.KubernetesObjectApi.makeApiClient(config);
  const core = config.makeApiClient(k8s.CoreV1Api);
  const custom = config.makeApiClient(k8s.CustomObjectsApi);

  const readHelm = async (release: string, namespace: string): Promise<HelmFacts> => {
    const list = await core.listNamespacedSecret({ namespace, labelSelector: `owner=helm,name=${release}` });
    const records: HelmRecord[] = list.items.map((secret) => ({
      name: secret.metadata?.name ?? '',
      labels: secret.metadata?.labels ?? {},
      ...(secret.data?.release === undefined ? {} : { release: secret.data.release }),
      ...(secret.metadata?.creationTimestamp
        ? { created: new Date(secret.metadata.creationTimestamp).toISOString() }
        : {}),
    }));
    return helmFacts(release, namespace, records, {
      ...(options.maxRevisions ? { maxRevisions: options.maxRevisions } : {}),
    });
  };

  const namedArgoApplication = async (metadata: k8s.V1ObjectMeta | undefined): Promise<ArgoFacts | undefined> => {
    const apps: ArgoApplication[] = [];
    for (const name of argoNamesOf(metadata)) {
      if (!releaseNamePattern.test(name)) continue;
      try {
        apps.push(
          (await custom.getNamespacedCustomObject({
            ...Argo,
            namespace: DefaultArgoNamespace,
            name,
          })) as ArgoApplication,
        );
      } catch (error) {
        if (!isNotFound(error)) throw error;
      }
    }
    const found = findArgoApplication(apps, { kind: '', namespace: '', name: '' }, metadata);
    return found
      ? argoFacts(found.app, found.matchedBy, {
          ...(options.maxResources ? { maxResources: options.maxResources } : {}),
        })
      : undefined;
  };

  return {
    name: 'change',
    async enrich(target): Promise<ContextSection> {
      const { workload } = target;
      const unreadable: string[] = [];
      let metadata: k8s.V1ObjectMeta | undefined;
      const apiVersion = apiVersions[workload.kind];
      if (apiVersion) {
        try {
          const object = await objects.read({
            apiVersion,
            kind: workload.kind,
            metadata: { name: workload.name, namespace: workload.namespace },
          });
          metadata = object.metadata;
        } catch (error) {
          unreadable.push(`${workload.kind} ${workload.namespace}/${workload.name}: ${apiReason(error)}`);
        }
      }

      let helm: HelmFacts | undefined;
      const release = metadata?.annotations?.[HelmAnnotations.release];
      if (release !== undefined) {
        const namespace = metadata?.annotations?.[HelmAnnotations.namespace] || workload.namespace;
        if (!releaseNamePattern.test(release) || !releaseNamePattern.test(namespace)) {
          unreadable.push(`Helm release: the annotations name "${release}" in "${namespace}", which is not a release`);
        } else {
          try {
            helm = await readHelm(release, namespace);
          } catch (error) {
            unreadable.push(`Helm release ${namespace}/${release}: ${apiReason(error)}`);
          }
        }
      }

      let argo: ArgoFacts | undefined;
      try {
        // An Application the workload names is fetched alone; only otherwise are all of them searched.
        let apps: ArgoApplication[] = [];
        for (const name of argoNamesOf(metadata)) {
          if (!releaseNamePattern.test(name)) continue;
          const named = (await custom.listClusterCustomObject({
            ...Argo,
            fieldSelector: `metadata.name=${name}`,
          })) as { items?: ArgoApplication[] };
          apps.push(...(named.items ?? []));
        }
        if (apps.length === 0) {
          apps = ((await custom.listClusterCustomObject({ ...Argo })) as { items?: ArgoApplication[] }).items ?? [];
        }
        const found = findArgoApplication(apps, workload, metadata);
        if (found) {
          argo = argoFacts(found.app, found.matchedBy, {
            ...(options.maxResources ? { maxResources: options.maxResources } : {}),
          });
        }
      } catch (error) {
        // No Application CRD: Argo CD is not installed, which is no failure.
        if (isNotFound(error)) {
          // Nothing to say.
        } else if (isForbidden(error) && argoNamesOf(metadata).length > 0) {
          // Allowed to read an Application but not to list them (the chart's grant): the one the workload names,
          // where Argo CD keeps Applications by default.
          argo = await namedArgoApplication(metadata).catch((e: unknown) => {
            unreadable.push(`Argo CD Application: ${apiReason(e)}`);
            return undefined;
          });
        } else unreadable.push(`Argo CD Applications: ${apiReason(error)}`);
      }

      const flux: FluxFacts[] = [];
      for (const owner of fluxOwners(metadata, workload.namespace)) {
        try {
          const object = (await custom.getNamespacedCustomObject({
            ...Flux[owner.kind],
            namespace: owner.namespace,
            name: owner.name,
          })) as FluxObject;
          flux.push(fluxFacts(owner, object));
        } catch (error) {
          if (isNotFound(error)) {
            flux.push({
              ...owner,
              missing: `the workload's labels name it, but there is no such ${owner.kind} (or its CRD is not installed)`,
            });
          } else unreadable.push(`Flux ${owner.kind} ${owner.namespace}/${owner.name}: ${apiReason(error)}`);
        }
      }

      const facts: ChangeFacts = {
        ...(helm ? { helm } : {}),
        ...(argo ? { argo } : {}),
        ...(flux.length > 0 ? { flux } : {}),
        unreadable,
      };
      return renderChangeSection({
        workload,
        facts,
        ...(options.maxChars ? { maxChars: options.maxChars } : {}),
      });
    },
  };
}
