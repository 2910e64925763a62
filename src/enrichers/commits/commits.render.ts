import { redactSecrets } from '../../analysis/redaction.ts';
import type { WorkloadRef } from '../../analysis/workloadFacts.ts';
import { boundText, type ContextSection } from '../enricher.ts';
import { COMMITS_ENRICHER, type CommitsFacts } from './commitsFacts.ts';

export interface CommitsRenderInput {
  readonly workload: WorkloadRef;
  readonly facts: CommitsFacts;
  /** `git show --stat` of each suspect, by sha. */
  readonly stats?: Readonly<Record<string, string>>;
  /** The top suspect's patch, limited to the files in scope; redacted and bounded here. */
  readonly topDiff?: string;
  /** Bound of the diff excerpt. Default 1,500 characters. */
  readonly maxDiffChars?: number;
  /** Bound of the text. Default 5,000 characters. */
  readonly maxChars?: number;
}

const oneLine = (text: string, max = 160) => {
  const line = text.replace(/\s+/g, ' ').trim();
  return line.length > max ? `${line.slice(0, max - 1)}…` : line;
};

const indent = (text: string, prefix = '    ') =>
  text
    .split('\n')
    .map((l) => `${prefix}${l}`)
    .join('\n');

/**
 * The commits section: which repositories build the workload, the revision range looked at, and the suspected
 * commits with why, their diff stat, and an excerpt of the top one's diff. Everything is redacted (a password
 * committed to a values file stays out) and bounded.
 */
export function renderCommitsSection(input: CommitsRenderInput): ContextSection {
  const { workload, facts } = input;
  const lines = [`Source commits of ${workload.kind} ${workload.namespace}/${workload.name}:`];
  if (facts.repositories.length === 0) lines.push('No SourceRepository maps this workload.');
  for (const r of facts.repositories) {
    lines.push(
      `Repository ${r.repository} (${r.matchedBy.join('; ')})${r.paths.length > 0 ? `, paths ${r.paths.join(', ')}` : ', the whole repository'}:`,
    );
    if (r.unreadable) {
      lines.push(`- not read: ${r.unreadable}`);
      continue;
    }
    const failing = r.failing ? `${r.failing.commit.slice(0, 12)} (from ${r.failing.from})` : 'not resolved';
    const healthy = r.healthy
      ? `${r.healthy.commit.slice(0, 12)} (from ${r.healthy.from}${r.healthy.proven ? ', proven healthy' : ', not proven healthy'})`
      : 'not resolved';
    lines.push(`- failing revision ${failing}; last healthy ${healthy}; ${r.commitsExamined ?? 0} commit(s) examined.`);
  }
  if (facts.traceFiles.length > 0) {
    lines.push(`Files in the incident's stack traces: ${facts.traceFiles.slice(0, 10).join(', ')}.`);
  }
  if (facts.suspectedCommits.length === 0 && facts.repositories.some((r) => !r.unreadable)) {
    lines.push('No commit in range touches the workload, its chart or a file of its stack traces.');
  }
  facts.suspectedCommits.forEach((c, i) => {
    lines.push(
      `${i + 1}. ${c.sha.slice(0, 12)} ${c.repository} by ${c.author ?? 'unknown'}${c.at ? ` at ${c.at}` : ''}, confidence ${c.confidence}: ${oneLine(c.message ?? '')}`,
    );
    for (const reason of c.reasons) lines.push(`   - ${reason}`);
    const stat = input.stats?.[c.sha];
    if (stat) lines.push(indent(boundText(stat, 600)));
  });
  const top = facts.suspectedCommits[0];
  if (top && input.topDiff) {
    lines.push(`Diff of ${top.sha.slice(0, 12)} (excerpt):`);
    lines.push(indent(boundText(redactSecrets(input.topDiff), input.maxDiffChars ?? 1_500)));
  }
  for (const reason of facts.unreadable) lines.push(`Not read: ${reason}.`);
  return {
    enricher: COMMITS_ENRICHER,
    title: 'Suspected commits',
    text: boundText(redactSecrets(lines.join('\n')), input.maxChars ?? 5_000),
    facts: facts as unknown as Readonly<Record<string, unknown>>,
  };
}
