import { Value } from '@sinclair/typebox/value';
import { describe, expect, it } from 'vitest';
import { RemediationPlanCreatedSchema } from '../events/remediation.events.ts';
import { metaAt } from '../testing/decider.spec.ts';
import type { CreateRemediationPlan } from './remediation.commands.ts';
import { remediationDecider } from './remediation.decider.ts';

const target = { kind: 'Deployment', name: 'checkout', namespace: 'shop' };
const restart = { actionId: 'a1', type: 'RestartDeployment', params: {} };
const radius = {
  actions: [
    {
      actionId: 'a1',
      type: 'RestartDeployment',
      pods: 1,
      pdbViolations: [{ namespace: 'shop', name: 'checkout-pdb', disruptionsAllowed: 0, podsTaken: 1 }],
      servicesEmptied: [{ namespace: 'shop', name: 'checkout', readyEndpoints: 1 }],
      quotaOverflows: [],
    },
  ],
  dependants: [{ kind: 'Deployment', name: 'storefront', namespace: 'shop' }],
};
const create = (data: Partial<CreateRemediationPlan['data']>): CreateRemediationPlan => ({
  type: 'CreateRemediationPlan',
  data: {
    remediationId: 'rem-1',
    issueId: 'iss-1',
    attempt: 1,
    source: 'ai-runbook',
    target,
    actions: [restart],
    ...data,
  },
  metadata: metaAt(0, 'system:pipeline'),
});

describe('a plan records its blast radius', () => {
  it('as assessed, in an event the schema accepts', () => {
    const [event] = remediationDecider.decide(create({ blastRadius: radius }), remediationDecider.initialState());
    expect(event?.type).toBe('RemediationPlanCreated');
    const data = event!.data as { blastRadius?: unknown };
    expect(data.blastRadius).toEqual(radius);
    expect(Value.Check(RemediationPlanCreatedSchema, data)).toBe(true);
  });

  it('not at all when nothing was assessed (the guard is off)', () => {
    const [event] = remediationDecider.decide(create({}), remediationDecider.initialState());
    expect(Object.hasOwn(event!.data as object, 'blastRadius')).toBe(false);
  });

  it('an agentic plan records its dependants, with no action yet', () => {
    const [event] = remediationDecider.decide(
      create({ source: 'agentic', actions: [], blastRadius: { actions: [], dependants: radius.dependants } }),
      remediationDecider.initialState(),
    );
    expect((event!.data as { blastRadius?: unknown }).blastRadius).toEqual({
      actions: [],
      dependants: radius.dependants,
    });
  });

  it('refuses a blast radius naming an action the plan does not have', () => {
    const stray = { ...radius, actions: [{ ...radius.actions[0]!, actionId: 'a9' }] };
    expect(() => remediationDecider.decide(create({ blastRadius: stray }), remediationDecider.initialState())).toThrow(
      'the blast radius names actions the plan does not have: a9',
    );
  });
});
