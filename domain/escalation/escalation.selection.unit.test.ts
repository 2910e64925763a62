import { describe, expect, it } from 'vitest';
import { type SelectablePolicy, selectPolicy } from './escalation.selection.ts';

const policy = (name: string, extra: Partial<SelectablePolicy> = {}): SelectablePolicy => ({
  namespace: 'cairn-system',
  name,
  isDefault: false,
  clusterWide: true,
  ...extra,
});
const issue = { severity: 'high' as const, workload: { kind: 'Deployment', namespace: 'shop', name: 'web' } };

describe('which EscalationPolicy takes an Issue', () => {
  it('a matching policy wins over a default one, and the first by name among several', () => {
    const chosen = selectPolicy(
      [policy('fallback', { isDefault: true }), policy('zeta'), policy('alpha', { severities: ['high'] })],
      issue,
      {},
    );
    expect(chosen?.name).toBe('alpha');
  });

  it('the default policy takes what no other policy takes, within its severities', () => {
    const policies = [
      policy('shop-only', { namespaces: ['other'] }),
      policy('fallback', { isDefault: true, severities: ['high', 'critical'] }),
    ];
    expect(selectPolicy(policies, issue, {})?.name).toBe('fallback');
    expect(selectPolicy(policies, { ...issue, severity: 'low' }, {})).toBeUndefined();
  });

  it('a policy outside Cairn’s namespace only sees its own namespace', () => {
    const team = policy('team', { namespace: 'payments', clusterWide: false });
    expect(selectPolicy([team], issue, {})).toBeUndefined();
    expect(selectPolicy([team], { ...issue, workload: { ...issue.workload, namespace: 'payments' } }, {})?.name).toBe(
      'team',
    );
  });

  it('matches the workload labels with the selector', () => {
    const frontend = policy('frontend', {
      labelSelector: { matchLabels: { tier: 'frontend' }, matchExpressions: [] },
    });
    expect(selectPolicy([frontend], issue, { tier: 'frontend' })?.name).toBe('frontend');
    expect(selectPolicy([frontend], issue, { tier: 'backend' })).toBeUndefined();
  });
});
