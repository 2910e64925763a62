import { describe, expect, it } from 'vitest';
import { actionFingerprint } from './action.fingerprint.ts';

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
