import { stringify } from 'yaml';
import { formatWindow, windowsOf } from '../../domain/slo/burnRate.ts';
import { type EvaluatedSlo, queryFor } from './slo.validation.ts';

/*
 * The Prometheus side of an SLO, for teams that want Prometheus (and Alertmanager) to page as well as, or instead of,
 * Cairn: one recording rule of the error ratio per window the SLO reads, and one alerting rule per burn-rate pair in
 * the SRE workbook's form (both windows above factor × the error budget). Pure: an evaluated SLO in, a document out.
 */

export const PROMETHEUS_RULE_API_VERSION = 'monitoring.coreos.com/v1';

export interface RecordingRule {
  readonly record: string;
  readonly expr: string;
  readonly labels: Readonly<Record<string, string>>;
}

export interface AlertingRule {
  readonly alert: string;
  readonly expr: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly annotations: Readonly<Record<string, string>>;
}

export interface RuleGroup {
  readonly name: string;
  readonly rules: readonly (RecordingRule | AlertingRule)[];
}

export interface PrometheusRuleDocument {
  readonly apiVersion: typeof PROMETHEUS_RULE_API_VERSION;
  readonly kind: 'PrometheusRule';
  readonly metadata: {
    readonly name: string;
    readonly namespace: string;
    readonly labels?: Readonly<Record<string, string>>;
  };
  readonly spec: { readonly groups: readonly RuleGroup[] };
}

export interface SloRulesOptions {
  /** The service the SLO is about (its spec.service), for the annotations. */
  readonly service: string;
  /** Labels of the PrometheusRule object, e.g. the one a Prometheus Operator's ruleSelector picks. */
  readonly labels?: Readonly<Record<string, string>>;
}

/** The alert name every pair shares; the pair is told apart by its `slo_alert` label. */
export const BURN_ALERT_NAME = 'SLOErrorBudgetBurn';

/** `slo:sli_error:ratio_rate5m`: the error ratio (1 − SLI) over one window. */
export const errorRatioRecord = (seconds: number): string => `slo:sli_error:ratio_rate${formatWindow(seconds)}`;

/** 12 significant digits: 1 − 99.9 % is 0.001, not 0.0009999999999999432. */
const tidy = (n: number): number => Number(n.toPrecision(12));

/** Whether expr is one `sum(...)` whose parenthesis closes at its very end (strings skipped). */
function isOneSum(expr: string): boolean {
  const text = expr.trim();
  if (!/^sum\s*\(/.test(text)) return false;
  let depth = 0;
  let quote: string | undefined;
  for (let i = text.indexOf('('); i < text.length; i++) {
    const c = text[i]!;
    if (quote !== undefined) {
      if (c === '\\' && quote !== '`') i++;
      else if (c === quote) quote = undefined;
      continue;
    }
    if (c === '"' || c === "'" || c === '`') quote = c;
    else if (c === '(') depth++;
    else if (c === ')') {
      depth--;
      if (depth === 0) return i === text.length - 1;
    }
  }
  return false;
}

/** One number, as Cairn's evaluator reads it: several series summed. */
const summed = (expr: string): string => (isOneSum(expr) ? expr.trim() : `sum(${expr.trim()})`);

/** A duration for people: `50h`, `2.5d`, `30m`. */
function humanDuration(seconds: number): string {
  if (seconds >= 3 * 86_400) return `${tidy(Math.round((seconds / 86_400) * 10) / 10)}d`;
  if (seconds >= 3_600) return `${tidy(Math.round((seconds / 3_600) * 10) / 10)}h`;
  return `${tidy(Math.round((seconds / 60) * 10) / 10)}m`;
}

const percent = (ratio: number): string => `${tidy(ratio * 100)}%`;

/** The PrometheusRule of an SLO: recordings for every window it reads, an alert per burn-rate pair. */
export function sloPrometheusRule(slo: EvaluatedSlo, options: SloRulesOptions): PrometheusRuleDocument {
  const id = { slo: slo.name, namespace: slo.namespace };
  const matchers = `{slo=${JSON.stringify(slo.name)},namespace=${JSON.stringify(slo.namespace)}}`;
  const windows = [...new Set([...windowsOf(slo.rules), slo.windowSeconds])].sort((a, b) => a - b);
  const budget = tidy(1 - slo.target / 100);
  const target = tidy(slo.target);
  const sloWindow = formatWindow(slo.windowSeconds);

  const recordings: RecordingRule[] = windows.map((seconds) => {
    const range = formatWindow(seconds);
    return {
      record: errorRatioRecord(seconds),
      expr: `1 - (${summed(queryFor(slo.good, range))} / ${summed(queryFor(slo.total, range))})`,
      labels: { ...id },
    };
  });

  const alerts: AlertingRule[] = slo.rules.map((rule) => {
    const threshold = `(${tidy(rule.factor)} * ${budget})`;
    const long = formatWindow(rule.longWindow);
    const short = formatWindow(rule.shortWindow);
    return {
      alert: BURN_ALERT_NAME,
      expr: [
        `${errorRatioRecord(rule.longWindow)}${matchers} > ${threshold}`,
        'and',
        `${errorRatioRecord(rule.shortWindow)}${matchers} > ${threshold}`,
      ].join('\n'),
      labels: { severity: rule.severity, urgency: rule.urgency, slo_alert: rule.name },
      annotations: {
        summary: `SLO ${slo.namespace}/${slo.name} (${options.service}, ${target}% over ${sloWindow}) burns its error budget more than ${tidy(rule.factor)}x too fast`,
        description: `The error ratio of ${options.service} is above ${tidy(rule.factor)} × ${percent(budget)} = ${percent(tidy(rule.factor * budget))} over both ${long} and ${short} (${rule.name}, ${rule.urgency}); at that rate the ${sloWindow} error budget lasts ${humanDuration(slo.windowSeconds / rule.factor)}. Over ${long} it is {{ $value | humanizePercentage }}.`,
      },
    };
  });

  const groupName = `slo-${slo.namespace}-${slo.name}`;
  return {
    apiVersion: PROMETHEUS_RULE_API_VERSION,
    kind: 'PrometheusRule',
    metadata: {
      name: `slo-${slo.name}`,
      namespace: slo.namespace,
      ...(options.labels && Object.keys(options.labels).length > 0 ? { labels: { ...options.labels } } : {}),
    },
    spec: {
      groups: [
        { name: `${groupName}-error-ratios`, rules: recordings },
        { name: `${groupName}-burn-rates`, rules: alerts },
      ],
    },
  };
}

/** YAML as `kubectl apply -f -` and `promtool check rules` read it; long PromQL stays on one line. */
export const toYaml = (document: unknown): string =>
  stringify(document, { lineWidth: 0, aliasDuplicateObjects: false });
