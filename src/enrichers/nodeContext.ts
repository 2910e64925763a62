import * as k8s from '@kubernetes/client-node';
import { CairnError, ErrorCategory } from '../../domain/errors.ts';
import { redactSecrets } from '../analysis/redaction.ts';
import type { WorkloadRef } from '../analysis/workloadFacts.ts';
import { NodeContextLimits, type NodeKubernetesContext, renderNodeContext } from './nodeContext.render.ts';

/**
 * Reads a Node, the pods bound to it and the events about it through the API server (never a cache) and renders
 * them with nodeContext.render.ts. Used when the Issue's subject is a Node (not ready, disk or memory pressure).
 */
export interface NodeContextBuilder {
  /**
   * A missing node is an answer (`facts.found` false); failing to read the node itself is a Transient CairnError.
   * Pods and events are context: when they cannot be read the text says so and the rest is still rendered.
   */
  build(ref: WorkloadRef, options?: { readonly signal?: AbortSignal }): Promise<NodeKubernetesContext>;
}

export const NodeContextErrorCode = { ReadFailed: 'NodeContextReadFailed' } as const;

const isNotFound = (error: unknown) => (error as { code?: number }).code === 404;

const message = (error: unknown) => redactSecrets(error instanceof Error ? error.message : String(error));

export function createNodeContextBuilder(
  config: k8s.KubeConfig,
  options: { readonly maxChars?: number } = {},
): NodeContextBuilder {
  const core = config.makeApiClient(k8s.CoreV1Api);
  const maxChars = options.maxChars ?? NodeContextLimits.maxChars;
  return {
    async build(ref, buildOptions = {}) {
      const { signal } = buildOptions;
      signal?.throwIfAborted();
      let node: k8s.V1Node | undefined;
      try {
        node = await core.readNode({ name: ref.name });
      } catch (error) {
        if (!isNotFound(error)) {
          throw new CairnError(
            NodeContextErrorCode.ReadFailed,
            ErrorCategory.Transient,
            `reading Node ${ref.name} for its context failed`,
            { cause: error },
          );
        }
      }
      const notes: string[] = [];
      if (!node) return renderNodeContext({ ref, pods: [], events: [], notes }, { maxChars });
      const attempt = async <T>(what: string, read: () => Promise<{ items: T[] }>): Promise<T[]> => {
        signal?.throwIfAborted();
        try {
          return (await read()).items;
        } catch (error) {
          if (signal?.aborted) throw error;
          notes.push(`${what} could not be read: ${message(error)}`);
          return [];
        }
      };
      const [pods, events] = await Promise.all([
        attempt('pods on the node', () => core.listPodForAllNamespaces({ fieldSelector: `spec.nodeName=${ref.name}` })),
        // The kubelet and the node lifecycle controller record node events in the default namespace, but other
        // reporters may not: ask every namespace for events about this Node.
        attempt('events about the node', () =>
          core.listEventForAllNamespaces({
            fieldSelector: `involvedObject.kind=Node,involvedObject.name=${ref.name}`,
          }),
        ),
      ]);
      return renderNodeContext({ ref, node, pods, events, notes }, { maxChars });
    },
  };
}
