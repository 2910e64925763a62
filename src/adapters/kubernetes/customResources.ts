import * as k8s from '@kubernetes/client-node';
import { CairnError, ErrorCategory } from '../../../domain/errors.ts';
import { ApiVersion } from '../../../projections/kubernetesResources.projection.ts';

/** A Cairn custom resource as the API server returns it. */
export interface CustomObject {
  readonly apiVersion?: string;
  readonly kind?: string;
  readonly metadata: {
    readonly name: string;
    readonly namespace?: string;
    readonly labels?: Record<string, string>;
    readonly annotations?: Record<string, string>;
    readonly resourceVersion?: string;
    readonly creationTimestamp?: string;
    readonly uid?: string;
  };
  readonly spec?: Record<string, unknown>;
  readonly status?: Record<string, unknown>;
}

/** Create, read, update and delete of one kind of Cairn custom resource; the API server validates the spec. */
export interface CustomResources {
  list(namespace?: string): Promise<CustomObject[]>;
  get(namespace: string, name: string): Promise<CustomObject | undefined>;
  create(namespace: string, object: CustomObject): Promise<CustomObject>;
  /** Replaces the spec (and labels); `resourceVersion`, when given, makes a concurrent change a conflict. */
  replace(namespace: string, name: string, object: CustomObject): Promise<CustomObject>;
  /**
   * Writes the status by server-side apply as `fieldManager`, the one writer of that status: the fields it names
   * are its own, the spec is left alone.
   */
  applyStatus(namespace: string, name: string, status: Record<string, unknown>, fieldManager: string): Promise<void>;
  /** False when there was nothing to delete. */
  delete(namespace: string, name: string): Promise<boolean>;
  /** Whether the API server answers at all (for /readyz). */
  reachable(): Promise<boolean>;
}

const [group, version] = ApiVersion.split('/') as [string, string];

const statusOf = (error: unknown): number | undefined => (error as { code?: number }).code;

/** The API server's own message (a failed CEL rule, a schema error) is what the caller needs to fix the object. */
const messageOf = (error: unknown): string => {
  const body = (error as { body?: unknown }).body;
  const parsed =
    typeof body === 'string'
      ? (() => {
          try {
            return JSON.parse(body) as { message?: string };
          } catch {
            return undefined;
          }
        })()
      : (body as { message?: string } | undefined);
  return parsed?.message ?? (error instanceof Error ? error.message : String(error));
};

/** Kubernetes answers mapped to Cairn's error categories, once, here. */
const translate = (error: unknown, kind: string, what: string): CairnError => {
  const status = statusOf(error);
  const code = kind.toLowerCase();
  if (status === 404)
    return new CairnError(`${code}.not_found`, ErrorCategory.NotFound, `${kind} ${what} does not exist`);
  if (status === 409)
    return new CairnError(`${code}.conflict`, ErrorCategory.Conflict, `${kind} ${what}: ${messageOf(error)}`);
  if (status === 422 || status === 400) {
    return new CairnError(`${code}.invalid`, ErrorCategory.Validation, `${kind} ${what}: ${messageOf(error)}`);
  }
  if (status === 403) {
    return new CairnError(`${code}.forbidden`, ErrorCategory.Forbidden, `Cairn may not change ${kind} ${what}`);
  }
  return new CairnError('kubernetes.unavailable', ErrorCategory.Transient, `${kind} ${what}: ${messageOf(error)}`, {
    cause: error,
  });
};

export function customResources(config: k8s.KubeConfig, kind: string, plural: string): CustomResources {
  const api = config.makeApiClient(k8s.CustomObjectsApi);
  const strip = (o: CustomObject): CustomObject => {
    const { managedFields: _drop, ...metadata } = o.metadata as CustomObject['metadata'] & { managedFields?: unknown };
    return { ...o, metadata };
  };
  return {
    async list(namespace) {
      try {
        const result = (
          namespace
            ? await api.listNamespacedCustomObject({ group, version, namespace, plural })
            : await api.listClusterCustomObject({ group, version, plural })
        ) as { items: CustomObject[] };
        return result.items.map(strip);
      } catch (error) {
        throw translate(error, kind, namespace ? `in ${namespace}` : 'list');
      }
    },
    async get(namespace, name) {
      try {
        return strip(
          (await api.getNamespacedCustomObject({ group, version, namespace, plural, name })) as CustomObject,
        );
      } catch (error) {
        if (statusOf(error) === 404) return undefined;
        throw translate(error, kind, `${namespace}/${name}`);
      }
    },
    async create(namespace, object) {
      try {
        const body = { ...object, apiVersion: ApiVersion, kind, metadata: { ...object.metadata, namespace } };
        return strip(
          (await api.createNamespacedCustomObject({ group, version, namespace, plural, body })) as CustomObject,
        );
      } catch (error) {
        throw translate(error, kind, `${namespace}/${object.metadata.name}`);
      }
    },
    async replace(namespace, name, object) {
      try {
        const current = (await api.getNamespacedCustomObject({
          group,
          version,
          namespace,
          plural,
          name,
        })) as CustomObject;
        const body = {
          ...current,
          metadata: {
            ...current.metadata,
            ...(object.metadata.labels ? { labels: object.metadata.labels } : {}),
            resourceVersion: object.metadata.resourceVersion ?? current.metadata.resourceVersion,
          },
          spec: object.spec,
        };
        return strip(
          (await api.replaceNamespacedCustomObject({ group, version, namespace, plural, name, body })) as CustomObject,
        );
      } catch (error) {
        throw translate(error, kind, `${namespace}/${name}`);
      }
    },
    async applyStatus(namespace, name, status, fieldManager) {
      try {
        await api.patchNamespacedCustomObjectStatus(
          {
            group,
            version,
            plural,
            namespace,
            name,
            body: { apiVersion: ApiVersion, kind, metadata: { name, namespace }, status },
            fieldManager,
            force: true,
          },
          k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.ServerSideApply),
        );
      } catch (error) {
        throw translate(error, kind, `${namespace}/${name} status`);
      }
    },
    async delete(namespace, name) {
      try {
        await api.deleteNamespacedCustomObject({ group, version, namespace, plural, name });
        return true;
      } catch (error) {
        if (statusOf(error) === 404) return false;
        throw translate(error, kind, `${namespace}/${name}`);
      }
    },
    async reachable() {
      try {
        await api.listClusterCustomObject({ group, version, plural, limit: 1 });
        return true;
      } catch {
        return false;
      }
    },
  };
}
