import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { createNamespace, deleteNamespace, type KubeClients, kubeClients } from '../../test/support/kube.ts';
import { PROMTOOL_BINARY } from '../../test/support/prometheus.ts';
import { sloRules } from '../cli/commands/slo.command.ts';
import { validateSlo } from './slo.validation.ts';
import { type AlertingRule, type PrometheusRuleDocument, sloPrometheusRule, toYaml } from './sloRules.ts';

/*
 * The rules `cairn slo rules` prints, judged by Prometheus' own promtool: `check rules` parses every expression
 * (30d and 4w ranges included), and `test rules` feeds series through the recording and alerting rules and checks
 * which burn alerts fire. The command is also run against an SLO stored in the real API server.
 */

const run = promisify(execFile);
let dir: string;
let clients: KubeClients;
let namespace: string;

const base = {
  service: 'checkout',
  workload: { kind: 'Deployment', name: 'checkout' },
  target: 99.9,
  window: '30d',
};
const latencyIndicator = {
  type: 'latency',
  latency: { metric: 'http_request_duration_seconds', selector: '{service="checkout"}', threshold: 0.3 },
};

const ruleOf = (spec: Record<string, unknown>, name = 'checkout') => {
  const outcome = validateSlo({ namespace: 'shop', name, generation: 1 }, { ...base, ...spec });
  if (!outcome.ok) throw new Error(`${outcome.problem.field}: ${outcome.problem.message}`);
  return sloPrometheusRule(outcome.slo, { service: 'checkout' });
};

/** The groups of a PrometheusRule, as a rule file Prometheus loads. */
const writeRuleFile = async (file: string, doc: PrometheusRuleDocument) => {
  const path = join(dir, file);
  await writeFile(path, toYaml({ groups: doc.spec.groups }));
  return path;
};

const promtool = async (...args: string[]) => {
  try {
    const { stdout, stderr } = await run(PROMTOOL_BINARY, args, { cwd: dir });
    return { ok: true, output: `${stdout}${stderr}` };
  } catch (error) {
    const e = error as { stdout?: string; stderr?: string };
    return { ok: false, output: `${e.stdout ?? ''}${e.stderr ?? ''}` };
  }
};

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cairn-slo-rules-'));
  clients = kubeClients();
  namespace = await createNamespace(clients, 'slo-rules');
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
  if (namespace) await deleteNamespace(clients, namespace);
});

describe('the PrometheusRule of an SLO, as Prometheus reads it', () => {
  it('passes promtool check rules: latency with the default pairs over 30d, ratio with custom pairs over 4w', async () => {
    const latency = await writeRuleFile('latency.yaml', ruleOf({ indicator: latencyIndicator }));
    const whole = await writeRuleFile(
      'whole.yaml',
      ruleOf({ indicator: { ...latencyIndicator, latency: { ...latencyIndicator.latency, threshold: 1 } } }, 'whole'),
    );
    const ratio = await writeRuleFile(
      'ratio.yaml',
      ruleOf(
        {
          window: '4w',
          target: 99.5,
          indicator: {
            type: 'availability',
            good: 'sum(increase(http_requests_total{code!~"5.."}[$window]))',
            total: 'increase(http_requests_total{job="api"}[$window])',
          },
          alerting: {
            burnRates: [
              { name: 'fast', shortWindow: '15s', longWindow: '90m', factor: 14.4, severity: 'high' },
              { name: 'slow', shortWindow: '6h', longWindow: '72h', factor: 1, severity: 'low' },
            ],
          },
        },
        'ratio',
      ),
    );
    const checked = await promtool('check', 'rules', latency, whole, ratio);
    expect(checked.output).toContain('SUCCESS: 12 rules found');
    expect(checked.output).toContain('SUCCESS: 7 rules found');
    expect(checked.ok).toBe(true);
  });

  it('fires every default pair on a 10% error ratio and none at 0.05%, per promtool test rules', async () => {
    const doc = ruleOf({ indicator: latencyIndicator });
    await writeRuleFile('rules.yaml', doc);
    const alerts = doc.spec.groups[1]!.rules as AlertingRule[];
    const expected = alerts.map((a) => ({
      exp_labels: { ...a.labels, slo: 'checkout', namespace: 'shop' },
      exp_annotations: {
        summary: a.annotations.summary,
        description: a.annotations.description!.replace('{{ $value | humanizePercentage }}', '10%'),
      },
    }));
    const series = (goodPerMinute: number) => [
      {
        series: 'http_request_duration_seconds_bucket{service="checkout",le="0.3"}',
        values: `0+${goodPerMinute}x120`,
      },
      { series: 'http_request_duration_seconds_count{service="checkout"}', values: '0+10000x120' },
      // Another service's slow requests are not this SLO's.
      { series: 'http_request_duration_seconds_bucket{service="search",le="0.3"}', values: '0+0x120' },
      { series: 'http_request_duration_seconds_count{service="search"}', values: '0+10000x120' },
    ];
    await writeFile(
      join(dir, 'tests.yaml'),
      stringify({
        rule_files: ['rules.yaml'],
        evaluation_interval: '1m',
        tests: [
          {
            interval: '1m',
            input_series: series(9_000),
            alert_rule_test: [{ eval_time: '70m', alertname: 'SLOErrorBudgetBurn', exp_alerts: expected }],
            promql_expr_test: [
              {
                expr: 'round(slo:sli_error:ratio_rate1h, 0.001)',
                eval_time: '70m',
                exp_samples: [{ labels: '{slo="checkout",namespace="shop"}', value: 0.1 }],
              },
            ],
          },
          {
            interval: '1m',
            input_series: series(9_995),
            alert_rule_test: [{ eval_time: '70m', alertname: 'SLOErrorBudgetBurn', exp_alerts: [] }],
          },
        ],
      }),
    );
    const tested = await promtool('test', 'rules', 'tests.yaml');
    expect(tested.output).toContain('SUCCESS');
    expect(tested.ok).toBe(true);
  });
});

describe('cairn slo rules against the API server', () => {
  it('reads the SLO from the cluster, by <namespace>/<name> and by -n', async () => {
    await clients.custom.createNamespacedCustomObject({
      group: 'aiops.cairn.dev',
      version: 'v1alpha1',
      namespace,
      plural: 'servicelevelobjectives',
      body: {
        apiVersion: 'aiops.cairn.dev/v1alpha1',
        kind: 'ServiceLevelObjective',
        metadata: { name: 'checkout-latency' },
        spec: { ...base, indicator: latencyIndicator },
      },
    });
    const kubeconfig = inject('kubeconfig');
    let out = '';
    await sloRules({ slo: `${namespace}/checkout-latency`, kubeconfig, write: (t) => (out += t) });
    const doc = parse(out) as PrometheusRuleDocument;
    expect(doc.metadata).toEqual({ name: 'slo-checkout-latency', namespace });
    expect(doc.spec.groups[0]!.rules[0]).toMatchObject({
      record: 'slo:sli_error:ratio_rate5m',
      labels: { slo: 'checkout-latency', namespace },
    });
    let again = '';
    await sloRules({ slo: 'checkout-latency', namespace, kubeconfig, write: (t) => (again += t) });
    expect(again).toBe(out);

    const path = await writeRuleFile('cluster.yaml', doc);
    const checked = await promtool('check', 'rules', path);
    expect(checked.output).toContain('SUCCESS: 12 rules found');

    await expect(sloRules({ slo: `${namespace}/nothing-here`, kubeconfig, write: () => undefined })).rejects.toThrow(
      `ServiceLevelObjective ${namespace}/nothing-here does not exist`,
    );
  });
});
