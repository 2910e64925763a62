import { describe, expect, it } from 'vitest';
import { conditionTransitionTime } from './specInformer.ts';

const NOW = '2026-12-07T10:00:00.000Z';
const EARLIER = '2026-12-01T08:30:00.000Z';

describe('conditionTransitionTime', () => {
  it('keeps the earlier time while the status stays the same', () => {
    expect(conditionTransitionTime({ status: 'True', lastTransitionTime: EARLIER }, { status: 'True' }, NOW)).toBe(
      EARLIER,
    );
  });

  it('takes now when the status changes', () => {
    expect(conditionTransitionTime({ status: 'True', lastTransitionTime: EARLIER }, { status: 'False' }, NOW)).toBe(
      NOW,
    );
  });

  it('takes now for a condition written for the first time', () => {
    expect(conditionTransitionTime(undefined, { status: 'False' }, NOW)).toBe(NOW);
  });

  it('takes now when the same status was written without a time', () => {
    expect(conditionTransitionTime({ status: 'False' }, { status: 'False' }, NOW)).toBe(NOW);
  });
});
