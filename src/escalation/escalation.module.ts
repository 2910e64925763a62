import * as k8s from '@kubernetes/client-node';
import {
  type EscalationEvent,
  type EscalationState,
  escalationDecider,
} from '../../domain/escalation/escalation.decider.ts';
import type { ResourceRef } from '../../domain/events/common.schema.ts';
import { parseStreamName, StreamCategory } from '../../domain/streams.ts';
import { type ReactorCheckpoints, type RunningReactor, runReactor } from '../application/reactor.ts';
import type { NotificationPolicies } from '../notifications/notificationPolicies.informer.ts';
import type { EventStore } from '../ports/eventStore.ts';
import { type EscalationPolicies, startEscalationPolicies } from './escalationPolicies.informer.ts';
import { escalationRouterReactor } from './escalationRouter.reactor.ts';

export { escalationOutboxSource } from './escalationOutbox.ts';

export interface EscalationsOptions {
  readonly config: k8s.KubeConfig;
  readonly store: EventStore;
  readonly checkpoints: ReactorCheckpoints;
  /** Cairn's own namespace: policies there take Issues of every namespace. */
  readonly namespace: string;
  /** The running notifications: levels page through their policies' channels (and their outbox, see below). */
  readonly notifications: { readonly policies: Pick<NotificationPolicies, 'find' | 'current'> };
  readonly now?: () => Date;
  readonly log?: (line: string) => void;
  readonly onError?: (what: string, error: unknown) => void;
}

export interface RunningEscalations {
  readonly policies: EscalationPolicies;
  readonly router: RunningReactor;
  stop(): Promise<void>;
}

const apiVersionOf = (kind: string) =>
  ['Deployment', 'StatefulSet', 'DaemonSet', 'ReplicaSet'].includes(kind)
    ? 'apps/v1'
    : ['Job', 'CronJob'].includes(kind)
      ? 'batch/v1'
      : 'v1';

/**
 * Escalation, wired as one capability: the EscalationPolicy informer (and its status), and the router that starts,
 * acknowledges, snoozes and resolves escalations from Issue events. Deadlines and pages are served by the
 * notification outbox, to which the operator hands `escalationOutboxSource(store)`. Leader only.
 */
export function startEscalations(options: EscalationsOptions): RunningEscalations {
  const onError = options.onError ?? (() => {});
  // The escalations not yet over, folded from the log for the policies' status (rebuilt at every start), and how
  // many of each policy ended: an ended escalation with nothing left to deliver is only counted.
  const states = new Map<string, EscalationState>();
  const ended = new Map<string, number>();
  let markLive: () => void = () => {};
  const live = new Promise<void>((resolve) => {
    markLive = resolve;
  });
  const policies = startEscalationPolicies({
    config: options.config,
    operatorNamespace: options.namespace,
    notificationPolicy: (namespace, name) => options.notifications.policies.find(namespace, name),
    escalations: async () => {
      await live;
      return { running: states.values(), ended: (namespace, name) => ended.get(`${namespace}/${name}`) ?? 0 };
    },
    ...(options.now ? { now: options.now } : {}),
    onError,
    ...(options.log ? { log: options.log } : {}),
  });
  const view = options.store.subscribeToAll(
    { filter: { streamPrefixes: [`${StreamCategory.Escalation}-`] }, onLive: () => markLive() },
    (event) => {
      const { id } = parseStreamName(event.streamId);
      const before = states.get(id);
      // An outcome recorded after the escalation was forgotten changes nothing shown.
      if (before === undefined && event.type !== 'EscalationStarted') return;
      const state = escalationDecider.evolve(
        before ?? escalationDecider.initialState(),
        event as unknown as EscalationEvent,
      );
      if (state.status === 'resolved' && Object.keys(state.deliveries).length === 0) {
        states.delete(id);
        if (state.policy !== null) {
          const key = `${state.policy.namespace}/${state.policy.name}`;
          ended.set(key, (ended.get(key) ?? 0) + 1);
        }
      } else {
        states.set(id, state);
      }
      if (state.policy !== null) policies.touch(state.policy.namespace, state.policy.name);
    },
  );
  view.done.catch((error) => onError('escalation view stopped', error));

  const objects = k8s.KubernetesObjectApi.makeApiClient(options.config);
  const labelsOf = async (workload: ResourceRef) => {
    try {
      const object = await objects.read({
        apiVersion: apiVersionOf(workload.kind),
        kind: workload.kind,
        metadata: { name: workload.name, ...(workload.namespace ? { namespace: workload.namespace } : {}) },
      });
      return object.metadata?.labels ?? {};
    } catch (error) {
      if ((error as { code?: number }).code === 404) return {};
      throw error;
    }
  };
  const router = runReactor(
    options.store,
    options.checkpoints,
    escalationRouterReactor({
      store: options.store,
      // Both listed first: a level's channels are looked up (for their type) when an escalation starts.
      policies: async () => {
        await options.notifications.policies.current();
        return policies.current();
      },
      channelType: (namespace, policy, channel) =>
        options.notifications.policies.find(namespace, policy)?.channels.get(channel)?.type,
      labelsOf,
      ...(options.log ? { log: options.log } : {}),
    }),
    {
      onError: (error, event, willRetry) =>
        onError(`escalation router on ${event.type} at ${event.position}${willRetry ? ' (will retry)' : ''}`, error),
    },
  );
  router.done.catch((error) => onError('escalation router stopped', error));
  return {
    policies,
    router,
    stop: async () => {
      await router.close();
      await view.close();
      await policies.stop();
    },
  };
}
