import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import {
  createNamespace,
  deleteNamespace,
  type KubeClients,
  kubeClients,
  testCluster,
} from '../../../test/support/kube.ts';
import { kubectl, type LocalCluster } from '../../cluster/localCluster.ts';
import { cairnKinds } from './api/kinds.ts';

const samples = new URL('../../../crds/samples/', import.meta.url).pathname;
const yamlFiles = (dir: string) => readdirSync(dir).filter((f) => f.endsWith('.yaml'));

let clients: KubeClients;
let cluster: LocalCluster;
let namespace: string;

beforeAll(async () => {
  clients = kubeClients();
  cluster = await testCluster();
  namespace = await createNamespace(clients, 'crds');
});
afterAll(() => deleteNamespace(clients, namespace));

const apply = (manifest: string) =>
  kubectl(cluster, ['-n', namespace, 'apply', '--validate=strict', '-f', '-'], manifest);
const refusal = (manifest: string) =>
  apply(manifest).then(
    () => 'accepted',
    (error: Error) => error.message,
  );

describe('Cairn CRDs on a real API server', () => {
  it('installs every kind, established and served under aiops.cairn.dev/v1alpha1', async () => {
    const resources = await kubectl(cluster, ['api-resources', '--api-group=aiops.cairn.dev', '-o', 'name']);
    const served = resources.trim().split('\n').sort();
    expect(served).toEqual(cairnKinds.map((k) => `${k.plural}.aiops.cairn.dev`).sort());
  });

  it.each(yamlFiles(samples))('accepts the sample %s', async (file) => {
    await expect(apply(readFileSync(join(samples, file), 'utf8'))).resolves.toContain('created');
  });

  it.each(yamlFiles(join(samples, 'invalid')))('refuses the malformed %s, naming the field', async (file) => {
    const manifest = readFileSync(join(samples, 'invalid', file), 'utf8');
    const message = await refusal(manifest);
    expect(message).not.toBe('accepted');
    expect(message).toMatch(/spec\.[a-zA-Z.[\]0-9]+/);
  });

  it('refuses a spec field that is not in the schema', async () => {
    const manifest = readFileSync(join(samples, 'runbook.yaml'), 'utf8').replace('name: ', 'name: typo-');
    const doc = parseAllDocuments(manifest)[0]?.toJS();
    doc.spec.unknownKnob = true;
    expect(await refusal(JSON.stringify(doc))).toMatch(/unknown field "spec.unknownKnob"/);
  });

  it('enforces cross-field rules (CEL) on the server: a trigger naming a signal must name a kind', async () => {
    const manifest = readFileSync(join(samples, 'runbook.yaml'), 'utf8')
      .replace('name: oom-deployment-raise-memory', 'name: half-trigger')
      .replace('    resourceKind: Deployment\n', '');
    expect(await refusal(manifest)).toMatch(/spec\.trigger: Invalid value.*must name a resourceKind/);
  });

  it('keeps an Anomaly immutable once recorded', async () => {
    const anomaly = readFileSync(join(samples, 'anomaly.yaml'), 'utf8');
    const doc = parseAllDocuments(anomaly)[0]?.toJS();
    doc.spec.message = `${doc.spec.message ?? ''} (edited)`;
    expect(await refusal(JSON.stringify(doc))).toMatch(/immutable/i);
  });

  it('shows severity, risk and resource in `kubectl get issues`', async () => {
    const issue = readFileSync(join(samples, 'invalid', 'issue-risk-150.yaml'), 'utf8')
      .replace('name: risk-150', 'name: checkout-oom')
      .replace('riskScore: 150', 'riskScore: 85');
    await apply(issue);
    const [header = '', row = ''] = (await kubectl(cluster, ['-n', namespace, 'get', 'iss'])).split('\n');
    expect(header.split(/\s+/)).toEqual(['NAME', 'SEVERITY', 'STATE', 'RISK', 'RESOURCE', 'AGE']);
    // Columns are aligned under their headers; State is empty until the projection writes status.
    const cell = (name: string) => {
      const start = header.indexOf(name);
      const next = header.slice(start + name.length).search(/\S/);
      return row.slice(start, next < 0 ? undefined : start + name.length + next).trim();
    };
    expect([cell('NAME'), cell('SEVERITY'), cell('STATE'), cell('RISK'), cell('RESOURCE')]).toEqual([
      'checkout-oom',
      'critical',
      '',
      '85',
      'checkout',
    ]);
  });
});
