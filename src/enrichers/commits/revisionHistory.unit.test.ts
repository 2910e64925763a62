import { describe, expect, it } from 'vitest';
import { revisionCandidates, type WorkloadRevision } from './revisionHistory.ts';

const revision = (key: string, number: number, image = `registry.local/db:${key}`): WorkloadRevision => ({
  key,
  number,
  template: { images: [image] },
});
const keys = (list: readonly WorkloadRevision[]) => list.map((r) => r.key);

describe('revisionCandidates', () => {
  it('takes the newest revision as the failing one and the older ones, newest first, as healthy candidates', () => {
    const c = revisionCandidates([revision('db-1', 1), revision('db-3', 3), revision('db-2', 2)], {});
    expect(c.failing).toBe('db-3');
    expect(keys(c.previous)).toEqual(['db-2', 'db-1']);
    expect(c.proven).toEqual([]);
  });

  it('puts the revisions the ledger proved healthy first, and never one it judged bad', () => {
    const c = revisionCandidates([revision('db-1', 1), revision('db-2', 2), revision('db-3', 3), revision('db-4', 4)], {
      'db-1': 'healthy',
      'db-3': 'bad',
      'db-4': 'healthy',
    });
    // The failing revision itself was once proven healthy (it broke later): it is still the failing one.
    expect(c.failing).toBe('db-4');
    expect(keys(c.proven)).toEqual(['db-1']);
    expect(keys(c.previous)).toEqual(['db-2', 'db-1']);
  });

  it("follows the controller's own current revision (a StatefulSet's updateRevision) when it names one", () => {
    // A revision newer than the one the controller names as current is not history.
    const c = revisionCandidates([revision('db-a', 1), revision('db-b', 2), revision('db-c', 3)], {}, 'db-b');
    expect(c.failing).toBe('db-b');
    expect(keys(c.previous)).toEqual(['db-a']);
  });

  it('ignores a current revision the history does not hold, and has no candidates with a single revision', () => {
    expect(revisionCandidates([revision('db-a', 1), revision('db-b', 2)], {}, 'db-z').failing).toBe('db-b');
    const single = revisionCandidates([revision('db-a', 1)], { 'db-a': 'healthy' });
    expect(single).toEqual({ failing: 'db-a', proven: [], previous: [] });
    expect(revisionCandidates([], {})).toEqual({ proven: [], previous: [] });
  });
});
