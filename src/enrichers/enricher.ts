import { redactDeep, redactSecrets } from '../analysis/redaction.ts';
import type { WorkloadRef } from '../analysis/workloadFacts.ts';

/**
 * What an enricher adds to an analysis beyond the workload's own objects: its logs, its metrics, and later its
 * GitOps state, recent commits, cascade and blast radius. Each enricher owns one section, bounded in size, and a
 * source it cannot read is a section that says so: the analysis goes on with what it has.
 */
export interface ContextSection {
  /** The enricher's name (`logs`, `metrics`); one section per enricher. */
  readonly enricher: string;
  readonly title: string;
  /** For a model to read: redacted and at most the enricher's bound. */
  readonly text: string;
  /** Findings for code to read (the rules provider), from the same data as the text. */
  readonly facts?: Readonly<Record<string, unknown>>;
  /** Why the source could not be read (no kubelet serving logs, Prometheus unreachable); absent when it was. */
  readonly unavailable?: string;
}

export interface EnrichmentTarget {
  readonly issueId: string;
  readonly workload: WorkloadRef;
  readonly signal: string;
  readonly signals: readonly string[];
  /** When the Issue was detected (ISO time): logs and metrics are read in a window before it. */
  readonly detectedAt: string;
}

export interface ContextEnricher {
  readonly name: string;
  /** Rejects only on a bug; an unreadable source is a section with `unavailable` set. */
  enrich(target: EnrichmentTarget, options: { readonly signal: AbortSignal }): Promise<ContextSection>;
}

export interface EnrichOptions {
  /** Per enricher; a slow source must not hold the analysis. Default 10 s. */
  readonly timeoutMs?: number;
  /** Bound of each section's text. Default 6,000 characters. */
  readonly maxChars?: number;
}

const unavailable = (enricher: string, reason: string): ContextSection => ({
  enricher,
  title: enricher,
  text: `${enricher}: not available (${reason})`,
  unavailable: reason,
});

/** Cuts at a line boundary where one is near, and says that it cut. */
export const boundText = (text: string, maxChars: number): string => {
  if (text.length <= maxChars) return text;
  const marker = '\n… (truncated)';
  const room = Math.max(0, maxChars - marker.length);
  const cut = text.lastIndexOf('\n', room);
  return `${text.slice(0, cut > room * 0.8 ? cut : room)}${marker}`;
};

/**
 * Runs every enricher at once, each under its own deadline, and returns their sections in the enrichers' order,
 * redacted and bounded whatever the enricher returned. A failure or a timeout becomes a section that says so.
 */
export async function runEnrichers(
  enrichers: readonly ContextEnricher[],
  target: EnrichmentTarget,
  options: EnrichOptions = {},
): Promise<ContextSection[]> {
  const timeoutMs = options.timeoutMs ?? 10_000;
  const maxChars = options.maxChars ?? 6_000;
  return Promise.all(
    enrichers.map(async (enricher): Promise<ContextSection> => {
      const controller = new AbortController();
      let timer: NodeJS.Timeout | undefined;
      const deadline = new Promise<ContextSection>((resolve) => {
        timer = setTimeout(() => {
          controller.abort();
          resolve(unavailable(enricher.name, `no answer within ${timeoutMs} ms`));
        }, timeoutMs);
      });
      try {
        const section = await Promise.race([enricher.enrich(target, { signal: controller.signal }), deadline]);
        // Every field may leave the process (a prompt, the AI server over gRPC, an AIInsight), facts included:
        // a log enricher's findings quote log lines.
        return {
          enricher: section.enricher,
          title: redactSecrets(section.title),
          text: boundText(redactSecrets(section.text), maxChars),
          ...(section.facts === undefined ? {} : { facts: redactDeep(section.facts) }),
          ...(section.unavailable === undefined ? {} : { unavailable: redactSecrets(section.unavailable) }),
        };
      } catch (error) {
        return unavailable(enricher.name, redactSecrets(error instanceof Error ? error.message : String(error)));
      } finally {
        clearTimeout(timer);
      }
    }),
  );
}
