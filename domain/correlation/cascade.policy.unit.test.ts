import { describe, expect, it } from 'vitest';
import type { CascadeMember } from '../events/correlation.events.ts';
import { minutesAfterBase } from '../testing/decider.spec.ts';
import { findCascade, type ServiceDependency } from './cascade.policy.ts';

const deployment = (name: string, namespace = 'shop') => ({ kind: 'Deployment', name, namespace });
const issue = (issueId: string, name: string, minute: number, namespace = 'shop'): CascadeMember => ({
  issueId,
  workload: deployment(name, namespace),
  detectedAt: minutesAfterBase(minute),
});
const calls = (from: string, to: string, toNamespace = 'shop'): ServiceDependency => ({
  from: deployment(from),
  to: deployment(to, toNamespace),
});

describe('findCascade', () => {
  const dependencies = [calls('web', 'checkout'), calls('checkout', 'payments'), calls('web', 'search')];

  it('orders linked Issues by detection time, the root cause first', () => {
    const web = issue('i-web', 'web', 4);
    const chain = findCascade(
      web,
      [issue('i-checkout', 'checkout', 2), issue('i-payments', 'payments', 0)],
      dependencies,
    );
    expect(chain?.map((member) => member.issueId)).toEqual(['i-payments', 'i-checkout', 'i-web']);
  });

  it('leaves out Issues outside the time window', () => {
    const chain = findCascade(
      issue('i-web', 'web', 30),
      [issue('i-checkout', 'checkout', 0), issue('i-search', 'search', 25)],
      dependencies,
      15,
    );
    expect(chain?.map((member) => member.issueId)).toEqual(['i-search', 'i-web']);
  });

  it('does not relay through a healthy service', () => {
    // web → checkout → payments, but checkout has no Issue: web and payments are not one cascade.
    expect(findCascade(issue('i-web', 'web', 1), [issue('i-payments', 'payments', 0)], dependencies)).toBeNull();
  });

  it('ignores Issues on unrelated services, and crosses namespaces when a dependency does', () => {
    const deps = [...dependencies, calls('payments', 'ledger', 'finance')];
    const chain = findCascade(
      issue('i-payments', 'payments', 1),
      [issue('i-ledger', 'ledger', 0, 'finance'), issue('i-other', 'inventory', 0)],
      deps,
    );
    expect(chain?.map((member) => member.issueId)).toEqual(['i-ledger', 'i-payments']);
  });

  it('is null for an Issue that stands alone', () => {
    expect(findCascade(issue('i-web', 'web', 0), [], dependencies)).toBeNull();
  });
});
