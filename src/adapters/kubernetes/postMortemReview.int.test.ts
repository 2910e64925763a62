import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { ResourceRef } from '../../../domain/events/common.schema.ts';
import { issueName, postMortemName } from '../../../projections/kubernetesResources.projection.ts';
import { at, writeDependantIncident } from '../../../test/support/changeContextIncident.ts';
import { writeIncident } from '../../../test/support/incidentLog.ts';
import {
  createNamespace,
  deleteNamespace,
  eventually,
  type KubeClients,
  kubeClients,
} from '../../../test/support/kube.ts';
import { createApiCommands } from '../../application/apiCommands.ts';
import { type RunningReactor, runReactor } from '../../application/reactor.ts';
import type { EventStore } from '../../ports/eventStore.ts';
import { openEventStore } from '../eventstore/openEventStore.ts';
import type { PostMortemStatus } from './api/postMortem.kind.ts';
import { resourceWriterReactor } from './resourceWriter.reactor.ts';

interface PostMortemObject {
  metadata: { name: string; resourceVersion: string };
  status?: PostMortemStatus & { observedGeneration?: number };
}

let clients: KubeClients;
let namespace: string;
let store: EventStore;
let running: RunningReactor[] = [];
beforeAll(async () => {
  clients = kubeClients();
  namespace = await createNamespace(clients, 'pmreview');
});
afterEach(async () => {
  await Promise.all(running.map((r) => r.close()));
  running = [];
  await store?.close();
});
afterAll(() => deleteNamespace(clients, namespace));

const getPostMortem = async (name: string) =>
  (await clients.custom.getNamespacedCustomObject({
    group: 'aiops.cairn.dev',
    version: 'v1alpha1',
    namespace,
    plural: 'postmortems',
    name,
  })) as PostMortemObject;

const checkpoints = () => {
  const saved = new Map<string, bigint>();
  return {
    read: (name: string) => saved.get(name),
    write: (name: string, position: bigint) => saved.set(name, position),
  };
};

const caughtUp = (writer: RunningReactor) =>
  eventually('the resource writer to catch up with the log', async () => {
    const progress = await writer.progress();
    return progress.live && progress.behind === 0 && !progress.behindAtLeast ? progress : undefined;
  });

describe('PostMortem review on a real API server', () => {
  it('writes the change context, follows review, feedback and close, and a replay from scratch renders the same object', async () => {
    store = openEventStore('memory:');
    const web: ResourceRef = { kind: 'Deployment', name: 'web', namespace };
    const db: ResourceRef = { kind: 'Deployment', name: 'db', namespace };
    const issueId = 'web-dep';
    await writeDependantIncident(store, issueId, web, db, `${namespace}/web-src`);
    const reports: string[] = [];
    running.push(
      runReactor(store, checkpoints(), resourceWriterReactor({ store, config: clients.config, namespace }), {
        maxRetryDelayMs: 200,
        onError: (error) => reports.push(error instanceof Error ? error.message : String(error)),
      }),
    );
    const name = postMortemName(issueId, web);
    // Spec first, then status: the object is complete once its status says where its review is.
    const written = await eventually(
      'the PostMortem of the ended Issue',
      async () => {
        const pm = await getPostMortem(name).catch(() => undefined);
        return pm?.status?.state ? pm : undefined;
      },
      120_000,
    );
    expect(written.status).toMatchObject({
      state: 'Open',
      cascadeChain: [`Deployment ${namespace}/db`, `Deployment ${namespace}/web`],
      cascadePosition: 2,
      suspectedCommit: {
        repository: `${namespace}/web-src`,
        sha: '9c1e4b7a',
        author: 'dana',
        confidence: 0.75,
        filesChanged: ['config/db.yaml'],
        reasons: ['changes the database settings of the failing workload'],
      },
      gitOps: 'Argo CD Application argocd/web: Synced, Degraded at revision 9c1e4b7',
      blastRadius: [
        {
          attempt: 1,
          actions: [
            { type: 'RestartDeployment', pods: 3, servicesEmptied: [{ namespace, name: 'web', readyEndpoints: 3 }] },
          ],
          dependants: [`Deployment ${namespace}/frontend`],
        },
      ],
    });
    expect(written.status?.rootCause).toContain('Suspected change: commit 9c1e4b7 in');
    expect(written.status?.impact).toContain('The plan for attempt 1 was assessed to take 3 pods;');
    expect(written.status?.reviewedAt).toBeUndefined();

    // The review commands as the REST and GraphQL routes send them.
    let clock = at(100);
    const commands = createApiCommands({ store, now: () => new Date(clock) });
    expect(await commands.reviewPostMortem(issueId, 'key:alice', 'looking')).toEqual(['PostMortemReviewed']);
    const inReview = await eventually('the PostMortem in review', async () => {
      const pm = await getPostMortem(name);
      return pm.status?.state === 'InReview' ? pm : undefined;
    });
    expect(inReview.status).toMatchObject({ reviewedAt: at(100), reviewedBy: 'key:alice' });

    clock = at(110);
    await commands.postMortemFeedback(issueId, 'key:bob', {
      rating: 2,
      rootCauseOverride: 'The connection pool change shipped without a load test.',
    });
    clock = at(120);
    await commands.postMortemFeedback(issueId, 'key:carol', { rating: 4, comments: 'the hold on web was right' });
    const withFeedback = await eventually('the latest feedback on the PostMortem', async () => {
      const pm = await getPostMortem(name);
      return pm.status?.feedback?.by === 'key:carol' ? pm : undefined;
    });
    expect(withFeedback.status).toMatchObject({
      state: 'InReview',
      feedback: { rating: 4, comments: 'the hold on web was right', by: 'key:carol', at: at(120) },
      rootCauseOverride: {
        text: 'The connection pool change shipped without a load test.',
        by: 'key:bob',
        at: at(110),
      },
    });
    // The analysis's root cause stays beside the correction.
    expect(withFeedback.status?.rootCause).toBe(written.status?.rootCause);

    clock = at(130);
    await commands.closePostMortem(issueId, 'key:alice', 'done');
    const closed = await eventually('the closed PostMortem', async () => {
      const pm = await getPostMortem(name);
      return pm.status?.state === 'Closed' ? pm : undefined;
    });
    expect(closed.status).toMatchObject({ closedAt: at(130), closedBy: 'key:alice', reviewedAt: at(100) });
    await expect(commands.postMortemFeedback(issueId, 'key:bob', { rating: 5 })).rejects.toMatchObject({
      code: 'postmortem.closed',
    });

    // Every event again, from the first, by a writer that knows nothing of the previous run: the Issue's own events
    // render the PostMortem with its review folded in, so nothing moves.
    await Promise.all(running.map((r) => r.close()));
    running = [];
    const replayed = resourceWriterReactor({ store, config: clients.config, namespace });
    for (const event of await store.readAll()) {
      if (replayed.filter.streamPrefixes?.some((p) => event.streamId.startsWith(p))) await replayed.handle(event);
    }
    const after = await getPostMortem(name);
    expect(after.metadata.resourceVersion).toBe(closed.metadata.resourceVersion);
    expect(after.status).toEqual(closed.status);
    // Under load the shared API server may time out or conflict (retried); nothing may be refused as invalid.
    expect(reports.filter((r) => /HTTP 4(?!09|29)/.test(r))).toEqual([]);
  }, 300_000);
  it('does not bring back an Issue someone deleted when its PostMortem is reviewed', async () => {
    store = openEventStore('memory:');
    const cart: ResourceRef = { kind: 'Deployment', name: 'cart', namespace };
    await writeIncident(store, 'gone', 0, cart);
    const writer = runReactor(
      store,
      checkpoints(),
      resourceWriterReactor({ store, config: clients.config, namespace }),
      { maxRetryDelayMs: 200 },
    );
    running.push(writer);
    const pm = postMortemName('gone', cart);
    await eventually('the PostMortem', async () => (await getPostMortem(pm).catch(() => undefined))?.status?.state);
    // Everything of the incident written (the writer may deliver an event twice), before a person deletes the Issue.
    await caughtUp(writer);
    const issue = {
      group: 'aiops.cairn.dev',
      version: 'v1alpha1',
      namespace,
      plural: 'issues',
      name: issueName('gone', cart),
    };
    await clients.custom.deleteNamespacedCustomObject(issue);
    await eventually('the Issue to be gone', () =>
      clients.custom.getNamespacedCustomObject(issue).then(
        () => false,
        () => true,
      ),
    );

    await createApiCommands({ store, now: () => new Date(at(200)) }).reviewPostMortem('gone', 'key:alice');
    await caughtUp(writer);
    await expect(clients.custom.getNamespacedCustomObject(issue)).rejects.toMatchObject({ code: 404 });
    expect((await writer.progress()).lastError).toBeUndefined();
  }, 300_000);
});
