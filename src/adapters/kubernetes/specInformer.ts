import * as k8s from '@kubernetes/client-node';
import { ApiVersion } from '../../../projections/kubernetesResources.projection.ts';
import { createKeyedQueue } from '../../application/keyedQueue.ts';

const [GROUP, VERSION] = ApiVersion.split('/') as [string, string];

export interface SpecInformerOptions {
  readonly config: k8s.KubeConfig;
  /** The kind, as watch errors name it: `watch <kind>`. */
  readonly kind: string;
  readonly plural: string;
  /** How a listing error names the kind: `listing <kindPlural>`. */
  readonly kindPlural: string;
  /** How an error names one object, e.g. `approval policy ns/name`. */
  readonly describe: (key: string) => string;
  /** Re-reads the object under `namespace/name` and acts on it; never handed the watch payload. */
  readonly reconcile: (key: string) => Promise<void>;
  /** List once at start and reconcile every item before `synced` resolves; true by default. */
  readonly initialSync?: boolean;
  readonly onError?: (what: string, error: unknown) => void;
}

export interface SpecInformer {
  /** Resolves once every object listed at start was reconciled (at once when initialSync is false). */
  readonly synced: Promise<void>;
  /** Queues the key for reconciling again. */
  refresh(key: string): void;
  /** Stops the watch and its restarts, runs `between` (if any), then stops the queue. */
  stop(between?: () => Promise<unknown>): Promise<void>;
}

const keyOf = (object: k8s.KubernetesObject) => `${object.metadata?.namespace ?? ''}/${object.metadata?.name ?? ''}`;

/**
 * The cluster-wide informer the policy kinds share: every ADD, UPDATE and DELETE queues its `namespace/name` key,
 * a failed watch starts again after a capped exponential backoff (reset once it connects), and the objects
 * listed at start are all reconciled before `synced` resolves.
 */
export function startSpecInformer(options: SpecInformerOptions): SpecInformer {
  const custom = options.config.makeApiClient(k8s.CustomObjectsApi);
  const queue = createKeyedQueue(options.reconcile, {
    onError: (key, error, attempt) => options.onError?.(`${options.describe(key)} (attempt ${attempt})`, error),
  });
  const list = () =>
    custom.listClusterCustomObject({ group: GROUP, version: VERSION, plural: options.plural }) as Promise<
      k8s.KubernetesListObject<k8s.KubernetesObject>
    >;
  const informer = k8s.makeInformer<k8s.KubernetesObject>(
    options.config,
    `/apis/${GROUP}/${VERSION}/${options.plural}`,
    list,
  );
  informer.on(k8s.ADD, (o) => queue.add(keyOf(o)));
  informer.on(k8s.UPDATE, (o) => queue.add(keyOf(o)));
  informer.on(k8s.DELETE, (o) => queue.add(keyOf(o)));
  let stopped = false;
  let restart: NodeJS.Timeout | undefined;
  let failures = 0;
  informer.on(k8s.CONNECT, () => {
    failures = 0;
  });
  const restartLater = (error: unknown) => {
    if (stopped) return;
    failures += 1;
    options.onError?.(`watch ${options.kind}`, error);
    clearTimeout(restart);
    restart = setTimeout(
      () => {
        if (!stopped) informer.start().catch(restartLater);
      },
      Math.min(30_000, 500 * 2 ** Math.min(failures, 6)),
    );
  };
  informer.on(k8s.ERROR, restartLater);

  const synced =
    options.initialSync === false
      ? Promise.resolve()
      : (async () => {
          for (;;) {
            try {
              const { items } = await list();
              await Promise.all(
                items.map((o) =>
                  options.reconcile(keyOf(o)).catch((e) => options.onError?.(options.describe(keyOf(o)), e)),
                ),
              );
              return;
            } catch (error) {
              if (stopped) return;
              options.onError?.(`listing ${options.kindPlural}`, error);
              await new Promise((r) => setTimeout(r, 2_000));
            }
          }
        })();
  informer.start().catch(restartLater);

  return {
    synced,
    refresh: (key) => queue.add(key),
    stop: async (between) => {
      stopped = true;
      clearTimeout(restart);
      await informer.stop();
      await between?.();
      await queue.stop();
    },
  };
}

/** A condition's lastTransitionTime: kept while its status stays the same, `now` once it changes. Pure. */
export function conditionTransitionTime(
  previous: { readonly status: string; readonly lastTransitionTime?: string } | undefined,
  next: { readonly status: string },
  now: string,
): string {
  return previous && previous.status === next.status ? (previous.lastTransitionTime ?? now) : now;
}
