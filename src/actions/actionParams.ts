import type { ResourceRef } from '../../domain/events/common.schema.ts';
import { type ActionDefinition, type ActionParams, AnyKind } from './action.ts';
import { invalidParam } from './actionErrors.ts';
import { isQuantity } from './quantity.ts';

/**
 * Parameter parsing shared by every action. Params arrive as strings (from a Runbook, a CRD or an AI answer), so
 * each is parsed strictly and named in the error.
 */

type Definition = Omit<ActionDefinition, 'check'> & {
  /** The action's own rules, run after the shared ones (target kind, unknown and required params). */
  readonly validate?: (params: ActionParams, target: ResourceRef) => void;
};

export const defineAction = (definition: Definition): ActionDefinition => {
  const { validate, ...rest } = definition;
  return {
    ...rest,
    check(params, target) {
      if (!definition.targetKinds.includes(AnyKind) && !definition.targetKinds.includes(target.kind)) {
        throw invalidParam(
          'target',
          `${definition.type} acts on ${definition.targetKinds.join(' or ')}, not on a ${target.kind}`,
        );
      }
      for (const name of Object.keys(params)) {
        if (!Object.hasOwn(definition.params, name)) {
          const known = Object.keys(definition.params);
          throw invalidParam(
            name,
            `${definition.type} has no parameter "${name}"${known.length ? ` (it takes ${known.join(', ')})` : ''}`,
          );
        }
      }
      for (const [name, spec] of Object.entries(definition.params)) {
        if (spec.required && !present(params, name)) throw invalidParam(name, `is required by ${definition.type}`);
      }
      validate?.(params, target);
    },
  };
};

export const present = (params: ActionParams, name: string): boolean =>
  Object.hasOwn(params, name) && (params[name] ?? '').trim() !== '';

export const optionalParam = (params: ActionParams, name: string): string | undefined =>
  present(params, name) ? (params[name] ?? '').trim() : undefined;

export const requiredParam = (params: ActionParams, name: string): string => {
  const value = optionalParam(params, name);
  if (value === undefined) throw invalidParam(name, 'is required');
  return value;
};

export const intParam = (
  params: ActionParams,
  name: string,
  bounds: { min?: number; max?: number } = {},
): number | undefined => {
  const text = optionalParam(params, name);
  if (text === undefined) return undefined;
  if (!/^-?\d+$/.test(text)) throw invalidParam(name, `must be a whole number, got "${text}"`);
  const value = Number(text);
  if (bounds.min !== undefined && value < bounds.min) throw invalidParam(name, `must be at least ${bounds.min}`);
  if (bounds.max !== undefined && value > bounds.max) throw invalidParam(name, `must be at most ${bounds.max}`);
  return value;
};

export const quantityParam = (params: ActionParams, name: string): string | undefined => {
  const text = optionalParam(params, name);
  if (text !== undefined && !isQuantity(text)) {
    throw invalidParam(name, `"${text}" is not a Kubernetes quantity (e.g. 256Mi, 1Gi, 500m, 2)`);
  }
  return text;
};

export const boolParam = (params: ActionParams, name: string): boolean | undefined => {
  const text = optionalParam(params, name);
  if (text === undefined) return undefined;
  if (text !== 'true' && text !== 'false') throw invalidParam(name, `must be true or false, got "${text}"`);
  return text === 'true';
};

export const oneOfParam = <const T extends string>(
  params: ActionParams,
  name: string,
  values: readonly T[],
): T | undefined => {
  const text = optionalParam(params, name);
  if (text === undefined) return undefined;
  if (!(values as readonly string[]).includes(text)) {
    throw invalidParam(name, `must be one of ${values.join(', ')}, got "${text}"`);
  }
  return text as T;
};

const dnsSubdomain = /^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/;

/** An object name; refusing anything else keeps a param from smuggling a path or a selector into a request. */
export const nameParam = (params: ActionParams, name: string): string | undefined => {
  const text = optionalParam(params, name);
  if (text !== undefined && !dnsSubdomain.test(text)) {
    throw invalidParam(name, `"${text}" is not a valid Kubernetes object name`);
  }
  return text;
};

export const requiredName = (params: ActionParams, name: string): string => {
  const value = nameParam(params, name);
  if (value === undefined) throw invalidParam(name, 'is required');
  return value;
};

/** A port by number (1-65535) or by name (an IANA service name). */
export const portParam = (params: ActionParams, name: string): number | string | undefined => {
  const text = optionalParam(params, name);
  if (text === undefined) return undefined;
  if (/^\d+$/.test(text)) {
    const port = Number(text);
    if (port < 1 || port > 65_535) throw invalidParam(name, `port ${port} is outside 1-65535`);
    return port;
  }
  if (!/^[a-z0-9]([-a-z0-9]{0,13}[a-z0-9])?$/.test(text) || !/[a-z]/.test(text)) {
    throw invalidParam(name, `"${text}" is neither a port number nor a port name`);
  }
  return text;
};

/** Cuts a text to fit an event field, saying that it did. */
export const bounded = (text: string, max: number): string =>
  text.length <= max ? text : `${text.slice(0, max - 15)}… (truncated)`;
