import * as k8s from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { createKubernetesContextBuilder, selectorString } from './kubernetesContext.ts';

// An API server nobody listens on: these tests must finish without a single request.
const unreachable = () => {
  const config = new k8s.KubeConfig();
  config.loadFromOptions({
    clusters: [{ name: 'none', server: 'https://127.0.0.1:1', skipTLSVerify: true }],
    users: [{ name: 'none' }],
    contexts: [{ name: 'none', cluster: 'none', user: 'none' }],
    currentContext: 'none',
  });
  return config;
};

describe('selectorString', () => {
  it('writes matchLabels and every matchExpressions operator', () => {
    expect(
      selectorString({
        matchLabels: { app: 'web', tier: 'front' },
        matchExpressions: [
          { key: 'env', operator: 'In', values: ['prod', 'staging'] },
          { key: 'canary', operator: 'NotIn', values: ['true'] },
          { key: 'team', operator: 'Exists' },
          { key: 'legacy', operator: 'DoesNotExist' },
        ],
      }),
    ).toBe('app=web,tier=front,env in (prod,staging),canary notin (true),team,!legacy');
  });

  it('is empty without a selector', () => {
    expect(selectorString(undefined)).toBe('');
  });
});

describe('createKubernetesContextBuilder', () => {
  it('answers for a kind it has no builder for without reading anything', async () => {
    const builder = createKubernetesContextBuilder(unreachable());
    const context = await builder.build({ kind: 'ConfigMap', name: 'web', namespace: 'shop' });
    expect(context.facts.found).toBe(false);
    expect(context.text).toContain('no Kubernetes context for kind ConfigMap');
  });

  it('takes a kind named like an Object property for what it is: a kind it has no builder for', async () => {
    const builder = createKubernetesContextBuilder(unreachable());
    for (const kind of ['toString', 'constructor', '__proto__', 'hasOwnProperty']) {
      const context = await builder.build({ kind, name: 'web', namespace: 'shop' });
      expect(context.facts.found).toBe(false);
      expect(context.text).toContain(`no Kubernetes context for kind ${kind}`);
    }
  });

  it('refuses to start when the caller already gave up', async () => {
    const controller = new AbortController();
    controller.abort(new Error('shutting down'));
    const builder = createKubernetesContextBuilder(unreachable());
    await expect(
      builder.build({ kind: 'Deployment', name: 'web', namespace: 'shop' }, { signal: controller.signal }),
    ).rejects.toThrow('shutting down');
  });

  it('reads the subject itself for a Service, Ingress, claim, NetworkPolicy or webhook Issue', async () => {
    const builder = createKubernetesContextBuilder(unreachable());
    for (const kind of [
      'Service',
      'Ingress',
      'PersistentVolumeClaim',
      'NetworkPolicy',
      'ValidatingWebhookConfiguration',
      'MutatingWebhookConfiguration',
    ]) {
      // Reaching for the object (and failing: nothing listens) is what proves the kind is read, not skipped.
      await expect(builder.build({ kind, name: 'web', namespace: 'shop' })).rejects.toThrow(
        `reading ${kind} for the context of ${kind} shop/web failed`,
      );
    }
  });
});
