import { gunzipSync } from 'node:zlib';
import { REDACTED, redactSecrets } from '../../analysis/redaction.ts';
import type { HelmFacts, HelmRevisionFact, ValueChange } from './changeFacts.ts';

/**
 * Helm 3 keeps each revision of a release in a Secret `sh.helm.release.v1.<release>.v<revision>`, labelled
 * owner=helm,name=<release>,version=<revision>,status=<status>; its `release` key holds the release as JSON,
 * gzipped and base64-encoded (inside the Secret's own base64). Everything here works on what was read: no I/O.
 */

/** What a release record keeps that the context uses. */
export interface HelmRelease {
  readonly name?: string;
  readonly version?: number;
  readonly info?: { readonly status?: string; readonly last_deployed?: string; readonly description?: string };
  readonly chart?: {
    readonly metadata?: { readonly name?: string; readonly version?: string; readonly appVersion?: string };
    readonly values?: unknown;
  };
  /** The values the user supplied (on top of the chart's defaults). */
  readonly config?: unknown;
}

/** A release record as read from the API: the Secret's name, labels and its `release` data (the API's base64). */
export interface HelmRecord {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly release?: string;
  readonly created?: string;
}

/** A decoded release is bounded: a chart's templates and values, not an archive. */
const MaxDecodedBytes = 16 * 1024 * 1024;

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

const base64Text = /^[A-Za-z0-9+/\s]*={0,2}\s*$/;

/** Decodes one record's `release` data, or says why it cannot be read. */
export function decodeHelmRelease(apiBase64: string | undefined): { release: HelmRelease } | { error: string } {
  if (apiBase64 === undefined || apiBase64 === '') return { error: 'the Secret has no release data' };
  const helmText = Buffer.from(apiBase64, 'base64').toString('latin1');
  if (!base64Text.test(helmText)) return { error: 'the release data is not base64' };
  let bytes = Buffer.from(helmText, 'base64');
  if (bytes[0] === 0x1f && bytes[1] === 0x8b) {
    try {
      bytes = gunzipSync(bytes, { maxOutputLength: MaxDecodedBytes });
    } catch (error) {
      return { error: `the release data does not gunzip (${error instanceof Error ? error.message : String(error)})` };
    }
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(bytes.toString('utf8'));
  } catch {
    return { error: 'the release data is not JSON' };
  }
  if (!isRecord(parsed)) return { error: 'the release data is not a release object' };
  return { release: parsed as HelmRelease };
}

/** The chart's defaults with the user's values on top, as Helm renders them (maps merge, anything else replaces). */
export const effectiveValues = (release: HelmRelease): unknown => merge(release.chart?.values, release.config);

const merge = (base: unknown, over: unknown): unknown => {
  if (over === undefined) return base;
  if (!isRecord(base) || !isRecord(over)) return over;
  const out: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(over)) {
    // A null in the user's values deletes the chart's default.
    if (value === null) delete out[key];
    else out[key] = merge(base[key], value);
  }
  return out;
};

const MaxDepth = 32;

/** Every leaf of a values tree as `a.b.c` → JSON text; lists are leaves, compared whole. */
const flatten = (value: unknown, prefix: string, out: Map<string, string>, depth = 0) => {
  if (isRecord(value) && depth < MaxDepth) {
    const keys = Object.keys(value);
    if (keys.length === 0 && prefix !== '') out.set(prefix, '{}');
    for (const key of keys) flatten(value[key], prefix === '' ? key : `${prefix}.${key}`, out, depth + 1);
    return;
  }
  if (prefix !== '') out.set(prefix, JSON.stringify(value) ?? 'null');
};

const MaxShownValue = 120;

/**
 * A value as the context may show it: redacted as the line `path: value` would be (so a value under a key named
 * like a credential, at any depth, is hidden), and shortened.
 */
export const shownValue = (path: string, json: string): string => {
  const line = redactSecrets(`${path}: ${json}`);
  const value = line.startsWith(`${path}: `) ? line.slice(path.length + 2) : REDACTED;
  if (value !== json && value.includes(REDACTED)) return REDACTED;
  return value.length > MaxShownValue ? `${value.slice(0, MaxShownValue - 1)}…` : value;
};

/** The values that differ between two revisions, by path. */
export function diffValues(before: unknown, after: unknown): ValueChange[] {
  const a = new Map<string, string>();
  const b = new Map<string, string>();
  flatten(before, '', a);
  flatten(after, '', b);
  const paths = [...new Set([...a.keys(), ...b.keys()])].sort();
  const changes: ValueChange[] = [];
  for (const path of paths) {
    const from = a.get(path);
    const to = b.get(path);
    if (from === to) continue;
    changes.push({
      path,
      ...(from === undefined ? {} : { from: shownValue(path, from) }),
      ...(to === undefined ? {} : { to: shownValue(path, to) }),
    });
  }
  return changes;
}

const GoodStatuses = new Set(['deployed', 'superseded']);

const chartOf = (release: HelmRelease) => {
  const meta = release.chart?.metadata;
  return meta?.name ? `${meta.name}-${meta.version ?? '?'}` : undefined;
};

const versionOf = (record: HelmRecord): number => {
  const fromLabel = Number(record.labels.version);
  if (Number.isInteger(fromLabel) && fromLabel > 0) return fromLabel;
  const fromName = /\.v(\d+)$/.exec(record.name)?.[1];
  return fromName ? Number(fromName) : 0;
};

export interface HelmFactsOptions {
  /** Revisions shown, newest first. Default 10. */
  readonly maxRevisions?: number;
}

/**
 * The release's history from its records, the revision deployed now, the last one before it that Helm deployed
 * without failing, and what changed in the values between those two. A record that does not decode is a line that
 * says so; it never hides the others.
 */
export function helmFacts(
  release: string,
  namespace: string,
  records: readonly HelmRecord[],
  options: HelmFactsOptions = {},
): HelmFacts {
  if (records.length === 0) {
    return {
      release,
      namespace,
      missing: `the workload names Helm release "${release}", but namespace ${namespace} holds no record of it (no Secret labelled owner=helm,name=${release})`,
      revisions: [],
      revisionCount: 0,
    };
  }
  const maxRevisions = options.maxRevisions ?? 10;
  const sorted = [...records]
    .map((record) => ({ record, revision: versionOf(record), status: record.labels.status ?? 'unknown' }))
    .sort((x, y) => y.revision - x.revision);
  const current = sorted.find((r) => r.status === 'deployed') ?? sorted[0];
  const lastGood = current
    ? sorted.find((r) => r.revision < current.revision && GoodStatuses.has(r.status))
    : undefined;
  const decoded = new Map<number, ReturnType<typeof decodeHelmRelease>>();
  const decode = (entry: (typeof sorted)[number]) => {
    let result = decoded.get(entry.revision);
    if (!result) {
      result = decodeHelmRelease(entry.record.release);
      decoded.set(entry.revision, result);
    }
    return result;
  };
  const revisions: HelmRevisionFact[] = sorted.slice(0, maxRevisions).map((entry) => {
    const result = decode(entry);
    if ('error' in result) {
      return {
        revision: entry.revision,
        status: entry.status,
        ...(entry.record.created ? { updated: entry.record.created } : {}),
        undecodable: `${entry.record.name}: ${result.error}`,
      };
    }
    const r = result.release;
    const chart = chartOf(r);
    const appVersion = r.chart?.metadata?.appVersion;
    const updated = r.info?.last_deployed ?? entry.record.created;
    const description = r.info?.description;
    return {
      revision: entry.revision,
      status: r.info?.status ?? entry.status,
      ...(chart ? { chart } : {}),
      ...(appVersion ? { appVersion: String(appVersion) } : {}),
      ...(updated ? { updated } : {}),
      ...(description ? { description: redactSecrets(String(description)) } : {}),
    };
  });
  const base: HelmFacts = {
    release,
    namespace,
    revisions,
    revisionCount: sorted.length,
    ...(current ? { currentRevision: current.revision } : {}),
    ...(lastGood ? { lastGoodRevision: lastGood.revision } : {}),
  };
  if (!current || !lastGood) return base;
  const now = decode(current);
  const before = decode(lastGood);
  const broken = 'error' in before ? lastGood : 'error' in now ? current : undefined;
  if ('error' in now || 'error' in before) {
    return {
      ...base,
      valuesDiffUnavailable: `revision ${broken?.revision} does not decode (${'error' in before ? before.error : 'error' in now ? now.error : ''})`,
    };
  }
  return {
    ...base,
    valuesDiff: diffValues(effectiveValues(before.release), effectiveValues(now.release)),
    chartChanged: chartOf(before.release) !== chartOf(now.release),
  };
}
