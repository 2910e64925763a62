import * as k8s from '@kubernetes/client-node';

/**
 * Leader election on a coordination.k8s.io Lease, as Kubernetes' own controllers do it: the leader renews the
 * lease every `retryPeriodMs`; a candidate takes it over only once it has gone unrenewed for `leaseDurationMs`.
 * Every write carries the resourceVersion that was read, so two candidates racing for an expired lease cannot both
 * win: the API server refuses the second write with 409 Conflict.
 *
 * A leader that cannot renew within `renewDeadlineMs` stops leading on its own, before anybody else may take over
 * (renewDeadline < leaseDuration), so two operators never act at once.
 */
export interface LeaderElectionOptions {
  readonly namespace: string;
  readonly name: string;
  readonly identity: string;
  readonly leaseDurationMs?: number;
  readonly renewDeadlineMs?: number;
  readonly retryPeriodMs?: number;
  readonly onStartedLeading: () => void;
  readonly onStoppedLeading: () => void;
  readonly onError?: (error: unknown) => void;
}

export interface LeaderElector {
  isLeader(): boolean;
  /** Stops campaigning; a leader gives the lease up so a standby can take over at once. */
  stop(): Promise<void>;
}

/** Leases hold MicroTime; a plain Date read back from the API would be written with too few digits. */
const micro = (date: Date | undefined) => (date ? new k8s.V1MicroTime(new Date(date).getTime()) : undefined);

const statusOf = (error: unknown): number | undefined =>
  (error as { code?: number; statusCode?: number })?.code ?? (error as { statusCode?: number })?.statusCode;

export function startLeaderElection(config: k8s.KubeConfig, options: LeaderElectionOptions): LeaderElector {
  const api = config.makeApiClient(k8s.CoordinationV1Api);
  const leaseDurationMs = options.leaseDurationMs ?? 15_000;
  const renewDeadlineMs = options.renewDeadlineMs ?? 10_000;
  const retryPeriodMs = options.retryPeriodMs ?? 2_000;
  const { namespace, name, identity } = options;
  let leading = false;
  let lastRenewal = 0;
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;

  const lose = () => {
    if (!leading) return;
    leading = false;
    options.onStoppedLeading();
  };

  const spec = (previous?: k8s.V1LeaseSpec): k8s.V1LeaseSpec => {
    const now = new k8s.V1MicroTime();
    const takeover = previous?.holderIdentity !== identity;
    return {
      holderIdentity: identity,
      leaseDurationSeconds: Math.ceil(leaseDurationMs / 1000),
      acquireTime: takeover ? now : (micro(previous?.acquireTime) ?? now),
      renewTime: now,
      leaseTransitions: (previous?.leaseTransitions ?? 0) + (takeover && previous ? 1 : 0),
    };
  };

  const attempt = async (): Promise<boolean> => {
    let lease: k8s.V1Lease;
    try {
      lease = await api.readNamespacedLease({ name, namespace });
    } catch (error) {
      if (statusOf(error) !== 404) throw error;
      await api.createNamespacedLease({ namespace, body: { metadata: { name, namespace }, spec: spec() } });
      return true;
    }
    const holder = lease.spec?.holderIdentity;
    const renewed = lease.spec?.renewTime ? new Date(lease.spec.renewTime).getTime() : 0;
    const duration = (lease.spec?.leaseDurationSeconds ?? 0) * 1000;
    const free = !holder || holder === identity || Date.now() > renewed + duration;
    if (!free) return false;
    await api.replaceNamespacedLease({ name, namespace, body: { ...lease, spec: spec(lease.spec) } });
    return true;
  };

  const loop = async () => {
    if (stopped) return;
    try {
      const held = await attempt();
      if (held) {
        lastRenewal = Date.now();
        if (!leading) {
          leading = true;
          options.onStartedLeading();
        }
      } else {
        lose();
      }
    } catch (error) {
      // 409: somebody else wrote the lease between our read and write; they hold it now.
      if (statusOf(error) === 409) lose();
      else options.onError?.(error);
    }
    if (leading && Date.now() - lastRenewal > renewDeadlineMs) lose();
    if (!stopped) timer = setTimeout(loop, retryPeriodMs);
  };
  void loop();

  return {
    isLeader: () => leading,
    stop: async () => {
      stopped = true;
      if (timer) clearTimeout(timer);
      if (!leading) return;
      try {
        const lease = await api.readNamespacedLease({ name, namespace });
        if (lease.spec?.holderIdentity === identity) {
          await api.replaceNamespacedLease({
            name,
            namespace,
            body: {
              ...lease,
              spec: {
                ...lease.spec,
                acquireTime: micro(lease.spec.acquireTime),
                holderIdentity: undefined,
                renewTime: undefined,
              },
            },
          });
        }
      } catch (error) {
        options.onError?.(error);
      }
      lose();
    },
  };
}
