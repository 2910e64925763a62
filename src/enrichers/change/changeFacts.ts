import type { ContextSection } from '../enricher.ts';

/** The change enricher's section name. */
export const CHANGE_ENRICHER = 'change';

export interface HelmRevisionFact {
  readonly revision: number;
  /** deployed, superseded, failed, pending-upgrade, … as Helm recorded it. */
  readonly status: string;
  /** `<chart>-<version>`, absent when the record could not be decoded. */
  readonly chart?: string;
  readonly appVersion?: string;
  /** When Helm last deployed this revision (ISO time). */
  readonly updated?: string;
  readonly description?: string;
  /** Why the record could not be read; the other revisions are still shown. */
  readonly undecodable?: string;
}

/** One value that differs between two revisions; `from`/`to` are JSON, already redacted, absent when unset. */
export interface ValueChange {
  readonly path: string;
  readonly from?: string;
  readonly to?: string;
}

export interface HelmFacts {
  readonly release: string;
  readonly namespace: string;
  /** Set when the workload names a release Cairn cannot find; nothing else is then known. */
  readonly missing?: string;
  /** Newest first, at most the enricher's bound. */
  readonly revisions: readonly HelmRevisionFact[];
  /** How many revisions Helm keeps, shown or not. */
  readonly revisionCount: number;
  readonly currentRevision?: number;
  /** The newest revision before the current one that Helm deployed and did not mark failed. */
  readonly lastGoodRevision?: number;
  /** Values of the last good revision against the current one (chart defaults merged with the user's values). */
  readonly valuesDiff?: readonly ValueChange[];
  /** The chart itself changed between the two (name or version). */
  readonly chartChanged?: boolean;
  /** Why no diff could be made (a record did not decode). */
  readonly valuesDiffUnavailable?: string;
}

export interface ArgoFacts {
  readonly name: string;
  readonly namespace: string;
  /** How the Application was tied to the workload. */
  readonly matchedBy: string;
  readonly syncStatus?: string;
  readonly health?: string;
  readonly revision?: string;
  readonly operation?: {
    readonly phase?: string;
    readonly message?: string;
    readonly finishedAt?: string;
    readonly revision?: string;
  };
  readonly resourceCount: number;
  /** The Application's resources that are out of sync or unhealthy, bounded. */
  readonly troubledResources: readonly string[];
  readonly troubledCount: number;
}

export interface FluxFacts {
  readonly kind: 'Kustomization' | 'HelmRelease';
  readonly name: string;
  readonly namespace: string;
  /** Set when the labels name an object Cairn cannot read. */
  readonly missing?: string;
  readonly lastAppliedRevision?: string;
  readonly lastAttemptedRevision?: string;
  readonly ready?: { readonly status: string; readonly reason?: string; readonly message?: string };
  readonly suspended?: boolean;
}

/** What the change section found, for code (the rules provider) to read. */
export interface ChangeFacts {
  readonly helm?: HelmFacts;
  readonly argo?: ArgoFacts;
  readonly flux?: readonly FluxFacts[];
  /** Sources that could not be read, each with why. */
  readonly unreadable: readonly string[];
}

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** The change facts among an analysis' sections, if the change enricher ran. */
export function changeFactsOf(sections: readonly ContextSection[] | undefined): ChangeFacts | undefined {
  const section = sections?.find((s) => s.enricher === CHANGE_ENRICHER && s.unavailable === undefined);
  const facts = section?.facts;
  if (!isRecord(facts) || !Array.isArray(facts.unreadable)) return undefined;
  return facts as unknown as ChangeFacts;
}
