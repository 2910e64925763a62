import * as k8s from '@kubernetes/client-node';
import type { ResourceRef } from '../../domain/events/common.schema.ts';
import { type ReactorCheckpoints, runReactor } from '../application/reactor.ts';
import type { EventStore } from '../ports/eventStore.ts';
import { type ChannelHealthBook, followChannelHealth } from './channelHealth.follower.ts';
import { sendAlertmanager } from './channels/alertmanager.channel.ts';
import type { ChannelCredentials, ChannelMessage, SendResult } from './channels/channel.ts';
import { sendEmail } from './channels/email.channel.ts';
import { sendOpsgenie } from './channels/opsgenie.channel.ts';
import { sendPagerDuty } from './channels/pagerduty.channel.ts';
import { sendSlack } from './channels/slack.channel.ts';
import { sendTeams } from './channels/teams.channel.ts';
import { sendWebhook } from './channels/webhook.channel.ts';
import { type NotificationOutbox, type OutboxSource, startNotificationOutbox } from './notificationOutbox.ts';
import { type NotificationPolicies, startNotificationPolicies } from './notificationPolicies.informer.ts';
import { notificationRouterReactor } from './notificationRouter.reactor.ts';
import type { ChannelSpec } from './policy.validation.ts';
import { keepAliveCoreApi } from './secretClient.ts';

export interface NotificationsOptions {
  readonly config: k8s.KubeConfig;
  readonly store: EventStore;
  readonly checkpoints: ReactorCheckpoints;
  /** Cairn's own namespace: policies there hear of every namespace. */
  readonly namespace: string;
  readonly now?: () => Date;
  readonly tickMs?: number;
  readonly log?: (line: string) => void;
  readonly onError?: (what: string, error: unknown) => void;
  /** Other streams whose deadlines and deliveries the outbox serves (escalations). */
  readonly outboxSources?: readonly OutboxSource<unknown>[];
}

export interface RunningNotifications {
  readonly policies: NotificationPolicies;
  readonly outbox: NotificationOutbox;
  /** Each channel's health, folded from the recorded delivery outcomes (also in each policy's status). */
  readonly channelHealth: ChannelHealthBook;
  stop(): Promise<void>;
}

type SecretRef = { readonly name: string; readonly key: string };

/** A Secret's value, read at the moment of sending: rotating a key needs no restart, and nothing keeps it. */
function secretReader(config: k8s.KubeConfig) {
  // Every send reads its Secrets: one pool of kept-alive connections, not a TLS handshake per read.
  const core = keepAliveCoreApi(config);
  return async (namespace: string, ref: SecretRef): Promise<string | { problem: string }> => {
    try {
      const secret = await core.readNamespacedSecret({ namespace, name: ref.name });
      const encoded = secret.data?.[ref.key];
      if (encoded === undefined) return { problem: `Secret ${namespace}/${ref.name} has no key ${ref.key}` };
      return Buffer.from(encoded, 'base64').toString('utf8').trim();
    } catch (error) {
      const code = (error as { code?: number }).code;
      if (code === 404) return { problem: `Secret ${namespace}/${ref.name} not found` };
      // The client's message may quote the request; the status code says enough.
      return { problem: `Secret ${namespace}/${ref.name} could not be read${code ? ` (HTTP ${code})` : ''}` };
    }
  };
}

/** Sends one message on a channel of the policy as it is now; a channel removed since the decision fails for good. */
export function channelSender(
  policies: Pick<NotificationPolicies, 'find'> & Partial<Pick<NotificationPolicies, 'current'>>,
  readSecret: (namespace: string, ref: SecretRef) => Promise<string | { problem: string }>,
) {
  return async (decided: ChannelMessage, channelName: string): Promise<SendResult> => {
    const { namespace, name } = decided.policy;
    // A new leader sends what was decided before the policies are listed: a channel is missing only once they are.
    await policies.current?.();
    const policy = policies.find(namespace, name);
    const channel: ChannelSpec | undefined = policy?.channels.get(channelName);
    const message: ChannelMessage =
      policy?.incidentUrl === undefined ? decided : { ...decided, incidentUrl: policy.incidentUrl };
    if (channel === undefined) {
      return {
        ok: false,
        latencyMs: 0,
        error: `channel ${channelName} is no longer in NotificationPolicy ${namespace}/${name}`,
        retryable: false,
      };
    }
    const secret = async (ref: SecretRef | undefined) => (ref === undefined ? undefined : readSecret(namespace, ref));
    const target = await secret(channel.secretRef);
    const signing = await secret(channel.signingSecretRef);
    const username = await secret(channel.email?.usernameRef);
    const password = await secret(channel.email?.passwordRef);
    const ca = await secret(channel.email?.caRef);
    for (const value of [target, signing, username, password, ca]) {
      if (typeof value === 'object') return { ok: false, latencyMs: 0, error: value.problem, retryable: true };
    }
    const pagingUrl = (channel.type === 'pagerduty' || channel.type === 'opsgenie') && channel.url;
    const credentials: ChannelCredentials = {
      target: (target as string | undefined) ?? channel.url ?? '',
      ...(typeof signing === 'string' ? { signingKey: signing } : {}),
      ...(pagingUrl ? { url: pagingUrl } : {}),
      ...(typeof username === 'string' ? { username } : {}),
      ...(typeof password === 'string' ? { password } : {}),
      ...(typeof ca === 'string' ? { ca } : {}),
    };
    switch (channel.type) {
      case 'slack':
        return sendSlack(message, credentials, channel.timeoutMs);
      case 'pagerduty':
        return sendPagerDuty(message, credentials, channel.timeoutMs);
      case 'webhook':
        return sendWebhook(message, credentials, channel.timeoutMs);
      case 'teams':
        return sendTeams(message, credentials, channel.timeoutMs);
      case 'opsgenie':
        return sendOpsgenie(message, credentials, channel.timeoutMs);
      case 'alertmanager':
        return sendAlertmanager(message, credentials, channel.timeoutMs);
      case 'email':
        if (channel.email === undefined) {
          return { ok: false, latencyMs: 0, error: `channel ${channelName} has no email settings`, retryable: false };
        }
        return sendEmail(message, channel.email, credentials, channel.timeoutMs);
    }
  };
}

/**
 * Notifications, wired as one capability: the NotificationPolicy informer, the router that turns Issue events into
 * group transitions, and the outbox that flushes groups at their recorded deadlines and delivers. Leader only.
 */
export function startNotifications(options: NotificationsOptions): RunningNotifications {
  const now = options.now ?? (() => new Date());
  const onError = options.onError ?? (() => {});
  let book: ChannelHealthBook | undefined;
  const policies = startNotificationPolicies({
    config: options.config,
    operatorNamespace: options.namespace,
    now,
    onError,
    ...(options.log ? { log: options.log } : {}),
    channelHealth: (namespace, name) => book?.ofPolicy(namespace, name) ?? new Map(),
  });
  // The status writer stays the informer's: a channel whose health moved only puts its policy back in the queue.
  const health = followChannelHealth(options.store, {
    onChange: (namespace, name) => policies.refresh(namespace, name),
    onError,
  });
  book = health.book;
  const objects = k8s.KubernetesObjectApi.makeApiClient(options.config);
  const labelsOf = async (workload: ResourceRef) => {
    const apiVersion = ['Deployment', 'StatefulSet', 'DaemonSet', 'ReplicaSet'].includes(workload.kind)
      ? 'apps/v1'
      : ['Job', 'CronJob'].includes(workload.kind)
        ? 'batch/v1'
        : 'v1';
    try {
      const object = await objects.read({
        apiVersion,
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
    notificationRouterReactor({
      store: options.store,
      policies: async () => (await policies.current()).map((p) => p.routing),
      labelsOf,
    }),
    {
      onError: (error, event, willRetry) =>
        onError(`notification router on ${event.type} at ${event.position}${willRetry ? ' (will retry)' : ''}`, error),
    },
  );
  router.done.catch((error) => onError('notification router stopped', error));
  const outbox = startNotificationOutbox({
    store: options.store,
    send: channelSender(policies, secretReader(options.config)),
    now,
    ...(options.tickMs ? { tickMs: options.tickMs } : {}),
    onError,
    ...(options.log ? { log: (line: string) => options.log?.(`notifications: ${line}`) } : {}),
    ...(options.outboxSources ? { sources: options.outboxSources } : {}),
  });
  return {
    policies,
    outbox,
    channelHealth: health.book,
    stop: async () => {
      await router.close();
      await health.close();
      await outbox.stop();
      await policies.stop();
    },
  };
}
