import { redactSecrets } from '../../analysis/redaction.ts';
import type { WorkloadRef } from '../../analysis/workloadFacts.ts';
import { boundText, type ContextSection } from '../enricher.ts';
import { CHANGE_ENRICHER, type ChangeFacts, type HelmFacts } from './changeFacts.ts';

export interface ChangeRenderInput {
  readonly workload: WorkloadRef;
  readonly facts: ChangeFacts;
  /** Bound of the text; 4,000 characters by default. */
  readonly maxChars?: number;
  /** Value changes listed before the rest are counted. Default 25. */
  readonly maxValueChanges?: number;
}

const oneLine = (text: string, max = 200) => {
  const line = text.replace(/\s+/g, ' ').trim();
  return line.length > max ? `${line.slice(0, max - 1)}…` : line;
};

const helmLines = (helm: HelmFacts, maxValueChanges: number): string[] => {
  const head = `Helm release ${helm.namespace}/${helm.release}`;
  if (helm.missing) return [`${head}: not found: ${helm.missing}.`];
  const lines = [
    `${head}: ${helm.revisionCount} revision(s), current ${helm.currentRevision ?? 'unknown'}` +
      `${helm.lastGoodRevision === undefined ? ', no earlier good revision' : `, last good before it ${helm.lastGoodRevision}`}.`,
  ];
  for (const r of helm.revisions) {
    if (r.undecodable) {
      lines.push(`- revision ${r.revision} [${r.status}]: record unreadable (${r.undecodable})`);
      continue;
    }
    const parts = [r.chart ?? 'chart unknown', r.appVersion ? `app ${r.appVersion}` : undefined, r.updated]
      .filter(Boolean)
      .join(', ');
    lines.push(
      `- revision ${r.revision} [${r.status}]: ${parts}${r.description ? ` (${oneLine(r.description, 120)})` : ''}`,
    );
  }
  if (helm.revisionCount > helm.revisions.length) {
    lines.push(`- … ${helm.revisionCount - helm.revisions.length} older revision(s) not shown`);
  }
  if (helm.lastGoodRevision !== undefined && helm.currentRevision !== undefined) {
    const span = `revision ${helm.lastGoodRevision} → ${helm.currentRevision}`;
    if (helm.valuesDiffUnavailable) lines.push(`Values ${span}: not compared, ${helm.valuesDiffUnavailable}.`);
    else if (helm.valuesDiff) {
      const changes = helm.valuesDiff;
      lines.push(
        `Values ${span}: ${changes.length === 0 ? 'unchanged' : `${changes.length} change(s)`}${helm.chartChanged ? '; the chart changed too' : ''}.`,
      );
      for (const c of changes.slice(0, maxValueChanges)) {
        lines.push(`- ${c.path}: ${c.from ?? '(unset)'} → ${c.to ?? '(unset)'}`);
      }
      if (changes.length > maxValueChanges) lines.push(`- … ${changes.length - maxValueChanges} more change(s)`);
    }
  }
  return lines;
};

/**
 * The change section: who deploys the workload and what changed recently, as a person reads it. The workload's
 * own rollout history (revisions and their template changes) is in the Kubernetes context and is not repeated.
 */
export function renderChangeSection(input: ChangeRenderInput): ContextSection {
  const { workload, facts } = input;
  const maxValueChanges = input.maxValueChanges ?? 25;
  const lines = [`Change context of ${workload.kind} ${workload.namespace}/${workload.name}:`];
  if (facts.helm) lines.push(...helmLines(facts.helm, maxValueChanges));
  else lines.push('Helm: not managed by a Helm release (no meta.helm.sh/release-name annotation).');
  const argo = facts.argo;
  if (argo) {
    const op = argo.operation;
    lines.push(
      `Argo CD Application ${argo.namespace}/${argo.name} (${argo.matchedBy}): sync ${argo.syncStatus ?? 'unknown'}, ` +
        `health ${argo.health ?? 'unknown'}${argo.revision ? `, revision ${argo.revision}` : ''}, ${argo.resourceCount} resource(s).`,
    );
    if (op) {
      lines.push(
        `- last operation: ${op.phase ?? 'unknown'}${op.revision ? ` at ${op.revision}` : ''}${op.finishedAt ? `, finished ${op.finishedAt}` : ''}${op.message ? `: ${oneLine(op.message)}` : ''}`,
      );
    }
    for (const r of argo.troubledResources) lines.push(`- ${r}`);
    if (argo.troubledCount > argo.troubledResources.length) {
      lines.push(`- … ${argo.troubledCount - argo.troubledResources.length} more out-of-sync or unhealthy resource(s)`);
    }
  }
  for (const flux of facts.flux ?? []) {
    const head = `Flux ${flux.kind} ${flux.namespace}/${flux.name}`;
    if (flux.missing) {
      lines.push(`${head}: not found: ${flux.missing}.`);
      continue;
    }
    const ready = flux.ready
      ? `Ready ${flux.ready.status}${flux.ready.reason ? ` (${flux.ready.reason})` : ''}${flux.ready.message ? `: ${oneLine(flux.ready.message)}` : ''}`
      : 'no Ready condition';
    const attempted =
      flux.lastAttemptedRevision && flux.lastAttemptedRevision !== flux.lastAppliedRevision
        ? `, last attempted ${flux.lastAttemptedRevision}`
        : '';
    lines.push(
      `${head}: last applied ${flux.lastAppliedRevision ?? 'none'}${attempted}, ${ready}${flux.suspended ? ', suspended' : ''}.`,
    );
  }
  if (!argo && (facts.flux ?? []).length === 0) lines.push('GitOps: no Argo CD Application or Flux object deploys it.');
  for (const reason of facts.unreadable) lines.push(`Not read: ${reason}.`);
  lines.push('Rollout history: see the Kubernetes context (revisions and what each changed in the pod template).');
  return {
    enricher: CHANGE_ENRICHER,
    title: 'Recent changes',
    text: boundText(redactSecrets(lines.join('\n')), input.maxChars ?? 4_000),
    facts: facts as unknown as Readonly<Record<string, unknown>>,
  };
}
