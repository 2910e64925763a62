import { describe, expect, it } from 'vitest';
import type { ResourceRef } from '../../domain/events/common.schema.ts';
import { RevisionVerdict } from '../../domain/events/revision.events.ts';
import type { RecordedEvent } from '../../domain/messages.ts';
import { openEventStore } from '../adapters/eventstore/openEventStore.ts';
import { judgeRevision, revisionLedgerReactor, revisionStream, revisionVerdicts } from './revisionLedger.ts';

const web: ResourceRef = { kind: 'Deployment', name: 'web', namespace: 'shop' };
const meta = { occurredAt: '2030-01-01T00:00:00.000Z', actor: 'system:watcher' };
const healthy = (revision: string) => ({
  workload: web,
  revision,
  verdict: RevisionVerdict.Healthy,
  reason: 'rolled out',
});

describe('the revision ledger', () => {
  it('records a verdict once, however often the same rollout is seen, and the latest verdict wins', async () => {
    const store = openEventStore('memory:');
    expect(await judgeRevision(store, healthy('aaa'), meta)).toBe(true);
    expect(await judgeRevision(store, healthy('aaa'), meta)).toBe(false);
    expect(await judgeRevision(store, healthy('bbb'), meta)).toBe(true);
    await judgeRevision(store, { ...healthy('aaa'), verdict: RevisionVerdict.Bad, reason: 'fled' }, meta);
    expect(await revisionVerdicts(store, web)).toEqual({ aaa: 'bad', bbb: 'healthy' });
    expect(await revisionVerdicts(store, { ...web, name: 'cart' })).toEqual({});
    expect((await store.readStream(revisionStream(web))).length).toBe(3);
    await store.close();
  });

  it('survives concurrent writers of one workload', async () => {
    const store = openEventStore('memory:');
    await Promise.all(['r1', 'r2', 'r3', 'r4'].map((r) => judgeRevision(store, healthy(r), meta)));
    expect(Object.keys(await revisionVerdicts(store, web)).sort()).toEqual(['r1', 'r2', 'r3', 'r4']);
    await store.close();
  });

  it('turns a successful rollback into a bad verdict on the revision it left, and nothing else', async () => {
    const store = openEventStore('memory:');
    await store.appendToStream('remediation-r1', [
      {
        type: 'RemediationPlanCreated',
        data: {
          remediationId: 'r1',
          issueId: 'i1',
          attempt: 1,
          source: 'ai-runbook',
          target: web,
          actions: [],
          doNotRepeat: [],
          approval: { required: false, requiredApprovals: 1, timeoutSeconds: 3600 },
          verificationTimeoutSeconds: 90,
        },
        metadata: { ...meta, actor: 'system:pipeline' },
      },
      {
        type: 'ActionSucceeded',
        data: { actionId: 'a1', type: 'RestartDeployment', result: 'restarted' },
        metadata: { ...meta, actor: 'system:executor' },
      },
      {
        type: 'ActionSucceeded',
        data: { actionId: 'a2', type: 'RollbackDeployment', result: 'rolled back', revisionLeft: 'bad1' },
        metadata: { ...meta, actor: 'system:executor' },
      },
    ]);
    const reactor = revisionLedgerReactor(store);
    for (const event of await store.readStream('remediation-r1')) {
      if (event.type === 'ActionSucceeded') await reactor.handle(event as RecordedEvent);
    }
    expect(await revisionVerdicts(store, web)).toEqual({ bad1: 'bad' });
    await store.close();
  });
});
