import type {
  DocumentNode,
  FragmentDefinitionNode,
  GraphQLField,
  GraphQLNamedType,
  GraphQLSchema,
  OperationDefinitionNode,
  SelectionSetNode,
  ValueNode,
} from 'graphql';
import { CairnError, ErrorCategory } from '../../../../domain/errors.ts';
import { DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE } from '../../readmodel/readModel.queries.ts';
import { graphql } from './graphqlRuntime.ts';

const { getNamedType, getNullableType, isCompositeType, isListType, isObjectType, Kind } = graphql;

/**
 * What a GraphQL document may ask of the read model. A field costs one for every time it is resolved: a field under
 * a page of `limit` items is resolved `limit` times, one under an incident's timeline as often as the timeline is
 * long. Aliases are fields like any other, so a thousand aliases of one query cost a thousand times as much.
 */
export interface CostLimits {
  /** The largest estimated number of resolved fields. */
  readonly maxCost: number;
  /** The largest number of fields written in the document (fragments expanded), whatever their multipliers. */
  readonly maxFields: number;
  /** The size assumed for a list without a `limit` argument (an incident's timeline, a plan's actions). */
  readonly listSize: number;
}

export const DefaultCostLimits: CostLimits = { maxCost: 10_000, maxFields: 500, listSize: 10 };

export const QueryCostCode = { TooCostly: 'graphql.too_costly', TooManyFields: 'graphql.too_many_fields' } as const;

export interface CostEstimate {
  /** Estimated fields resolved; stops counting once past the limit, so this is a lower bound when refused. */
  readonly cost: number;
  /** Fields as written in the document. */
  readonly fields: number;
}

interface Walk {
  readonly schema: GraphQLSchema;
  readonly fragments: ReadonlyMap<string, FragmentDefinitionNode>;
  readonly variables: Readonly<Record<string, unknown>> | undefined;
  readonly limits: CostLimits;
  cost: number;
  fields: number;
}

/** Past either limit: the walk stops at once, so a fragment that expands exponentially costs no more to refuse. */
const over = (walk: Walk) => walk.cost > walk.limits.maxCost || walk.fields > walk.limits.maxFields;

/**
 * The page size a `limit` argument asks for. A variable whose value is not known yet (checked before the variables
 * are) counts as the smallest page, so that estimate is a lower bound and the exact one follows before execution.
 */
function pageSize(value: ValueNode | undefined, walk: Walk): number {
  let size: unknown = DEFAULT_PAGE_SIZE;
  if (value?.kind === Kind.INT) size = Number(value.value);
  else if (value?.kind === Kind.VARIABLE) size = walk.variables === undefined ? 1 : walk.variables[value.name.value];
  if (typeof size !== 'number' || !Number.isFinite(size)) return DEFAULT_PAGE_SIZE;
  return Math.min(Math.max(Math.trunc(size), 1), MAX_PAGE_SIZE);
}

function selectionCost(
  set: SelectionSetNode,
  parent: GraphQLNamedType,
  multiplier: number,
  pageOf: number | undefined,
  walk: Walk,
  expanding: ReadonlySet<string>,
): void {
  for (const selection of set.selections) {
    if (over(walk)) return;
    if (selection.kind === Kind.FRAGMENT_SPREAD) {
      const name = selection.name.value;
      const fragment = walk.fragments.get(name);
      // A cycle or an unknown fragment is for validation to report; the estimate just does not follow it.
      if (fragment === undefined || expanding.has(name)) continue;
      const type = walk.schema.getType(fragment.typeCondition.name.value) ?? parent;
      selectionCost(fragment.selectionSet, type, multiplier, pageOf, walk, new Set([...expanding, name]));
      continue;
    }
    if (selection.kind === Kind.INLINE_FRAGMENT) {
      const type = selection.typeCondition
        ? (walk.schema.getType(selection.typeCondition.name.value) ?? parent)
        : parent;
      selectionCost(selection.selectionSet, type, multiplier, pageOf, walk, expanding);
      continue;
    }
    walk.fields += 1;
    walk.cost += multiplier;
    const field: GraphQLField<unknown, unknown> | undefined = isObjectType(parent)
      ? parent.getFields()[selection.name.value]
      : undefined;
    if (field === undefined || selection.selectionSet === undefined) continue;
    const type = getNamedType(field.type);
    if (!isCompositeType(type)) continue;
    // A paged field (it takes `limit`) multiplies what is under its list of items; any other list is assumed to be
    // of the usual length.
    if (field.args.some((a) => a.name === 'limit')) {
      const argument = selection.arguments?.find((a) => a.name.value === 'limit');
      selectionCost(selection.selectionSet, type, multiplier, pageSize(argument?.value, walk), walk, expanding);
    } else if (isListType(getNullableType(field.type))) {
      selectionCost(
        selection.selectionSet,
        type,
        multiplier * (pageOf ?? walk.limits.listSize),
        undefined,
        walk,
        expanding,
      );
    } else {
      selectionCost(selection.selectionSet, type, multiplier, undefined, walk, expanding);
    }
  }
}

/**
 * Estimates the operation a request runs (the named one, or the only one). Without `variables` a `limit` given by a
 * variable counts as 1: a lower bound, cheap to compute before the document is validated.
 */
export function estimateCost(
  schema: GraphQLSchema,
  document: DocumentNode,
  options: {
    readonly variables?: Readonly<Record<string, unknown>> | null;
    readonly operationName?: string | null;
    readonly limits?: CostLimits;
  } = {},
): CostEstimate {
  const fragments = new Map<string, FragmentDefinitionNode>();
  const operations: OperationDefinitionNode[] = [];
  for (const definition of document.definitions) {
    if (definition.kind === Kind.FRAGMENT_DEFINITION) fragments.set(definition.name.value, definition);
    if (definition.kind === Kind.OPERATION_DEFINITION) operations.push(definition);
  }
  const limits = options.limits ?? DefaultCostLimits;
  const named = options.operationName ? operations.filter((o) => o.name?.value === options.operationName) : operations;
  let worst: CostEstimate = { cost: 0, fields: 0 };
  // Without a name only a single operation can run; should there be several, the dearest one is the one judged.
  for (const operation of named) {
    const root = schema.getRootType(operation.operation);
    if (root === undefined || root === null) continue;
    const walk: Walk = {
      schema,
      fragments,
      variables: options.variables ?? undefined,
      limits,
      cost: 0,
      fields: 0,
    };
    selectionCost(operation.selectionSet, root, 1, undefined, walk, new Set());
    if (walk.cost > worst.cost || walk.fields > worst.fields) {
      worst = { cost: Math.max(walk.cost, worst.cost), fields: Math.max(walk.fields, worst.fields) };
    }
  }
  return worst;
}

/** Refuses a document over either limit, saying by how much and what to do about it. */
export function checkCost(
  schema: GraphQLSchema,
  document: DocumentNode,
  options: {
    readonly variables?: Readonly<Record<string, unknown>> | null;
    readonly operationName?: string | null;
    readonly limits?: CostLimits;
  } = {},
): CostEstimate {
  const limits = options.limits ?? DefaultCostLimits;
  const estimate = estimateCost(schema, document, { ...options, limits });
  if (estimate.fields > limits.maxFields) {
    throw new CairnError(
      QueryCostCode.TooManyFields,
      ErrorCategory.Validation,
      `the query selects more than ${limits.maxFields} fields (aliases and fragments counted); split it into several requests`,
      { details: { fields: estimate.fields, maxFields: limits.maxFields } },
    );
  }
  if (estimate.cost > limits.maxCost) {
    throw new CairnError(
      QueryCostCode.TooCostly,
      ErrorCategory.Validation,
      `the query would resolve more than ${limits.maxCost} fields (each field counted once per item of the lists above it, a list without limit as ${limits.listSize}); ask for smaller pages, fewer fields or fewer aliases`,
      { details: { cost: estimate.cost, maxCost: limits.maxCost } },
    );
  }
  return estimate;
}
