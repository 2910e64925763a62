import { describe, expect, it } from 'vitest';
import { actionFingerprint, MAX_FINGERPRINT_LENGTH } from './action.fingerprint.ts';

describe('actionFingerprint', () => {
  it('is the type alone for an action without parameters', () => {
    expect(actionFingerprint({ type: 'RestartDeployment', params: {} })).toBe('RestartDeployment');
  });

  it('ignores parameter order', () => {
    expect(actionFingerprint({ type: 'AdjustResources', params: { memory_limit: '512Mi', container: 'app' } })).toBe(
      'AdjustResources(container=app,memory_limit=512Mi)',
    );
    expect(actionFingerprint({ type: 'AdjustResources', params: { container: 'app', memory_limit: '512Mi' } })).toBe(
      'AdjustResources(container=app,memory_limit=512Mi)',
    );
  });

  it('tells different parameter values apart', () => {
    expect(actionFingerprint({ type: 'ScaleDeployment', params: { replicas: '3' } })).not.toBe(
      actionFingerprint({ type: 'ScaleDeployment', params: { replicas: '5' } }),
    );
  });
});

describe('actionFingerprint of a huge proposal', () => {
  const huge = (value: string) => ({ type: 'PatchConfigMap', params: { data: value.repeat(4_000) } });

  it('fits the bound, keeps the Type(...) shape and still tells two huge proposals apart', () => {
    const a = actionFingerprint(huge('a'));
    const b = actionFingerprint({ type: 'PatchConfigMap', params: { data: `${'a'.repeat(3_999)}b` } });
    expect(a.length).toBeLessThanOrEqual(MAX_FINGERPRINT_LENGTH);
    expect(a).toMatch(/^PatchConfigMap\(data=a+…#[0-9a-f]{16}\)$/);
    expect(b).not.toBe(a);
    expect(actionFingerprint(huge('a'))).toBe(a);
  });

  it('leaves fingerprints within the bound as they always were', () => {
    const call = { type: 'ScaleDeployment', params: { replicas: '3'.repeat(900) } };
    expect(actionFingerprint(call)).toBe(`ScaleDeployment(replicas=${'3'.repeat(900)})`);
  });
});
