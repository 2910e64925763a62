import type { Static, TObject } from '@sinclair/typebox';
import { type TypeCheck, TypeCompiler, type ValueError, ValueErrorType } from '@sinclair/typebox/compiler';
import { CairnError, ErrorCategory } from '../errors.ts';
import type { Event } from '../messages.ts';
import { analysisEventDefinitions } from './analysis.events.ts';
import { anomalyEventDefinitions } from './anomaly.events.ts';
import { EventMetadataSchema } from './audit.schema.ts';
import { chaosEventDefinitions } from './chaos.events.ts';
import type { EventDefinition } from './common.schema.ts';
import { correlationEventDefinitions } from './correlation.events.ts';
import { escalationEventDefinitions } from './escalation.events.ts';
import { issueEventDefinitions } from './issue.events.ts';
import { notificationEventDefinitions } from './notification.events.ts';
import { postMortemEventDefinitions, postMortemReviewEventDefinitions } from './postmortem.events.ts';
import { remediationEventDefinitions } from './remediation.events.ts';
import { revisionEventDefinitions } from './revision.events.ts';
import { slaEventDefinitions } from './sla.events.ts';
import { sloEventDefinitions } from './slo.events.ts';

/**
 * The one list of event types Cairn writes. Stores validate with it on append and upcast + validate on read, so
 * every consumer sees the current schema version of every event, whatever version is on disk.
 */
export const eventDefinitions = [
  ...anomalyEventDefinitions,
  ...correlationEventDefinitions,
  ...issueEventDefinitions,
  ...analysisEventDefinitions,
  ...remediationEventDefinitions,
  ...revisionEventDefinitions,
  ...slaEventDefinitions,
  ...sloEventDefinitions,
  ...chaosEventDefinitions,
  ...postMortemEventDefinitions,
  ...postMortemReviewEventDefinitions,
  ...notificationEventDefinitions,
  ...escalationEventDefinitions,
] as const;

type Definition = (typeof eventDefinitions)[number];
export type EventType = Definition['type'];
export type EventDataOf<T extends EventType> = Static<Extract<Definition, { type: T }>['schema']>;
/** Any event of the catalogue, typed by its `type`. */
export type CatalogueEvent = { [T in EventType]: Event<T, EventDataOf<T>> }[EventType];

export interface CatalogueEntry {
  readonly type: string;
  readonly schemaVersion: number;
  readonly schema: TObject;
  readonly audited: boolean;
  /** Data written at `fromVersion`, brought up to `schemaVersion`. Not validated: call `validate` after. */
  readonly upcast: (fromVersion: number, data: unknown) => unknown;
}

export interface EventCatalogue {
  readonly types: readonly string[];
  readonly has: (type: string) => boolean;
  readonly entry: (type: string) => CatalogueEntry;
  readonly isAudited: (type: string) => boolean;
  /** Throws `event.unknown_type` or `event.invalid` (naming the field); returns the data when valid. */
  readonly validateEvent: (type: string, data: unknown) => unknown;
  /** Checks type, metadata and data of a whole event; audited events must name their actor. */
  readonly validateEnvelope: (event: { type: string; data: unknown; metadata: unknown }) => void;
  /** For the read side: upcast from the stored version, then validate against the current schema. */
  readonly readEvent: (type: string, schemaVersion: number, data: unknown) => unknown;
}

const unknownType = (type: string): CairnError =>
  new CairnError('event.unknown_type', ErrorCategory.Validation, `unknown event type '${type}'`, {
    details: { type },
  });

export const createCatalogue = (definitions: readonly EventDefinition[]): EventCatalogue => {
  const entries = new Map<string, CatalogueEntry & { readonly check: TypeCheck<TObject> }>();
  for (const definition of definitions) {
    if (entries.has(definition.type)) throw new Error(`event type ${definition.type} is defined twice`);
    // A version without its upcaster would only fail when an old event is read, perhaps in production years on.
    for (let version = 1; version < definition.schemaVersion; version++) {
      if (definition.upcasters[version] === undefined) {
        throw new Error(`event type ${definition.type} v${definition.schemaVersion} has no upcaster from v${version}`);
      }
    }
    entries.set(definition.type, {
      type: definition.type,
      schemaVersion: definition.schemaVersion,
      schema: definition.schema,
      audited: definition.audited,
      upcast: (fromVersion, data) => upcast(definition, fromVersion, data),
      check: TypeCompiler.Compile(definition.schema),
    });
  }
  const metadataCheck = TypeCompiler.Compile(EventMetadataSchema);

  const entry = (type: string) => {
    const found = entries.get(type);
    if (found === undefined) throw unknownType(type);
    return found;
  };

  const validateEvent = (type: string, data: unknown): unknown => {
    const { check } = entry(type);
    if (!check.Check(data)) throw invalidEvent(type, '/data', [...check.Errors(data)]);
    return data;
  };

  return {
    types: [...entries.keys()],
    has: (type) => entries.has(type),
    entry,
    isAudited: (type) => entry(type).audited,
    validateEvent,
    validateEnvelope: (event) => {
      const { audited } = entry(event.type);
      if (!metadataCheck.Check(event.metadata)) {
        throw invalidEvent(event.type, '/metadata', [...metadataCheck.Errors(event.metadata)]);
      }
      if (audited && event.metadata.actor === undefined) {
        throw invalidEvent(event.type, '', [], '/metadata/actor is required: the event is audited');
      }
      validateEvent(event.type, event.data);
    },
    readEvent: (type, schemaVersion, data) => validateEvent(type, entry(type).upcast(schemaVersion, data)),
  };
};

const upcast = (definition: EventDefinition, fromVersion: number, data: unknown): unknown => {
  if (!Number.isInteger(fromVersion) || fromVersion < 1 || fromVersion > definition.schemaVersion) {
    throw new CairnError(
      'event.unsupported_version',
      ErrorCategory.Validation,
      `${definition.type} has no schema version ${fromVersion} (current is ${definition.schemaVersion})`,
      { details: { type: definition.type, schemaVersion: fromVersion } },
    );
  }
  let current = data;
  for (let version = fromVersion; version < definition.schemaVersion; version++) {
    // Presence is checked when the catalogue is created.
    current = definition.upcasters[version]!(current);
  }
  return current;
};

interface FieldError {
  readonly path: string;
  readonly message: string;
}

const invalidEvent = (type: string, root: string, errors: readonly ValueError[], override?: string): CairnError => {
  const fields: FieldError[] = [];
  const seen = new Set<string>();
  for (const error of errors) {
    const path = `${root}${error.path}`;
    // TypeBox reports a missing field twice ("required", then "expected string"); the first says it best.
    if (seen.has(path)) continue;
    seen.add(path);
    // A key present with `undefined` is, for whoever sent it, a missing field.
    const problem =
      error.value === undefined && error.type !== ValueErrorType.ObjectAdditionalProperties
        ? 'is required'
        : describe(error);
    fields.push({ path, message: `${path} ${problem}` });
  }
  const first = override ?? fields[0]?.message ?? `${root} is invalid`;
  const more = fields.length > 1 ? ` (and ${fields.length - 1} more)` : '';
  return new CairnError('event.invalid', ErrorCategory.Validation, `${type}: ${first}${more}`, {
    details: { type, errors: override === undefined ? fields : [{ path: '/metadata/actor', message: override }] },
  });
};

/** TypeBox's messages are written for TypeBox users; these are written for whoever sent the event. */
const describe = (error: ValueError): string => {
  const schema = error.schema as Readonly<Record<string, unknown>>;
  switch (error.type) {
    case ValueErrorType.ObjectRequiredProperty:
      return 'is required';
    case ValueErrorType.ObjectAdditionalProperties:
      return 'is not an allowed field';
    case ValueErrorType.NumberMaximum:
    case ValueErrorType.IntegerMaximum:
      return `must be <= ${String(schema.maximum)}`;
    case ValueErrorType.NumberMinimum:
    case ValueErrorType.IntegerMinimum:
      return `must be >= ${String(schema.minimum)}`;
    case ValueErrorType.NumberExclusiveMaximum:
    case ValueErrorType.IntegerExclusiveMaximum:
      return `must be < ${String(schema.exclusiveMaximum)}`;
    case ValueErrorType.NumberExclusiveMinimum:
    case ValueErrorType.IntegerExclusiveMinimum:
      return `must be > ${String(schema.exclusiveMinimum)}`;
    case ValueErrorType.Integer:
      return 'must be an integer';
    case ValueErrorType.Number:
      return 'must be a number';
    case ValueErrorType.String:
      return 'must be a string';
    case ValueErrorType.Boolean:
      return 'must be a boolean';
    case ValueErrorType.Array:
      return 'must be an array';
    case ValueErrorType.Object:
      return 'must be an object';
    case ValueErrorType.StringMinLength:
      return schema.minLength === 1 ? 'must not be empty' : `must be at least ${String(schema.minLength)} characters`;
    case ValueErrorType.StringMaxLength:
      return `must be at most ${String(schema.maxLength)} characters`;
    case ValueErrorType.StringPattern:
      return typeof schema.description === 'string'
        ? `must be ${schema.description}`
        : `must match ${String(schema.pattern)}`;
    case ValueErrorType.ArrayMinItems:
      return `must have at least ${String(schema.minItems)} items`;
    case ValueErrorType.ArrayMaxItems:
      return `must have at most ${String(schema.maxItems)} items`;
    case ValueErrorType.Literal:
      return `must be ${JSON.stringify(schema.const)}`;
    case ValueErrorType.Union: {
      const options = Array.isArray(schema.anyOf) ? (schema.anyOf as readonly Record<string, unknown>[]) : [];
      const literals = options.filter((option) => 'const' in option).map((option) => JSON.stringify(option.const));
      return literals.length === options.length && literals.length > 0
        ? `must be one of ${literals.join(', ')}`
        : 'matches none of the allowed shapes';
    }
    default:
      return error.message.toLowerCase();
  }
};

/** The catalogue Cairn runs with. */
export const eventCatalogue: EventCatalogue = createCatalogue(eventDefinitions);

export function validateEvent<T extends EventType>(type: T, data: unknown): EventDataOf<T>;
export function validateEvent(type: string, data: unknown): unknown;
export function validateEvent(type: string, data: unknown): unknown {
  return eventCatalogue.validateEvent(type, data);
}

export const isEventType = (type: string): type is EventType => eventCatalogue.has(type);
