import * as k8s from '@kubernetes/client-node';
import { isCairnError } from '../../domain/errors.ts';
import type { RecordedEvent } from '../../domain/messages.ts';
import { approvalRequestResource } from '../../projections/approvalRequest.projection.ts';
import { ApiVersion, issueName, namespaceFor } from '../../projections/kubernetesResources.projection.ts';
import { findAction } from '../actions/registry.ts';
import { isPermanentWriteFailure, writeFailure } from '../adapters/kubernetes/resourceWriter.reactor.ts';
import type { Reactor } from '../application/reactor.ts';
import type { EventStore } from '../ports/eventStore.ts';

const FIELD_MANAGER = 'cairn-approvals';
const [GROUP, VERSION] = ApiVersion.split('/') as [string, string];

/**
 * The one writer of ApprovalRequest objects: each is rendered from its remediation stream (the request, the
 * decisions, the outcome) and applied whole, spec then status, owned by the Issue so it goes with it.
 */
export function approvalRequestWriterReactor(deps: {
  readonly store: EventStore;
  readonly config: k8s.KubeConfig;
  /** Where the objects of cluster-scoped workloads (Nodes) go: Cairn's namespace. */
  readonly namespace: string;
}): Reactor {
  const objects = k8s.KubernetesObjectApi.makeApiClient(deps.config);
  const custom = deps.config.makeApiClient(k8s.CustomObjectsApi);
  const isDestructive = (type: string) => findAction(type)?.destructive === true;

  return {
    name: 'approval-request-writer',
    filter: {
      eventTypes: [
        'ApprovalRequested',
        'ApprovalGranted',
        'ApprovalRefused',
        'ApprovalExpired',
        'RemediationFailed',
        'ChangeWindowOpened',
      ],
    },
    // An Issue object not written yet is waited for a while; a document the API server refuses is passed over.
    isPermanent: (error, attempt) => {
      const details = isCairnError(error) ? error.details : {};
      if (details.kind === 'Issue' && details.status === 404) return attempt >= 30;
      return isPermanentWriteFailure(error, attempt);
    },
    handle: async (event: RecordedEvent) => {
      const history = await deps.store.readStream(event.streamId);
      if (!history.some((e) => e.type === 'ApprovalRequested')) return;
      const created = history.find((e) => e.type === 'RemediationPlanCreated')?.data as
        | { issueId: string; target: { kind: string; name: string; namespace: string } }
        | undefined;
      if (!created) return;
      const namespace = namespaceFor(created.target, deps.namespace);
      const issue = issueName(created.issueId, created.target);
      const ref = { kind: 'Issue', namespace, name: issue };
      // The Issue object is written by the resource writer as the Issue is detected; until it is there, retried.
      const owner = (await custom
        .getNamespacedCustomObject({ group: GROUP, version: VERSION, plural: 'issues', namespace, name: issue })
        .catch((error) => {
          throw writeFailure(ref, error);
        })) as k8s.KubernetesObject;
      const rendered = approvalRequestResource(
        history,
        { name: issue, uid: owner.metadata?.uid ?? '' },
        deps.namespace,
        isDestructive,
      );
      if (!rendered) return;
      const { name } = rendered.doc.metadata;
      const target = { kind: 'ApprovalRequest', namespace, name };
      const written = await objects
        .patch<k8s.KubernetesObject>(
          rendered.doc,
          undefined,
          undefined,
          FIELD_MANAGER,
          true,
          k8s.PatchStrategy.ServerSideApply,
        )
        .catch((error) => {
          throw writeFailure(target, error);
        });
      await custom
        .patchNamespacedCustomObjectStatus(
          {
            group: GROUP,
            version: VERSION,
            plural: 'approvalrequests',
            namespace,
            name,
            body: {
              apiVersion: ApiVersion,
              kind: 'ApprovalRequest',
              metadata: { name, namespace },
              status: { ...rendered.status, observedGeneration: written.metadata?.generation ?? 1 },
            },
            fieldManager: FIELD_MANAGER,
            force: true,
          },
          k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.ServerSideApply),
        )
        .catch((error) => {
          throw writeFailure(target, error);
        });
    },
  };
}
