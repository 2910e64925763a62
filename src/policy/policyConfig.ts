import { DefaultApproval, type RemediationMode, type RemediationPolicy, remediationModes } from '../actions/policy.ts';
import { implementedActionTypes } from '../actions/registry.ts';
import { type SloGuard, sloGuardModes } from '../actions/sloGuard.ts';

/**
 * The operator policy as people write it (flags, Helm values): parsed and checked here, so a typo stops the start-up
 * with the flag and the value named instead of quietly widening or narrowing what Cairn may do.
 */
export class PolicyConfigError extends Error {
  override readonly name = 'PolicyConfigError';
}

const NAMESPACE = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

const splitList = (value: string): string[] =>
  value
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item.length > 0);

const checkNamespace = (flag: string, name: string): string => {
  if (name.length > 63 || !NAMESPACE.test(name))
    throw new PolicyConfigError(`${flag}: "${name}" is not a namespace name`);
  return name;
};

/** `a,b` or one name a time; repeatable flags pass the list so far. */
export const parseNamespaceList =
  (flag: string) =>
  (value: string, previous: readonly string[] = []): string[] => {
    const names = splitList(value).map((name) => checkNamespace(flag, name));
    if (names.length === 0) throw new PolicyConfigError(`${flag} takes namespace names, comma-separated`);
    return [...new Set([...previous, ...names])];
  };

/** Action types, each one Cairn implements; `Custom` is accepted only where the flag allows it. */
export const parseActionList =
  (flag: string) =>
  (value: string, previous: readonly string[] = []): string[] => {
    const types = splitList(value);
    if (types.length === 0) throw new PolicyConfigError(`${flag} takes action types, comma-separated`);
    for (const type of types) {
      if (!implementedActionTypes.includes(type)) {
        const near = implementedActionTypes.filter((t) => t.toLowerCase() === type.toLowerCase());
        throw new PolicyConfigError(
          `${flag}: unknown action type "${type}"${near.length > 0 ? ` (did you mean ${near[0]}?)` : ''}; the action types are listed in docs/actions.md`,
        );
      }
    }
    return [...new Set([...previous, ...types])];
  };

const parseMode = (flag: string, value: string): RemediationMode => {
  if (!(remediationModes as readonly string[]).includes(value)) {
    throw new PolicyConfigError(`${flag}: "${value}" is not a mode; use one of ${remediationModes.join(', ')}`);
  }
  return value as RemediationMode;
};

export const parseRemediationMode = (value: string): RemediationMode => parseMode('--remediation-mode', value.trim());

/** `prod=approve,dev=auto`; repeatable; a namespace named twice with two modes is an error, not a last-wins. */
export const parseNamespaceModes = (
  value: string,
  previous: Readonly<Record<string, RemediationMode>> = {},
): Record<string, RemediationMode> => {
  const flag = '--namespace-mode';
  const pairs = splitList(value);
  if (pairs.length === 0) throw new PolicyConfigError(`${flag} takes namespace=mode pairs, e.g. prod=approve,dev=auto`);
  const modes: Record<string, RemediationMode> = { ...previous };
  for (const pair of pairs) {
    const match = /^([^=\s]+)=([^=\s]+)$/.exec(pair);
    if (!match) {
      throw new PolicyConfigError(`${flag}: "${pair}" is not namespace=mode (e.g. prod=approve,dev=auto)`);
    }
    const namespace = checkNamespace(flag, match[1]!);
    const mode = parseMode(`${flag} ${namespace}`, match[2]!);
    if (Object.hasOwn(modes, namespace) && modes[namespace] !== mode) {
      throw new PolicyConfigError(
        `${flag}: namespace ${namespace} is given two modes (${modes[namespace]} and ${mode})`,
      );
    }
    modes[namespace] = mode;
  }
  return modes;
};

export const parseDefaultApproval = (value: string): DefaultApproval => {
  const choices = Object.values(DefaultApproval) as string[];
  if (!choices.includes(value.trim())) {
    throw new PolicyConfigError(`--default-approval: "${value}" is not one of ${choices.join(', ')}`);
  }
  return value.trim() as DefaultApproval;
};

export const parseSloGuard = (value: string): SloGuard => {
  const choice = value.trim();
  if (!(sloGuardModes as readonly string[]).includes(choice)) {
    throw new PolicyConfigError(`--slo-guard: "${value}" is not one of ${sloGuardModes.join(', ')}`);
  }
  return choice as SloGuard;
};

/** A share of replicas: a number in (0, 1], or a percentage such as 50%. */
export const parseReplicaShare = (value: string): number => {
  const text = value.trim();
  const percent = /^(\d+(\.\d+)?)%$/.exec(text);
  const share = percent ? Number(percent[1]) / 100 : /^\d+(\.\d+)?$/.test(text) ? Number(text) : Number.NaN;
  if (!(share > 0 && share <= 1)) {
    throw new PolicyConfigError(
      `--max-replica-share takes a share above 0 and at most 1 (0.5) or a percentage (50%), not "${value}"`,
    );
  }
  return share;
};

export const parseCount = (flag: string, minimum: number) => (value: string) => {
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || n < minimum) {
    throw new PolicyConfigError(`${flag} takes a whole number of at least ${minimum}, not "${value}"`);
  }
  return n;
};

/**
 * Checks that the parts agree: a type both allowed and denied is a contradiction worth naming, and a deny list that
 * refuses every allowed action leaves Cairn nothing to do (observe mode says that plainly).
 */
export function checkPolicyConsistency(
  policy: RemediationPolicy,
  flags: { readonly allowedActions?: readonly string[] } = {},
): void {
  const both = (flags.allowedActions ?? []).filter((type) => policy.deniedActions.includes(type));
  if (both.length > 0) throw new PolicyConfigError(`--allow-action and --deny-action both name ${both.join(', ')}`);
  if (policy.allowedActions.every((type) => policy.deniedActions.includes(type))) {
    throw new PolicyConfigError('the deny list refuses every allowed action: use --remediation-mode observe instead');
  }
}

/** One paragraph for the start-up log and /readyz: what Cairn may do, and where. */
export function describePolicy(policy: RemediationPolicy): string {
  const modes = Object.entries(policy.namespaceModes)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([ns, mode]) => `${ns}=${mode}`);
  const allowedAll = policy.allowedActions.length === implementedActionTypes.filter((t) => t !== 'Custom').length;
  return [
    `mode ${policy.mode}${modes.length > 0 ? ` (namespaces: ${modes.join(', ')})` : ''}`,
    `default approval ${policy.defaultApproval}`,
    `SLO guard ${policy.sloGuard}`,
    `disruption guard ${policy.disruptionGuard ?? 'refuse'}`,
    policy.disruptionGuard === 'off'
      ? 'no blast radius assessed'
      : `approval above ${policy.maxDependants ?? 5} dependant(s)`,
    `protected namespaces ${policy.protectedNamespaces.join(', ')}`,
    `allowed actions ${allowedAll ? `all ${policy.allowedActions.length} built-in (not Custom)` : policy.allowedActions.join(', ')}`,
    `denied actions ${policy.deniedActions.length > 0 ? policy.deniedActions.join(', ') : 'none'}`,
    `at most ${policy.maxPodsAffected} pods and ${Math.round(policy.maxReplicaShare * 1000) / 10}% of replicas per action`,
    `${policy.maxDestructivePerPlan} destructive action(s) per plan`,
    `node actions ${policy.autonomousNodeActions ? 'on the Issue’s own node without approval' : 'with approval'}`,
  ].join('; ');
}
