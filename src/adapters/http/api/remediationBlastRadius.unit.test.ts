import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PlanBlastRadius } from '../../../../domain/events/remediation.events.ts';
import type { RemediationCommand } from '../../../../domain/remediation/remediation.commands.ts';
import { remediationDecider } from '../../../../domain/remediation/remediation.decider.ts';
import { type ReadSide, startReadSide } from '../../../../test/support/readSide.ts';
import { createCommandHandler } from '../../../application/commandHandler.ts';

const web = { kind: 'Deployment', name: 'web', namespace: 'shop' };
const at = (s: number) => new Date(Date.UTC(2026, 0, 1, 0, 0, s)).toISOString();
const radius: PlanBlastRadius = {
  actions: [
    {
      actionId: '1-restartdeployment',
      type: 'RestartDeployment',
      pods: 1,
      pdbViolations: [{ namespace: 'shop', name: 'web-pdb', disruptionsAllowed: 0, podsTaken: 1 }],
      servicesEmptied: [{ namespace: 'shop', name: 'web', readyEndpoints: 1 }],
      quotaOverflows: [],
    },
  ],
  dependants: [{ kind: 'Deployment', name: 'checkout', namespace: 'shop' }],
};

let side: ReadSide;
beforeAll(async () => {
  side = await startReadSide();
  const plan = (id: string, blastRadius?: PlanBlastRadius) =>
    createCommandHandler(side.store, remediationDecider)(`remediation-${id}`, {
      type: 'CreateRemediationPlan',
      data: {
        remediationId: id,
        issueId: 'b1',
        attempt: 1,
        source: 'ai-runbook',
        target: web,
        actions: [{ actionId: '1-restartdeployment', type: 'RestartDeployment', params: {} }],
        ...(blastRadius ? { blastRadius } : {}),
      },
      metadata: { occurredAt: at(1), actor: 'system:pipeline' },
    } as RemediationCommand);
  await plan('b1-plan', radius);
  await plan('b0-plan');
});
afterAll(() => side.stop());

const summary = '1 pod affected, 1 PodDisruptionBudget violated, 1 Service emptied, 0 quotas exceeded, 1 dependant';

const rest = async (id: string) => {
  const response = await fetch(`${side.url}/api/v1/remediations/${id}`, { headers: side.keys.header('viewer') });
  return response.ok ? ((await response.json()) as { blastRadius?: unknown }) : undefined;
};

describe('the blast radius in the remediation read model', () => {
  it('over REST: the recorded numbers, their totals and the sentence; null for a plan recorded without', async () => {
    await expect
      .poll(async () => (await rest('b1-plan'))?.blastRadius)
      .toEqual({
        summary,
        totals: { pods: 1, pdbViolations: 1, servicesEmptied: 1, quotaOverflows: 0, dependants: 1 },
        actions: radius.actions,
        dependants: radius.dependants,
      });
    await expect.poll(async () => (await rest('b0-plan'))?.blastRadius).toBeNull();
  });

  it('over GraphQL', async () => {
    const query = `{ remediation(id: "b1-plan") { blastRadius { summary totals { pods dependants }
      actions { type pods pdbViolations { name podsTaken disruptionsAllowed } servicesEmptied { name readyEndpoints } }
      dependants { kind name namespace } } } }`;
    await expect
      .poll(async () => {
        const response = await fetch(`${side.url}/graphql`, {
          method: 'POST',
          headers: { ...side.keys.header('viewer'), 'content-type': 'application/json' },
          body: JSON.stringify({ query }),
        });
        return ((await response.json()) as { data?: { remediation?: { blastRadius: unknown } } }).data?.remediation
          ?.blastRadius;
      })
      .toEqual({
        summary,
        totals: { pods: 1, dependants: 1 },
        actions: [
          {
            type: 'RestartDeployment',
            pods: 1,
            pdbViolations: [{ name: 'web-pdb', podsTaken: 1, disruptionsAllowed: 0 }],
            servicesEmptied: [{ name: 'web', readyEndpoints: 1 }],
          },
        ],
        dependants: [{ kind: 'Deployment', name: 'checkout', namespace: 'shop' }],
      });
  });
});
