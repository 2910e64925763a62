import { describe, expect, it } from 'vitest';
import { type ActionSpec, RemediationSource, type ResourceRef } from '../../../domain/events/common.schema.ts';
import { actionFingerprint } from '../../../domain/remediation/action.fingerprint.ts';
import type { RemediationCommand } from '../../../domain/remediation/remediation.commands.ts';
import { remediationDecider } from '../../../domain/remediation/remediation.decider.ts';
import { openEventStore } from '../../adapters/eventstore/openEventStore.ts';
import { createCommandHandler } from '../commandHandler.ts';
import { createRemediationExecutor, type RemediationEffects } from './remediationExecutor.ts';

const target: ResourceRef = { kind: 'Deployment', name: 'web', namespace: 'shop' };
const at = '2030-01-01T00:00:00.000Z';

describe('remediation executor', () => {
  it('does not run an action the decider refused to start (it already failed on this Issue)', async () => {
    const store = openEventStore('memory:');
    const stream = 'remediation-r1';
    const decide = createCommandHandler(store, remediationDecider);
    const send = (command: Omit<RemediationCommand, 'metadata'>) =>
      decide(stream, { ...command, metadata: { occurredAt: at } } as RemediationCommand);
    const restart: ActionSpec = { actionId: 'a1', type: 'RestartDeployment', params: {} };
    // An agentic loop may propose an action that failed before; the refusal comes only at StartAction.
    await send({
      type: 'CreateRemediationPlan',
      data: {
        remediationId: 'r1',
        issueId: 'i1',
        attempt: 2,
        source: RemediationSource.Agentic,
        target,
        actions: [],
        doNotRepeat: [actionFingerprint(restart)],
      },
    });
    await send({ type: 'StartSnapshot', data: { snapshotId: 's1' } });
    await send({ type: 'RecordSnapshot', data: { snapshotId: 's1', captured: {} } });
    await send({
      type: 'DecideAgenticStep',
      data: { step: 1, reasoning: 'try a restart', resolved: false, action: restart },
    });

    const ran: string[] = [];
    const effects: RemediationEffects = {
      snapshot: async () => ({ captured: {} }),
      restore: async () => 'restored',
      admit: async () => null,
      run: async (action) => {
        ran.push(action.actionId);
        return 'ran';
      },
      wasApplied: async () => false,
      verify: async () => ({ healthy: true, detail: 'ok' }),
    };
    const execute = createRemediationExecutor({
      store,
      effects,
      now: () => new Date(at),
      newId: () => 'id',
      signalsOf: async () => [],
    });
    const state = await execute(stream);

    expect(ran).toEqual([]);
    expect(state.checkpoints.a1?.status).toBe('refused');
    expect((await store.readStream(stream)).map((e) => e.type)).not.toContain('ActionStarted');
    await store.close();
  });
});
