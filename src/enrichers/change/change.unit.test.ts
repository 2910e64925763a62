import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { renderChangeSection } from './change.render.ts';
import { changeFactsOf } from './changeFacts.ts';
import { argoFacts, findArgoApplication, fluxFacts, fluxOwners } from './gitopsState.ts';
import { decodeHelmRelease, diffValues, type HelmRecord, helmFacts } from './helmRelease.ts';

const workload = { kind: 'Deployment', namespace: 'shop', name: 'web' };
const planted = 'Pl4nted-Pa55word-xyz';

/** A release record as the API returns it: Helm's base64 of gzipped JSON, inside the Secret's own base64. */
const record = (revision: number, status: string, values: unknown, chartVersion = '0.1.0'): HelmRecord => {
  const release = {
    name: 'web',
    version: revision,
    info: { status, last_deployed: `2026-12-0${revision}T10:00:00Z`, description: `Upgrade ${revision}` },
    chart: { metadata: { name: 'web', version: chartVersion, appVersion: '1.0' }, values: { replicas: 1 } },
    config: values,
  };
  const helm = gzipSync(Buffer.from(JSON.stringify(release))).toString('base64');
  return {
    name: `sh.helm.release.v1.web.v${revision}`,
    labels: { owner: 'helm', name: 'web', version: String(revision), status },
    release: Buffer.from(helm).toString('base64'),
  };
};

describe('Helm release records', () => {
  it('decodes a record and says why one does not decode', () => {
    const ok = decodeHelmRelease(record(1, 'deployed', {}).release);
    expect(ok).toMatchObject({ release: { version: 1, chart: { metadata: { name: 'web' } } } });
    expect(decodeHelmRelease(undefined)).toEqual({ error: 'the Secret has no release data' });
    expect(decodeHelmRelease(Buffer.from('not base64 at all!').toString('base64'))).toEqual({
      error: 'the release data is not base64',
    });
    const gzippedGarbage = Buffer.from(Buffer.from([0x1f, 0x8b, 1, 2, 3]).toString('base64')).toString('base64');
    expect(decodeHelmRelease(gzippedGarbage)).toMatchObject({ error: expect.stringMatching(/does not gunzip/) });
    const notJson = Buffer.from(Buffer.from('{oops').toString('base64')).toString('base64');
    expect(decodeHelmRelease(notJson)).toEqual({ error: 'the release data is not JSON' });
  });

  it('finds the current and last good revisions and diffs their values, chart defaults included', () => {
    const facts = helmFacts('web', 'shop', [
      record(1, 'superseded', { image: { tag: '1.0' } }),
      record(2, 'failed', { image: { tag: '1.1' } }),
      record(3, 'deployed', { image: { tag: 'broken' }, replicas: 3, extra: { on: true } }),
    ]);
    expect(facts).toMatchObject({ currentRevision: 3, lastGoodRevision: 1, revisionCount: 3, chartChanged: false });
    expect(facts.revisions.map((r) => [r.revision, r.status, r.chart])).toEqual([
      [3, 'deployed', 'web-0.1.0'],
      [2, 'failed', 'web-0.1.0'],
      [1, 'superseded', 'web-0.1.0'],
    ]);
    expect(facts.valuesDiff).toEqual([
      { path: 'extra.on', to: 'true' },
      { path: 'image.tag', from: '"1.0"', to: '"broken"' },
      { path: 'replicas', from: '1', to: '3' },
    ]);
  });

  it('never shows a value held under a credential-like key, at any depth', () => {
    const facts = helmFacts('web', 'shop', [
      record(1, 'superseded', { db: { password: 'old-one-123' }, secrets: { api: 'zzzz-old' } }),
      record(2, 'deployed', { db: { password: planted }, secrets: { api: planted }, token: planted }),
    ]);
    const text = renderChangeSection({ workload, facts: { helm: facts, unreadable: [] } }).text;
    expect(facts.valuesDiff?.map((c) => c.path)).toEqual(['db.password', 'secrets.api', 'token']);
    expect(JSON.stringify(facts)).not.toContain(planted);
    expect(JSON.stringify(facts)).not.toContain('old-one-123');
    expect(text).not.toContain(planted);
    expect(text).toContain('- db.password: [REDACTED] → [REDACTED]');
  });

  it('names a record that does not decode and still shows the others', () => {
    const bad = { ...record(2, 'deployed', {}), release: Buffer.from('garbage').toString('base64') };
    const facts = helmFacts('web', 'shop', [record(1, 'superseded', {}), bad]);
    expect(facts.revisions[0]).toMatchObject({ revision: 2, undecodable: expect.stringMatching(/not JSON/) });
    expect(facts.revisions[1]).toMatchObject({ revision: 1, chart: 'web-0.1.0' });
    expect(facts.valuesDiffUnavailable).toMatch(/revision 2 does not decode/);
    const text = renderChangeSection({ workload, facts: { helm: facts, unreadable: [] } }).text;
    expect(text).toContain('revision 2 [deployed]: record unreadable (sh.helm.release.v1.web.v2:');
    expect(text).toContain('Values revision 1 → 2: not compared, revision 2 does not decode');
  });

  it('says when the named release has no records', () => {
    const facts = helmFacts('ghost', 'shop', []);
    expect(facts.missing).toMatch(/no record of it/);
    const text = renderChangeSection({ workload, facts: { helm: facts, unreadable: [] } }).text;
    expect(text).toContain('Helm release shop/ghost: not found: the workload names Helm release "ghost"');
  });

  it('bounds the history and the diff', () => {
    const records = Array.from({ length: 30 }, (_, i) =>
      record(
        i + 1,
        i === 29 ? 'deployed' : 'superseded',
        Object.fromEntries([...Array(60)].map((_, k) => [`k${k}`, i])),
      ),
    );
    const facts = helmFacts('web', 'shop', records, { maxRevisions: 5 });
    expect(facts.revisions.map((r) => r.revision)).toEqual([30, 29, 28, 27, 26]);
    expect(facts.valuesDiff).toHaveLength(60);
    const section = renderChangeSection({ workload, facts: { helm: facts, unreadable: [] }, maxChars: 1_500 });
    expect(section.text.length).toBeLessThanOrEqual(1_500);
    expect(renderChangeSection({ workload, facts: { helm: facts, unreadable: [] } }).text).toContain(
      '- … 35 more change(s)',
    );
  });
});

describe('values diff', () => {
  it('hides values under credential-like paths but shows the name of a Secret', () => {
    const before = { config: { apiKey: 'k-1' }, auth: { token: 't-1' }, smtp: { pass: 'p-1' }, secretName: 'db-a' };
    const after = { config: { apiKey: 'k-2' }, auth: { token: 't-2' }, smtp: { pass: 'p-2' }, secretName: 'db-b' };
    expect(diffValues(before, after)).toEqual([
      { path: 'auth.token', from: '[REDACTED]', to: '[REDACTED]' },
      { path: 'config.apiKey', from: '[REDACTED]', to: '[REDACTED]' },
      { path: 'secretName', from: '"db-a"', to: '"db-b"' },
      { path: 'smtp.pass', from: '[REDACTED]', to: '[REDACTED]' },
    ]);
  });

  it('compares lists whole and reports removed keys', () => {
    expect(diffValues({ a: [1, 2], b: 'x' }, { a: [1, 3] })).toEqual([
      { path: 'a', from: '[1,2]', to: '[1,3]' },
      { path: 'b', from: '"x"' },
    ]);
  });
});

describe('GitOps state', () => {
  const app = (name: string, resources: unknown[]) => ({
    metadata: { name, namespace: 'argocd' },
    status: {
      sync: { status: 'OutOfSync', revision: 'abc123' },
      health: { status: 'Degraded' },
      resources,
      operationState: { phase: 'Failed', message: 'one or more objects failed', syncResult: { revision: 'abc123' } },
    },
  });

  it('finds the Application that lists the workload, and bounds what it names', () => {
    const many = Array.from({ length: 5_000 }, (_, i) => ({
      kind: 'ConfigMap',
      namespace: 'shop',
      name: `cm-${i}`,
      status: 'OutOfSync',
      health: { status: 'Healthy' },
    }));
    const apps = [app('other', []), app('shop', [...many, { kind: 'Deployment', namespace: 'shop', name: 'web' }])];
    const found = findArgoApplication(apps, workload, undefined);
    expect(found?.app.metadata?.name).toBe('shop');
    const facts = argoFacts(found?.app ?? {}, found?.matchedBy ?? '');
    expect(facts).toMatchObject({ resourceCount: 5_001, troubledCount: 5_000, syncStatus: 'OutOfSync' });
    expect(facts.troubledResources).toHaveLength(10);
    const text = renderChangeSection({ workload, facts: { argo: facts, unreadable: [] } }).text;
    expect(text).toContain('Argo CD Application argocd/shop (listed in its status.resources): sync OutOfSync');
    expect(text).toContain('- last operation: Failed at abc123: one or more objects failed');
    expect(text).toContain('- … 4990 more out-of-sync or unhealthy resource(s)');
    expect(text.length).toBeLessThan(2_000);
  });

  it('prefers the instance label, and reads Flux labels', () => {
    const labels = {
      'argocd.argoproj.io/instance': 'other',
      'kustomize.toolkit.fluxcd.io/name': 'apps',
      'kustomize.toolkit.fluxcd.io/namespace': 'flux-system',
      'helm.toolkit.fluxcd.io/name': 'web',
    };
    expect(findArgoApplication([app('other', [])], workload, { labels })?.matchedBy).toBe(
      'label argocd.argoproj.io/instance',
    );
    const owners = fluxOwners({ labels }, 'shop');
    expect(owners).toEqual([
      { kind: 'Kustomization', name: 'apps', namespace: 'flux-system' },
      { kind: 'HelmRelease', name: 'web', namespace: 'shop' },
    ]);
    const facts = fluxFacts(owners[0] as (typeof owners)[number], {
      status: {
        lastAppliedRevision: 'main@sha1:abc',
        lastAttemptedRevision: 'main@sha1:def',
        conditions: [{ type: 'Ready', status: 'False', reason: 'HealthCheckFailed', message: 'web not ready' }],
      },
    });
    const section = renderChangeSection({ workload, facts: { flux: [facts], unreadable: [] } });
    expect(section.text).toContain(
      'Flux Kustomization flux-system/apps: last applied main@sha1:abc, last attempted main@sha1:def, Ready False (HealthCheckFailed): web not ready.',
    );
    expect(changeFactsOf([section])?.flux?.[0]?.lastAppliedRevision).toBe('main@sha1:abc');
  });
});
