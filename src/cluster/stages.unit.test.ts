import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { FaultMarks, localClusterStages } from './stages.ts';

// KWOK picks at random among the stages that match an object, so the local cluster is only deterministic if no
// two pod stages ever match the same pod. The selectors are jq, so they are evaluated here by the real jq.
const JQ = process.env.CAIRN_JQ ?? 'jq';

/** Stops the test with what to install when there is no jq, instead of a spawn error. */
function requireJq(): void {
  try {
    execFileSync(JQ, ['--version'], { encoding: 'utf8' });
  } catch {
    throw new Error(`no jq at ${JQ}: \`apt-get install -y jq\` (Debian) or set CAIRN_JQ`);
  }
}

type Pod = Record<string, unknown>;

const containerStates: Record<string, unknown> = {
  none: undefined,
  creating: { waiting: { reason: 'ContainerCreating' } },
  pullError: { waiting: { reason: 'ErrImagePull' } },
  pullBackOff: { waiting: { reason: 'ImagePullBackOff' } },
  crashBackOff: { waiting: { reason: 'CrashLoopBackOff' } },
  configError: { waiting: { reason: 'CreateContainerConfigError', message: 'configmap "app-config" not found' } },
  running: { running: { startedAt: '2026-01-01T00:00:00Z' } },
  terminated: { terminated: { exitCode: 1 } },
};

/** Every reachable combination of the things the pod stages look at. */
function podMatrix(): { label: string; pod: Pod }[] {
  const pods: { label: string; pod: Pod }[] = [];
  const images = {
    good: 'shop/web:1.0',
    crashes: `shop/web:1.0-${FaultMarks.crashImage}`,
    missing: 'shop/web:1.0-nonexistent',
  };
  for (const [imageName, image] of Object.entries(images))
    for (const oom of [false, true])
      for (const missingConfig of [false, true])
        for (const wedged of [false, true])
          for (const job of [false, true])
            for (const phase of ['Pending', 'Running', 'Succeeded', 'Failed'])
              for (const scheduled of [false, true])
                for (const hasIp of [false, true])
                  for (const ready of [undefined, 'True', 'False'])
                    for (const [stateName, state] of Object.entries(containerStates))
                      for (const [deleting, finalizers] of [
                        [false, []],
                        [true, []],
                        [true, ['batch.kubernetes.io/job-tracking']],
                      ] as const) {
                        // The API server creates a pod Pending with no status beyond that, and only a scheduled
                        // pod gets an IP (from the pod-create stage, with everything else); skip what cannot be.
                        const beforeCreateStage = phase === 'Pending' && ready === undefined && stateName === 'none';
                        if (hasIp ? !scheduled : !beforeCreateStage) continue;
                        const pod: Pod = {
                          metadata: {
                            name: 'p',
                            labels: wedged ? { [FaultMarks.wedged]: 'true' } : {},
                            annotations: {
                              ...(oom ? { [FaultMarks.workingSet]: '256Mi' } : {}),
                              ...(missingConfig ? { [FaultMarks.missingConfig]: 'app-config' } : {}),
                            },
                            ...(job ? { ownerReferences: [{ kind: 'Job', name: 'j' }] } : {}),
                            ...(deleting ? { deletionTimestamp: '2026-01-01T00:00:00Z' } : {}),
                            finalizers,
                          },
                          spec: {
                            ...(scheduled ? { nodeName: 'kwok-node-0' } : {}),
                            restartPolicy: job ? 'Never' : 'Always',
                            containers: [{ name: 'app', image, resources: { limits: { memory: '128Mi' } } }],
                          },
                          status: {
                            phase,
                            ...(hasIp ? { podIP: '10.0.0.1' } : {}),
                            ...(ready ? { conditions: [{ type: 'Ready', status: ready }] } : {}),
                            ...(state ? { containerStatuses: [{ name: 'app', state }] } : {}),
                          },
                        };
                        const label = [
                          imageName,
                          oom && 'oom',
                          missingConfig && 'missing-config',
                          wedged && 'wedged',
                          job && 'job',
                          phase,
                          scheduled && 'scheduled',
                          hasIp && 'ip',
                          ready && `ready=${ready}`,
                          stateName,
                          deleting && 'deleting',
                          finalizers.length > 0 && 'finalizer',
                        ]
                          .filter(Boolean)
                          .join(' ');
                        pods.push({ label, pod });
                      }
  return pods;
}

/** For each stage, whether it matches each object: one jq run over all of them, every stage's selector per object. */
function matches(kind: 'Pod' | 'Node', objects: unknown[]): Map<string, boolean[]> {
  const stages = localClusterStages().filter((s) => s.spec.resourceRef.kind === kind);
  const perStage = stages.map(
    (stage) => `([${stage.spec.selector.matchExpressions.map((e) => `((${e.jq.key}) == true)`).join(', ')}] | all)`,
  );
  const out = execFileSync(JQ, ['-c', `map([${perStage.join(', ')}])`], {
    input: JSON.stringify(objects),
    encoding: 'utf8',
    maxBuffer: 64 << 20,
  });
  const rows = JSON.parse(out) as boolean[][];
  return new Map(stages.map((stage, i) => [stage.metadata.name, rows.map((row) => row[i]!)]));
}

describe('the local cluster stages', () => {
  // One jq process over some ten thousand pods: seconds on a busy machine.
  it('never let two pod stages match the same pod, so every fault appears every time', { timeout: 90_000 }, () => {
    requireJq();
    const pods = podMatrix();
    const byStage = matches(
      'Pod',
      pods.map((p) => p.pod),
    );
    const overlaps: string[] = [];
    pods.forEach(({ label }, i) => {
      const hits = [...byStage].filter(([, m]) => m[i]).map(([name]) => name);
      if (hits.length > 1) overlaps.push(`${label}: ${hits.join(' and ')}`);
    });
    expect(overlaps.length === 0 ? [] : [`${overlaps.length} overlaps`, ...overlaps.slice(0, 10)]).toEqual([]);
    // The matrix reaches every stage, so a selector that can never match would show up here.
    const unmatched = [...byStage].filter(([, m]) => !m.some(Boolean)).map(([name]) => name);
    expect(unmatched).toEqual([]);
  });

  it('keep a wedged Job pod running and unready instead of completing it', () => {
    requireJq();
    const pods = podMatrix().filter(({ label }) => label === 'good wedged job Running scheduled ip ready=True running');
    expect(pods).toHaveLength(1);
    const byStage = matches(
      'Pod',
      pods.map((p) => p.pod),
    );
    expect([...byStage].filter(([, m]) => m[0]).map(([name]) => name)).toEqual(['cairn-pod-wedge']);
  });

  it('hold a pod whose ConfigMap is missing in CreateContainerConfigError, unless its image cannot be pulled', () => {
    requireJq();
    const stagesOf = (label: string) => {
      const pods = podMatrix().filter((p) => p.label === label);
      expect(pods).toHaveLength(1);
      const byStage = matches(
        'Pod',
        pods.map((p) => p.pod),
      );
      return [...byStage].filter(([, m]) => m[0]).map(([name]) => name);
    };
    expect(stagesOf('good missing-config Pending scheduled ip ready=False creating')).toEqual([
      'cairn-pod-config-missing',
    ]);
    // Once there, it stays: the kubelet keeps failing to build the container until the reference changes.
    expect(stagesOf('good missing-config Pending scheduled ip ready=False configError')).toEqual([]);
    // A crashing image never gets to crash: the container is never created.
    expect(stagesOf('crashes missing-config Pending scheduled ip ready=False creating')).toEqual([
      'cairn-pod-config-missing',
    ]);
    expect(stagesOf('missing missing-config Pending scheduled ip ready=False creating')).toEqual([
      'cairn-pod-pull-fail',
    ]);
    // Without the mark, the same pod starts.
    expect(stagesOf('good Pending scheduled ip ready=False creating')).toEqual(['cairn-pod-start']);
  });

  it("write the kubelet's message naming the missing ConfigMap into the waiting state", () => {
    const stage = localClusterStages().find((s) => s.metadata.name === 'cairn-pod-config-missing');
    expect(stage?.spec.next.statusTemplate).toContain('reason: CreateContainerConfigError');
    expect(stage?.spec.next.statusTemplate).toContain(`index .metadata.annotations "${FaultMarks.missingConfig}"`);
    expect(stage?.spec.next.statusTemplate).toContain('printf "configmap %q not found" $missing');
    expect(stage?.spec.next.event).toMatchObject({ type: 'Warning', reason: 'Failed' });
  });

  it('never let two node stages match the same node', () => {
    requireJq();
    const nodes = [false, true].flatMap((down) =>
      [undefined, 'True', 'False'].flatMap((ready) =>
        [undefined, 'disk', 'memory'].flatMap((pressure) =>
          [[], ['DiskPressure'], ['MemoryPressure']].map((underPressure) => ({
            metadata: {
              name: 'n',
              labels: {
                ...(down ? { [FaultMarks.nodeDown]: 'true' } : {}),
                ...(pressure ? { [FaultMarks.nodePressure]: pressure } : {}),
              },
            },
            status: {
              conditions: [
                ...(ready ? [{ type: 'Ready', status: ready }] : []),
                ...['DiskPressure', 'MemoryPressure'].map((type) => ({
                  type,
                  status: underPressure.includes(type) ? 'True' : 'False',
                })),
              ],
            },
          })),
        ),
      ),
    );
    const byStage = matches('Node', nodes);
    nodes.forEach((node, i) => {
      const matching = [...byStage].filter(([, m]) => m[i]).map(([name]) => name);
      expect(matching.length, JSON.stringify(node)).toBeLessThanOrEqual(1);
    });
    // A ready node whose pressure label and conditions disagree is brought in line at once, not at the heartbeat.
    const stale = nodes.findIndex(
      (n) =>
        n.metadata.labels[FaultMarks.nodePressure] === 'disk' &&
        n.status.conditions[0]?.status === 'True' &&
        n.status.conditions.every((c) => c.type === 'Ready' || c.status === 'False') &&
        !n.metadata.labels[FaultMarks.nodeDown],
    );
    expect([...byStage].filter(([, m]) => m[stale]).map(([name]) => name)).toEqual(['cairn-node-pressure']);
  });
});
