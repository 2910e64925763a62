import { describe, expect, it } from 'vitest';
import type { CascadeMember } from '../events/correlation.events.ts';
import { minutesAfterBase } from '../testing/decider.spec.ts';
import { findCascade, orderCascade, type ServiceDependency } from './cascade.policy.ts';

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

  it('names the most upstream Issue the root even when it was detected last', () => {
    // The frontends failed their readiness first; the backend they call is where it started.
    const chain = findCascade(
      issue('i-payments', 'payments', 5),
      [issue('i-web', 'web', 0), issue('i-checkout', 'checkout', 1)],
      dependencies,
    );
    expect(chain?.map((member) => member.issueId)).toEqual(['i-payments', 'i-checkout', 'i-web']);
  });

  it('lets detection time decide inside a cycle, and still ends', () => {
    const cycle = [calls('a', 'b'), calls('b', 'c'), calls('c', 'a'), calls('web', 'a')];
    const chain = findCascade(
      issue('i-web', 'web', 0),
      [issue('i-a', 'a', 3), issue('i-b', 'b', 1), issue('i-c', 'c', 2)],
      cycle,
    );
    // b, the earliest of the cycle, is the root; then its callers by distance: a calls b, then c and web call a
    // (web, detected earlier, before c).
    expect(chain?.map((member) => member.issueId)).toEqual(['i-b', 'i-a', 'i-web', 'i-c']);
  });

  it('ignores a workload that depends on itself', () => {
    const chain = findCascade(
      issue('i-web', 'web', 0),
      [issue('i-search', 'search', 1)],
      [calls('search', 'search'), calls('web', 'search')],
    );
    expect(chain?.map((member) => member.issueId)).toEqual(['i-search', 'i-web']);
  });
});

describe('orderCascade', () => {
  it('prefers the upstream member most others depend on, then the earliest', () => {
    // web and mobile call api; web also calls search; api and search both depend on nothing failing.
    const deps = [calls('web', 'api'), calls('mobile', 'api'), calls('web', 'search')];
    const order = orderCascade(
      [
        issue('i-web', 'web', 0),
        issue('i-search', 'search', 1),
        issue('i-mobile', 'mobile', 2),
        issue('i-api', 'api', 3),
      ],
      deps,
    );
    expect(order.map((member) => member.issueId)).toEqual(['i-api', 'i-web', 'i-mobile', 'i-search']);
  });

  it('falls back to detection time when nothing links the members by direction', () => {
    const order = orderCascade([issue('i-b', 'b', 2), issue('i-a', 'a', 1)], []);
    expect(order.map((member) => member.issueId)).toEqual(['i-a', 'i-b']);
  });
});
