import { describe, expect, it } from 'vitest';
import type { RemediationCommand } from '../../domain/remediation/remediation.commands.ts';
import { remediationDecider } from '../../domain/remediation/remediation.decider.ts';
import { openEventStore } from '../adapters/eventstore/openEventStore.ts';
import { createKeyRing, formatKeyFile, generateKey, parseKeyFile } from '../adapters/http/security/apiKeys.ts';
import { createApiCommands } from '../application/apiCommands.ts';
import { createCommandHandler } from '../application/commandHandler.ts';

describe('approver groups', () => {
  it('travel with an API key: stored, read back from the key file, and on the identity', () => {
    const { key, stored } = generateKey('ann', 'operator', new Date('2026-12-07T10:00:00Z'), undefined, ['sre', 'dba']);
    expect(stored.groups).toEqual(['sre', 'dba']);
    const [read] = parseKeyFile(formatKeyFile([stored]), 'keys.json');
    expect(read?.groups).toEqual(['sre', 'dba']);
    expect(createKeyRing([read!]).verify(key)).toMatchObject({ actor: 'key:ann', groups: ['sre', 'dba'] });
    const plain = generateKey('bob', 'operator');
    expect(createKeyRing([plain.stored]).verify(plain.key)?.groups).toBeUndefined();
  });

  it('are refused when malformed, naming the group', () => {
    expect(() => generateKey('ann', 'operator', new Date(), undefined, ['SRE team'])).toThrow(
      /"SRE team" is not a group name/,
    );
    expect(() => generateKey('ann', 'operator', new Date(), undefined, [])).toThrow(/1 to 32 groups/);
  });

  it('decide whose approval counts when the request names groups', async () => {
    const store = openEventStore('memory:');
    const decide = createCommandHandler(store, remediationDecider);
    const stream = 'remediation-r1';
    const at = (s: number) => ({
      occurredAt: new Date(Date.UTC(2026, 11, 7, 10, 0, s)).toISOString(),
      actor: 'system:pipeline',
    });
    await decide(stream, {
      type: 'CreateRemediationPlan',
      data: {
        remediationId: 'r1',
        issueId: 'i1',
        attempt: 1,
        source: 'ai-runbook',
        target: { kind: 'Deployment', name: 'web', namespace: 'shop' },
        actions: [{ actionId: 'a1', type: 'RestartDeployment', params: {} }],
        approval: { required: true, requiredApprovals: 1, groups: ['sre'] },
      },
      metadata: at(0),
    } as RemediationCommand);
    await decide(stream, {
      type: 'RequestApproval',
      data: { requestId: 'r1-approval' },
      metadata: at(1),
    } as RemediationCommand);
    const commands = createApiCommands({ store, now: () => new Date(Date.UTC(2026, 11, 7, 10, 0, 5)) });
    await expect(commands.approve('r1', 'r1-approval', 'key:dev', ['dev'])).rejects.toMatchObject({
      code: 'remediation.approver_not_in_group',
    });
    await expect(commands.approve('r1', 'r1-approval', 'key:nobody')).rejects.toMatchObject({
      code: 'remediation.approver_not_in_group',
    });
    expect(await commands.approve('r1', 'r1-approval', 'key:ann', ['sre'])).toEqual(['ApprovalGranted']);
    await store.close();
  });
});
