import { Value } from '@sinclair/typebox/value';
import type { ResourceRef, Severity } from '../../domain/events/common.schema.ts';
import { type BurnRateRule, DefaultBurnRateRules, parseWindow, type Urgency } from '../../domain/slo/burnRate.ts';
import {
  type ServiceLevelObjectiveSpec,
  ServiceLevelObjectiveSpecSchema,
} from '../adapters/kubernetes/api/serviceLevelObjective.kind.ts';

/** Why a ServiceLevelObjective cannot be evaluated: the first field at fault, as `kubectl explain` names it. */
export interface SloProblem {
  readonly field: string;
  readonly message: string;
}

export interface SloRule extends BurnRateRule {
  readonly severity: Severity;
}

/** What the evaluator works from: one valid generation of a ServiceLevelObjective. */
export interface EvaluatedSlo {
  readonly namespace: string;
  readonly name: string;
  readonly generation: number;
  readonly good: string;
  readonly total: string;
  /** The histogram good and total were derived from, when the indicator is a latency threshold. */
  readonly latency?: LatencySli;
  /** Percent, strictly between 0 and 100. */
  readonly target: number;
  /** The SLO window, seconds. */
  readonly windowSeconds: number;
  readonly rules: readonly SloRule[];
  readonly workload: ResourceRef;
  readonly enabled: boolean;
}

export const WINDOW_PLACEHOLDER = '$window';

/** A latency indicator, checked: the histogram, its matchers and the threshold, and how `le` may be spelled. */
export interface LatencySli {
  readonly metric: string;
  /** The matchers between the braces of the selector, as written; empty for all series of the histogram. */
  readonly matchers: readonly string[];
  readonly threshold: number;
  /** Every spelling of the threshold an exporter may have written in `le` (see leSpellings). */
  readonly le: readonly string[];
}

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*/;

/**
 * The threshold as Go's strconv.FormatFloat(x, 'g', -1, 64) writes it, which is what client_golang puts in `le`:
 * shortest digits, with an exponent from 1e+06 up and below 1e-04 (prometheus_client for Python follows it there).
 */
export function goFloat(x: number): string {
  if (!Number.isFinite(x)) return x > 0 ? '+Inf' : x < 0 ? '-Inf' : 'NaN';
  if (x === 0) return '0';
  const [mantissa, exponentText] = x.toExponential().split('e') as [string, string];
  const exponent = Number(exponentText);
  if (exponent >= -4 && exponent < 6) return String(x);
  return `${mantissa}e${exponent < 0 ? '-' : '+'}${String(Math.abs(exponent)).padStart(2, '0')}`;
}

/**
 * The ways a bucket bound is spelled in `le`: client_golang and prom-client write 1 as `1`; Python's and Java's
 * clients, OpenMetrics and Prometheus 3 (which normalises `le` when it ingests) as `1.0`; large and small bounds
 * differ again (`1e+06`, `1000000`). Cairn matches every one, so an SLO keeps working whoever exports the histogram.
 */
export function leSpellings(threshold: number): string[] {
  const js = String(threshold);
  const spellings = [goFloat(threshold), js];
  if (Number.isInteger(threshold) && !js.includes('e')) spellings.push(`${js}.0`);
  return [...new Set(spellings)];
}

const escapeRegex = (text: string) => text.replace(/[.+*?^$()[\]{}|\\]/g, '\\$&');
/** A PromQL double-quoted string: backslashes and quotes escaped. */
const promqlString = (text: string) => `"${text.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;

/** The `le` matcher of a threshold: exact when there is one spelling, a regex listing them otherwise. */
export function leMatcher(spellings: readonly string[]): string {
  if (spellings.length === 1) return `le=${promqlString(spellings[0]!)}`;
  return `le=~${promqlString(spellings.map(escapeRegex).join('|'))}`;
}

/** A histogram series selector: the metric with its suffix, the user's matchers and any extra ones. */
export function histogramSelector(metric: string, matchers: readonly string[], extra: readonly string[] = []): string {
  const all = [...matchers, ...extra];
  return all.length === 0 ? metric : `${metric}{${all.join(',')}}`;
}

/** The good and total counts of a latency SLI, in the same `$window` form a user writes by hand. */
export function latencyQueries(latency: LatencySli): { good: string; total: string } {
  return {
    good: `sum(increase(${histogramSelector(`${latency.metric}_bucket`, latency.matchers, [leMatcher(latency.le)])}[${WINDOW_PLACEHOLDER}]))`,
    total: `sum(increase(${histogramSelector(`${latency.metric}_count`, latency.matchers)}[${WINDOW_PLACEHOLDER}]))`,
  };
}

/**
 * Splits `{a="b", c=~"d|e"}` into its matchers, or says what is wrong. A small reader of PromQL's matcher syntax
 * (names, the four operators, "", '' and `` strings), so a bad selector is refused naming its field rather than
 * reaching Prometheus inside a query the user never wrote.
 */
export function parseSelector(selector: string): { ok: true; matchers: string[] } | { ok: false; message: string } {
  const text = selector.trim();
  if (!text.startsWith('{') || !text.endsWith('}')) {
    return {
      ok: false,
      message: `${JSON.stringify(selector)} is not label matchers in braces, e.g. {service="checkout"}`,
    };
  }
  const body = text.slice(1, -1);
  const matchers: string[] = [];
  let i = 0;
  const skipSpace = () => {
    while (i < body.length && /\s/.test(body[i]!)) i++;
  };
  for (;;) {
    skipSpace();
    if (i >= body.length) break;
    const start = i;
    const name = LABEL_NAME.exec(body.slice(i))?.[0];
    if (name === undefined)
      return { ok: false, message: `expected a label name at ${JSON.stringify(body.slice(i, i + 20))}` };
    if (name === 'le') return { ok: false, message: 'must not match le: threshold chooses the bucket' };
    if (name === '__name__') return { ok: false, message: 'must not match __name__: metric names the histogram' };
    i += name.length;
    skipSpace();
    const operator = ['=~', '!~', '!=', '='].find((op) => body.startsWith(op, i));
    if (operator === undefined) {
      return { ok: false, message: `expected =, !=, =~ or !~ after ${name}` };
    }
    i += operator.length;
    skipSpace();
    const quote = body[i];
    if (quote !== '"' && quote !== "'" && quote !== '`') {
      return { ok: false, message: `the value of ${name} must be a quoted string` };
    }
    i++;
    let closed = false;
    while (i < body.length) {
      const c = body[i]!;
      if (c === '\\' && quote !== '`') {
        i += 2;
        continue;
      }
      i++;
      if (c === quote) {
        closed = true;
        break;
      }
      if (c === '\n') break;
    }
    if (!closed) return { ok: false, message: `the value of ${name} is not a closed string` };
    matchers.push(body.slice(start, i).trim());
    skipSpace();
    if (i >= body.length) break;
    if (body[i] !== ',')
      return { ok: false, message: `expected , between matchers at ${JSON.stringify(body.slice(i, i + 20))}` };
    i++;
  }
  return { ok: true, matchers };
}

/** What is wrong with the latency form, the field named, before the schema's generic messages. */
function latencyProblem(latency: Record<string, unknown>): SloProblem | { sli: LatencySli } {
  const field = 'spec.indicator.latency';
  const { metric, selector, threshold } = latency;
  if (typeof metric !== 'string' || !METRIC_NAME.test(metric)) {
    return {
      field: `${field}.metric`,
      message: `${JSON.stringify(metric ?? null)} is not a Prometheus metric name (letters, digits, _ and :, not starting with a digit), e.g. http_request_duration_seconds`,
    };
  }
  const suffix = /_(bucket|count|sum)$/.exec(metric)?.[0];
  if (suffix !== undefined) {
    return {
      field: `${field}.metric`,
      message: `name the histogram without its ${suffix} suffix: ${metric.slice(0, -suffix.length)}`,
    };
  }
  let matchers: string[] = [];
  if (selector !== undefined) {
    if (typeof selector !== 'string') {
      return { field: `${field}.selector`, message: 'must be label matchers in braces, e.g. {service="checkout"}' };
    }
    const parsed = parseSelector(selector);
    if (!parsed.ok) return { field: `${field}.selector`, message: parsed.message };
    matchers = parsed.matchers;
  }
  if (typeof threshold !== 'number' || !Number.isFinite(threshold) || threshold <= 0) {
    return {
      field: `${field}.threshold`,
      message: `must be a number above 0, one of the histogram's bucket bounds (e.g. 0.3), not ${JSON.stringify(threshold ?? null)}`,
    };
  }
  return { sli: { metric, matchers, threshold, le: leSpellings(threshold) } };
}

/** Page for critical and high alerts, ticket for the rest. */
export const urgencyOf = (severity: Severity): Urgency =>
  severity === 'critical' || severity === 'high' ? 'page' : 'ticket';

const DEFAULT_SEVERITY: Record<Urgency, Severity> = { page: 'critical', ticket: 'medium' };

/**
 * Checks what the API server's schema cannot (or what an older installed CRD let through) and turns the spec into
 * what the evaluator queries. Whether Prometheus can parse the PromQL is checked against Prometheus itself.
 */
export function validateSlo(
  meta: { readonly namespace: string; readonly name: string; readonly generation: number },
  spec: unknown,
): { ok: true; slo: EvaluatedSlo } | { ok: false; problem: SloProblem } {
  const fail = (field: string, message: string) => ({ ok: false as const, problem: { field, message } });
  if (spec !== null && typeof spec === 'object') {
    const target = (spec as { target?: unknown }).target;
    if (target === 100) return fail('spec.target', 'a target of 100% leaves no error budget to burn; use e.g. 99.9');
  }
  const indicator = (spec as { indicator?: unknown } | null)?.indicator as Record<string, unknown> | undefined;
  const rawLatency = indicator !== null && typeof indicator === 'object' ? indicator.latency : undefined;
  if (rawLatency !== null && typeof rawLatency === 'object' && !Array.isArray(rawLatency)) {
    const checked = latencyProblem(rawLatency as Record<string, unknown>);
    if (!('sli' in checked)) return { ok: false, problem: checked };
  }
  if (!Value.Check(ServiceLevelObjectiveSpecSchema, spec)) {
    const first = Value.Errors(ServiceLevelObjectiveSpecSchema, spec).First();
    const path = (first?.path ?? '').split('/').filter(Boolean);
    const field = `spec${path.map((p) => (/^\d+$/.test(p) ? `[${p}]` : `.${p}`)).join('')}`;
    return fail(field, first?.message ?? 'is invalid');
  }
  const s = spec as ServiceLevelObjectiveSpec;
  let latency: LatencySli | undefined;
  let queries: { good: string; total: string };
  if (s.indicator.latency !== undefined) {
    if (s.indicator.good !== undefined || s.indicator.total !== undefined) {
      return fail('spec.indicator.latency', 'latency replaces good and total: give one form, not both');
    }
    if (s.indicator.type !== 'latency') {
      return fail('spec.indicator.type', `an indicator with latency is of type latency, not ${s.indicator.type}`);
    }
    const checked = latencyProblem(s.indicator.latency as unknown as Record<string, unknown>);
    if (!('sli' in checked)) return { ok: false, problem: checked };
    latency = checked.sli;
    queries = latencyQueries(latency);
  } else {
    for (const key of ['good', 'total'] as const) {
      if (s.indicator[key] === undefined) {
        return fail(
          `spec.indicator.${key}`,
          'is required: give good and total (PromQL), or latency (a histogram threshold) instead of both',
        );
      }
      if (!s.indicator[key].includes(WINDOW_PLACEHOLDER)) {
        return fail(
          `spec.indicator.${key}`,
          `must use ${WINDOW_PLACEHOLDER} as its range, e.g. [${WINDOW_PLACEHOLDER}]`,
        );
      }
    }
    queries = { good: s.indicator.good!, total: s.indicator.total! };
  }
  if (s.workload === undefined) {
    return fail('spec.workload', 'names the workload a burn alert is recorded on, e.g. {kind: Deployment, name: web}');
  }
  const windowSeconds = parseWindow(s.window ?? '30d');
  if (windowSeconds === undefined) return fail('spec.window', `${s.window} is not a window such as 30d`);
  const rules: SloRule[] = [];
  if (s.alerting?.burnRates === undefined) {
    for (const r of DefaultBurnRateRules) rules.push({ ...r, severity: DEFAULT_SEVERITY[r.urgency] });
  } else {
    for (const [i, r] of s.alerting.burnRates.entries()) {
      const shortWindow = parseWindow(r.shortWindow);
      const longWindow = parseWindow(r.longWindow);
      if (shortWindow === undefined || !Number.isInteger(shortWindow)) {
        return fail(
          `spec.alerting.burnRates[${i}].shortWindow`,
          `${r.shortWindow}: use whole seconds, minutes or hours`,
        );
      }
      if (longWindow === undefined) {
        return fail(`spec.alerting.burnRates[${i}].longWindow`, `${r.longWindow}: use whole seconds, minutes or hours`);
      }
      if (shortWindow >= longWindow) {
        return fail(`spec.alerting.burnRates[${i}].shortWindow`, 'must be shorter than longWindow');
      }
      rules.push({
        name: r.name,
        shortWindow,
        longWindow,
        factor: r.factor,
        urgency: urgencyOf(r.severity),
        severity: r.severity,
      });
    }
  }
  return {
    ok: true,
    slo: {
      namespace: meta.namespace,
      name: meta.name,
      generation: meta.generation,
      good: queries.good,
      total: queries.total,
      ...(latency ? { latency } : {}),
      target: s.target,
      windowSeconds,
      rules,
      workload: {
        kind: s.workload.kind,
        name: s.workload.name,
        namespace: s.workload.namespace ?? meta.namespace,
      },
      enabled: s.enabled !== false,
    },
  };
}

/** The PromQL of one window: every `$window` replaced by the range. */
export const queryFor = (expr: string, range: string): string => expr.split(WINDOW_PLACEHOLDER).join(range);
