import * as k8s from '@kubernetes/client-node';
import { CairnError, ErrorCategory, isCairnError } from '../../domain/errors.ts';
import { apiMessage, isConflict, isNotFound, statusCode } from '../actions/actionErrors.ts';
import { PatchAs } from '../actions/patchOptions.ts';
import { selectorString } from '../actions/workloadPods.ts';
import {
  type ChaosTarget,
  checkInjectionPlan,
  daemonSetHealth,
  deploymentHealth,
  describeStep,
  displayTarget,
  type FaultRequest,
  type InjectionPlan,
  injectPatch,
  isKwokNode,
  isReadyPod,
  type JsonPatchOp,
  missingConfigName,
  nodeHealth,
  type PatchPlan,
  type PlanOutcome,
  planFault,
  podCarriesFault,
  pointer,
  readStep,
  requestProblem,
  restoredTo,
  revertPatch,
  runsSimulated,
  statefulSetHealth,
  type TargetHealth,
  type UndoStep,
  type WorkloadObject,
} from './faultPlan.ts';

export {
  type ChaosFaultType,
  type ChaosTarget,
  chaosFaultTypes,
  type FaultRequest,
  type InjectionPlan,
  InjectionPlanSchema,
  type PlanOutcome,
  PlanRefusal,
  type TargetHealth,
  type UndoStep,
} from './faultPlan.ts';

/**
 * The part of chaos experiments that touches the cluster: reads a target's health, plans one fault on it, puts the
 * fault in place and takes it back, all through the API server. The controller records the plan in an event before
 * calling `inject`, so `revert` works from that event alone after a restart; both are idempotent, and `revert`
 * only undoes what is still exactly as the fault left it.
 */
export interface FaultInjector {
  health(target: ChaosTarget): Promise<TargetHealth>;
  /** Reads only. A refusal carries a PlanRefusal code. */
  plan(request: FaultRequest): Promise<PlanOutcome>;
  /** Injecting a plan a second time changes nothing more. */
  inject(plan: InjectionPlan): Promise<InjectionResult>;
  /** Idempotent; leaves alone whatever changed since the fault (a rollback, a scale-up), and a deleted target. */
  revert(plan: InjectionPlan): Promise<RevertResult>;
}

export interface InjectionResult {
  /**
   * Pods the fault reaches: the pods a pod fault took (now or by an earlier call), the replicas a workload fault
   * rolls or removes, the pods bound to a faulted node.
   */
  readonly podsAffected: number;
  readonly summary: string;
}

export interface RevertResult {
  /** Whether this call put anything back (false when there was nothing left to take back). */
  readonly reverted: boolean;
  readonly summary: string;
  /** What this call put back. */
  readonly restored: readonly string[];
  /** What was no longer as the fault left it, and so was kept as it is. */
  readonly leftAlone: readonly string[];
}

export const ChaosErrorCode = {
  InvalidPlan: 'chaos.invalid_plan',
  InvalidTarget: 'chaos.invalid_target',
  TargetMissing: 'chaos.target_missing',
  TargetChanged: 'chaos.target_changed',
  ConfigExists: 'chaos.config_exists',
  Conflict: 'chaos.conflict',
  Kubernetes: 'chaos.kubernetes',
} as const;

/** The field manager of chaos writes, kept apart from remediation's so neither is mistaken for the other. */
export const ChaosFieldManager = 'cairn-chaos';
/** Attempts at a read-then-patch before a conflicting writer wins. */
const PatchAttempts = 6;

const categoryOf = (status: number | undefined): ErrorCategory =>
  status === 400 || status === 422
    ? ErrorCategory.Validation
    : status === 401 || status === 403
      ? ErrorCategory.Forbidden
      : status === 404
        ? ErrorCategory.NotFound
        : status === 409
          ? ErrorCategory.Conflict
          : ErrorCategory.Transient;

const failure = (error: unknown, doing: string): CairnError => {
  if (isCairnError(error)) return error;
  const status = statusCode(error);
  return new CairnError(ChaosErrorCode.Kubernetes, categoryOf(status), `${doing}: ${apiMessage(error)}`, {
    cause: error,
    details: status === undefined ? {} : { status },
  });
};

const call = async <T>(doing: string, run: () => Promise<T>): Promise<T> => {
  try {
    return await run();
  } catch (error) {
    throw failure(error, doing);
  }
};

const optional = async <T>(doing: string, run: () => Promise<T>): Promise<T | undefined> => {
  try {
    return await run();
  } catch (error) {
    if (isNotFound(error)) return undefined;
    throw failure(error, doing);
  }
};

/**
 * A stale write answers 409 and a failed `test` op 422 with the API server's generic message: both mean "read
 * again". A 422 that says what is invalid is the patch's own fault, and trying again would not help.
 */
const isRetryable = (error: unknown) =>
  isConflict(error) || (statusCode(error) === 422 && !apiMessage(error).includes(' is invalid'));

const summaryOf = (parts: readonly string[], empty: string) => (parts.length === 0 ? empty : parts.join('; '));

export interface FaultInjectorOptions {
  /**
   * How long a StatefulSet revert waits for its controller to see the restored template before replacing the pods
   * the fault left stuck (default 15 s); past it the pods are left and the revert says nothing of them.
   */
  readonly settleMs?: number;
}

export function createFaultInjector(config: k8s.KubeConfig, options: FaultInjectorOptions = {}): FaultInjector {
  const settleMs = options.settleMs ?? 15_000;
  const settlePollMs = 200;
  const core = config.makeApiClient(k8s.CoreV1Api);
  const apps = config.makeApiClient(k8s.AppsV1Api);

  const readWorkload = (target: ChaosTarget): Promise<(WorkloadObject & k8s.KubernetesObject) | undefined> => {
    const name = target.name;
    const namespace = target.namespace ?? '';
    const doing = `reading ${displayTarget(target)}`;
    switch (target.kind) {
      case 'Deployment':
        return optional(doing, () => apps.readNamespacedDeployment({ name, namespace }));
      case 'StatefulSet':
        return optional(doing, () => apps.readNamespacedStatefulSet({ name, namespace }));
      case 'DaemonSet':
        return optional(doing, () => apps.readNamespacedDaemonSet({ name, namespace }));
      default:
        throw new CairnError(
          ChaosErrorCode.InvalidTarget,
          ErrorCategory.Validation,
          `a chaos target is a Deployment, StatefulSet, DaemonSet or Node, not ${String(target.kind)}`,
        );
    }
  };

  const patchWorkload = (target: ChaosTarget, body: JsonPatchOp[]) => {
    const name = target.name;
    const namespace = target.namespace ?? '';
    const request = { name, namespace, body, fieldManager: ChaosFieldManager };
    switch (target.kind) {
      case 'Deployment':
        return apps.patchNamespacedDeployment(request, PatchAs.json);
      case 'StatefulSet':
        return apps.patchNamespacedStatefulSet(request, PatchAs.json);
      case 'DaemonSet':
        return apps.patchNamespacedDaemonSet(request, PatchAs.json);
      default:
        throw new CairnError(ChaosErrorCode.InvalidPlan, ErrorCategory.Validation, `${target.kind} is not a workload`);
    }
  };

  const readNode = (name: string) => optional(`reading Node ${name}`, () => core.readNode({ name }));

  const podsOf = async (target: ChaosTarget, workload: WorkloadObject): Promise<k8s.V1Pod[]> => {
    const selector = (workload.spec as { selector?: k8s.V1LabelSelector } | undefined)?.selector;
    const labelSelector = selectorString(selector);
    // An empty selector would match every pod of the namespace: no workload really has one.
    if (labelSelector === '') return [];
    const list = await call(`listing the pods of ${displayTarget(target)}`, () =>
      core.listNamespacedPod({ namespace: target.namespace ?? '', labelSelector }),
    );
    return list.items.filter((p) => p.metadata?.deletionTimestamp == null);
  };

  const isSimulated = async (pods: readonly k8s.V1Pod[]): Promise<boolean> => {
    const names = [...new Set(pods.map((p) => p.spec?.nodeName).filter((n): n is string => !!n))];
    const nodes = new Map<string, k8s.V1Node | undefined>();
    for (const name of names) nodes.set(name, await readNode(name));
    const all = names.length > 0 ? [] : (await call('listing nodes', () => core.listNode())).items;
    return runsSimulated(pods, nodes, all);
  };

  const podsOnNode = async (node: string) =>
    (
      await call(`listing the pods on Node ${node}`, () =>
        core.listPodForAllNamespaces({ fieldSelector: `spec.nodeName=${node}` }),
      )
    ).items.filter((p) => p.metadata?.deletionTimestamp == null).length;

  const templateView = (workload: WorkloadObject) => ({
    templatePath: '/spec/template',
    template: workload.spec?.template,
    replicas: workload.spec?.replicas,
  });

  /**
   * Reads the workload, computes a patch from what it finds and applies it; a conflict (another writer between
   * the read and the patch, or a `test` that no longer holds) starts again from a fresh read.
   */
  const readAndPatch = async (
    plan: InjectionPlan,
    compute: (workload: WorkloadObject & k8s.KubernetesObject) => PatchPlan,
  ): Promise<{ gone: string } | PatchPlan> => {
    const where = displayTarget(plan.target);
    for (let attempt = 1; ; attempt++) {
      const workload = await readWorkload(plan.target);
      if (!workload) return { gone: `${where} no longer exists` };
      if (workload.metadata?.uid !== plan.targetUid) return { gone: `${where} was deleted and created again` };
      const patch = compute(workload);
      if (patch.ops.length === 0) return patch;
      try {
        await patchWorkload(plan.target, patch.ops);
        return patch;
      } catch (error) {
        if (isRetryable(error) && attempt < PatchAttempts) continue;
        if (isRetryable(error)) {
          throw new CairnError(
            ChaosErrorCode.Conflict,
            ErrorCategory.Conflict,
            `patching ${where}: ${apiMessage(error)} (still conflicting after ${PatchAttempts} attempts)`,
            { cause: error },
          );
        }
        throw failure(error, `patching ${where}`);
      }
    }
  };

  /** Adds or removes one label, guarded by the object's uid and what the label holds. */
  const patchLabel = async (
    kind: 'Pod' | 'Node',
    name: string,
    namespace: string | undefined,
    uid: string,
    key: string,
    value: string,
    direction: 'add' | 'remove',
  ): Promise<'done' | 'already' | 'gone' | 'changed'> => {
    const where = kind === 'Node' ? `Node ${name}` : `Pod ${namespace}/${name}`;
    for (let attempt = 1; ; attempt++) {
      const object: k8s.V1Pod | k8s.V1Node | undefined =
        kind === 'Node'
          ? await readNode(name)
          : await optional(`reading ${where}`, () => core.readNamespacedPod({ name, namespace: namespace ?? '' }));
      if (!object || object.metadata?.uid !== uid || object.metadata.deletionTimestamp != null) return 'gone';
      const labels = object.metadata.labels;
      const current = labels?.[key];
      const path = `/metadata/labels/${pointer(key)}`;
      let ops: JsonPatchOp[];
      if (direction === 'add') {
        if (current === value) return 'already';
        if (current !== undefined) return 'changed';
        ops = [
          { op: 'test', path: '/metadata/uid', value: uid },
          ...(labels
            ? [{ op: 'add' as const, path, value }]
            : [
                { op: 'test' as const, path: '/metadata/resourceVersion', value: object.metadata.resourceVersion },
                { op: 'add' as const, path: '/metadata/labels', value: { [key]: value } },
              ]),
        ];
      } else {
        if (current === undefined) return 'already';
        if (current !== value) return 'changed';
        ops = [
          { op: 'test', path: '/metadata/uid', value: uid },
          { op: 'test', path, value },
          { op: 'remove', path },
        ];
      }
      try {
        if (kind === 'Node') {
          await core.patchNode({ name, body: ops, fieldManager: ChaosFieldManager }, PatchAs.json);
        } else {
          await core.patchNamespacedPod(
            { name, namespace: namespace ?? '', body: ops, fieldManager: ChaosFieldManager },
            PatchAs.json,
          );
        }
        return 'done';
      } catch (error) {
        if (isNotFound(error)) return 'gone';
        if (isRetryable(error) && attempt < PatchAttempts) continue;
        throw failure(error, `labelling ${where}`);
      }
    }
  };

  const health = async (target: ChaosTarget): Promise<TargetHealth> => {
    if (target.kind !== 'Node' && !target.namespace) {
      throw new CairnError(
        ChaosErrorCode.InvalidTarget,
        ErrorCategory.Validation,
        `a ${target.kind} target needs a namespace`,
      );
    }
    const where = displayTarget(target);
    const absent = (simulated: boolean): TargetHealth => ({
      exists: false,
      desired: 0,
      ready: 0,
      healthy: false,
      detail: `${where} does not exist`,
      simulated,
    });
    if (target.kind === 'Node') {
      const node = await readNode(target.name);
      if (!node) return absent(false);
      return {
        exists: true,
        ...nodeHealth(node),
        simulated: isKwokNode(node),
      };
    }
    const workload = await readWorkload(target);
    if (!workload) return absent(false);
    const simulated = await isSimulated(await podsOf(target, workload));
    const facts =
      target.kind === 'Deployment'
        ? deploymentHealth(workload as k8s.V1Deployment)
        : target.kind === 'StatefulSet'
          ? statefulSetHealth(workload as k8s.V1StatefulSet)
          : daemonSetHealth(workload as k8s.V1DaemonSet);
    return { exists: true, ...facts, simulated };
  };

  const plan = async (request: FaultRequest): Promise<PlanOutcome> => {
    const problem = requestProblem(request);
    if (problem) return { ok: false, ...problem };
    const { target } = request;
    if (target.kind === 'Node') {
      const node = await readNode(target.name);
      const simulated = node !== undefined && isKwokNode(node);
      return planFault({ request, ...(node ? { node } : {}), pods: [], simulated });
    }
    const workload = await readWorkload(target);
    if (!workload) return planFault({ request, pods: [], simulated: false });
    const pods = await podsOf(target, workload);
    const simulated = await isSimulated(pods);
    const configMapExists =
      request.type === 'missing_config'
        ? (await optional(`reading ConfigMap ${target.namespace}/${missingConfigName(target.name)}`, () =>
            core.readNamespacedConfigMap({ name: missingConfigName(target.name), namespace: target.namespace ?? '' }),
          )) !== undefined
        : false;
    return planFault({ request, workload, pods, simulated, configMapExists });
  };

  /**
   * An ordered StatefulSet rollout waits for every pod to be ready before it replaces any, so a pod the fault
   * broke would block the set for good even with its template put back (the "forced rollback" of the Kubernetes
   * docs). Once the controller has seen a template free of the fault, those pods (not ready, their own spec still
   * faulty) are deleted, each by uid; nothing ready is touched. Returns the pods deleted.
   */
  const replaceStrandedPods = async (plan: InjectionPlan, steps: readonly UndoStep[]): Promise<string[]> => {
    let set = await readWorkload(plan.target);
    for (let waited = 0; ; waited += settlePollMs) {
      if (!set || set.metadata?.uid !== plan.targetUid) return [];
      const observed = ((set as k8s.V1StatefulSet).status?.observedGeneration ?? 0) >= (set.metadata?.generation ?? 0);
      if (observed) break;
      // Without the controller's view of the new template, a deleted pod would come back faulty.
      if (waited >= settleMs) return [];
      await new Promise((resolve) => setTimeout(resolve, settlePollMs));
      set = await readWorkload(plan.target);
    }
    const stillFaulty = steps.some((step) => readStep(templateView(set), step).state === 'applied');
    if (stillFaulty) return [];
    const stranded = (await podsOf(plan.target, set)).filter((p) => !isReadyPod(p) && podCarriesFault(p, steps));
    const deleted: string[] = [];
    for (const pod of stranded) {
      const name = pod.metadata?.name ?? '';
      try {
        await core.deleteNamespacedPod({
          name,
          namespace: plan.target.namespace ?? '',
          body: { preconditions: { uid: pod.metadata?.uid ?? '' } },
        });
        deleted.push(name);
      } catch (error) {
        if (!isNotFound(error) && !isConflict(error))
          throw failure(error, `deleting Pod ${plan.target.namespace}/${name}`);
      }
    }
    return deleted;
  };

  const validPlan = (value: InjectionPlan): InjectionPlan => {
    const checked = checkInjectionPlan(value);
    if (!checked.ok) {
      throw new CairnError(
        ChaosErrorCode.InvalidPlan,
        ErrorCategory.Validation,
        `not a valid injection plan: ${checked.message}`,
      );
    }
    return checked.plan;
  };

  const templateSteps = (plan: InjectionPlan) =>
    plan.undo.filter((s) => s.step !== 'deletePod' && s.step !== 'podLabel' && s.step !== 'nodeLabel');

  const inject = async (input: InjectionPlan): Promise<InjectionResult> => {
    const plan = validPlan(input);
    const where = displayTarget(plan.target);
    const { namespace, name } = plan.target;

    if (plan.type === 'pod_kill' || plan.type === 'pod_not_ready') {
      const reached: string[] = [];
      const gone: string[] = [];
      for (const step of plan.undo) {
        if (step.step === 'deletePod') {
          try {
            await core.deleteNamespacedPod({
              name: step.pod,
              namespace: namespace ?? '',
              body: { preconditions: { uid: step.uid } },
            });
            reached.push(step.pod);
          } catch (error) {
            // Gone already (an earlier injection, or its controller), or replaced by a pod of the same name.
            if (isNotFound(error) || isConflict(error)) gone.push(step.pod);
            else throw failure(error, `deleting Pod ${namespace}/${step.pod}`);
          }
        } else if (step.step === 'podLabel') {
          const outcome = await patchLabel('Pod', step.pod, namespace, step.uid, step.key, step.value, 'add');
          if (outcome === 'done' || outcome === 'already') reached.push(step.pod);
          else gone.push(step.pod);
        }
      }
      const verb = plan.type === 'pod_kill' ? 'deleted' : 'wedged';
      const parts = [
        ...(reached.length > 0 ? [`${verb} ${reached.join(', ')} of ${where}`] : []),
        ...(gone.length > 0 ? [`already gone or replaced: ${gone.join(', ')}`] : []),
      ];
      return { podsAffected: reached.length, summary: summaryOf(parts, `no pod of ${where} left to reach`) };
    }

    if (plan.target.kind === 'Node') {
      const node = await readNode(name);
      if (!node || node.metadata?.uid !== plan.targetUid) {
        throw new CairnError(ChaosErrorCode.TargetMissing, ErrorCategory.NotFound, `${where} no longer exists`);
      }
      const changed: string[] = [];
      for (const step of plan.undo) {
        if (step.step !== 'nodeLabel') continue;
        const outcome = await patchLabel('Node', name, undefined, plan.targetUid, step.key, step.value, 'add');
        if (outcome === 'changed') changed.push(`${step.key} holds another value`);
        if (outcome === 'gone')
          throw new CairnError(ChaosErrorCode.TargetMissing, ErrorCategory.NotFound, `${where} no longer exists`);
      }
      if (changed.length > 0) {
        throw new CairnError(
          ChaosErrorCode.TargetChanged,
          ErrorCategory.Conflict,
          `${where} changed since the plan: ${changed.join('; ')}`,
        );
      }
      return { podsAffected: await podsOnNode(name), summary: plan.summary };
    }

    if (plan.type === 'missing_config') {
      const configMap = missingConfigName(name);
      const exists = await optional(`reading ConfigMap ${namespace}/${configMap}`, () =>
        core.readNamespacedConfigMap({ name: configMap, namespace: namespace ?? '' }),
      );
      if (exists) {
        throw new CairnError(
          ChaosErrorCode.ConfigExists,
          ErrorCategory.IllegalState,
          `ConfigMap ${namespace}/${configMap} exists now; missing_config needs a name that does not`,
        );
      }
    }
    const steps = templateSteps(plan);
    let replicas = 0;
    const outcome = await readAndPatch(plan, (workload) => {
      const patch = injectPatch(templateView(workload), steps, workload.metadata?.resourceVersion ?? '');
      const changed = patch.readings.filter((r) => r.state === 'changed');
      if (changed.length > 0) {
        throw new CairnError(
          ChaosErrorCode.TargetChanged,
          ErrorCategory.Conflict,
          `${where} changed since the plan: ${changed.map((r) => `${describeStep(r.step)} is ${r.now}`).join('; ')}`,
        );
      }
      replicas = workload.spec?.replicas ?? (workload as k8s.V1DaemonSet).status?.desiredNumberScheduled ?? 0;
      return patch;
    });
    if ('gone' in outcome) throw new CairnError(ChaosErrorCode.TargetMissing, ErrorCategory.NotFound, outcome.gone);
    const fromReplicas = plan.undo.find((s) => s.step === 'replicas');
    return {
      podsAffected: fromReplicas?.step === 'replicas' ? fromReplicas.from : replicas,
      summary: outcome.ops.length === 0 ? `already in place: ${plan.summary}` : plan.summary,
    };
  };

  const revert = async (input: InjectionPlan): Promise<RevertResult> => {
    const plan = validPlan(input);
    const where = displayTarget(plan.target);
    const { namespace, name } = plan.target;
    const restored: string[] = [];
    const leftAlone: string[] = [];
    const gone: string[] = [];
    const result = (fallback: string): RevertResult => ({
      reverted: restored.length > 0,
      restored,
      leftAlone,
      summary: summaryOf(
        [
          ...(restored.length > 0 ? [`${where}: ${restored.join(', ')}`] : []),
          ...(leftAlone.length > 0 ? [`left as they are (changed since the fault): ${leftAlone.join(', ')}`] : []),
        ],
        fallback,
      ),
    });

    if (plan.type === 'pod_kill') {
      return result(`nothing to revert: the deleted pods of ${where} are replaced by their controller`);
    }
    if (plan.type === 'pod_not_ready' || plan.target.kind === 'Node') {
      for (const step of plan.undo) {
        if (step.step !== 'podLabel' && step.step !== 'nodeLabel') continue;
        const outcome =
          step.step === 'podLabel'
            ? await patchLabel('Pod', step.pod, namespace, step.uid, step.key, step.value, 'remove')
            : await patchLabel('Node', name, undefined, plan.targetUid, step.key, step.value, 'remove');
        if (outcome === 'done') restored.push(`${describeStep(step)} removed`);
        if (outcome === 'changed') leftAlone.push(describeStep(step));
        if (outcome === 'gone') gone.push(step.step === 'podLabel' ? step.pod : where);
      }
      return result(
        plan.target.kind === 'Node'
          ? `nothing to revert: ${gone.length > 0 ? `${where} no longer exists` : `${where} no longer carries the fault`}`
          : `nothing to revert on ${where}: ${gone.length > 0 ? `pod(s) ${gone.join(', ')} gone or replaced; ` : ''}no wedged pod left`,
      );
    }

    const steps = templateSteps(plan);
    let readings: PatchPlan['readings'] = [];
    const outcome = await readAndPatch(plan, (workload) => {
      const patch = revertPatch(templateView(workload), steps);
      readings = patch.readings;
      return patch;
    });
    if ('gone' in outcome) return result(`nothing to revert: ${outcome.gone}`);
    for (const reading of readings) {
      if (reading.state === 'applied') restored.push(restoredTo(reading.step));
      else if (reading.state === 'changed') leftAlone.push(`${describeStep(reading.step)} (now ${reading.now})`);
    }
    if (plan.target.kind === 'StatefulSet') {
      const replaced = await replaceStrandedPods(plan, steps);
      if (replaced.length > 0) restored.push(`replaced the stuck pod(s) ${replaced.join(', ')}`);
    }
    return result(`nothing to revert on ${where}: the fault is no longer there`);
  };

  return { health, plan, inject, revert };
}
