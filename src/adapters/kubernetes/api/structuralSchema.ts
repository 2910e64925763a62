import type { TSchema } from '@sinclair/typebox';

/*
 * TypeBox emits JSON Schema (draft 2020-12 flavoured); a CRD wants a Kubernetes *structural* OpenAPI v3 schema.
 * toStructuralSchema() translates the constructs Cairn uses and refuses the rest, so an unsupported construct fails
 * the generator instead of reaching the API server. findStructuralViolations() checks the result independently.
 */

export interface CelValidation {
  readonly rule: string;
  readonly message?: string;
  readonly messageExpression?: string;
  readonly reason?: string;
  readonly fieldPath?: string;
}

/** The subset of apiextensions.k8s.io/v1 JSONSchemaProps that Cairn's CRDs use. */
export interface JsonSchemaProps {
  description?: string;
  type?: 'object' | 'array' | 'string' | 'integer' | 'number' | 'boolean';
  format?: string;
  enum?: unknown[];
  default?: unknown;
  nullable?: boolean;
  minimum?: number;
  exclusiveMinimum?: boolean;
  maximum?: number;
  exclusiveMaximum?: boolean;
  multipleOf?: number;
  minLength?: number;
  maxLength?: number;
  pattern?: string;
  minItems?: number;
  maxItems?: number;
  minProperties?: number;
  maxProperties?: number;
  required?: string[];
  properties?: Record<string, JsonSchemaProps>;
  additionalProperties?: JsonSchemaProps;
  items?: JsonSchemaProps;
  anyOf?: JsonSchemaProps[];
  'x-kubernetes-preserve-unknown-fields'?: true;
  'x-kubernetes-int-or-string'?: true;
  'x-kubernetes-embedded-resource'?: boolean;
  'x-kubernetes-list-type'?: 'atomic' | 'set' | 'map';
  'x-kubernetes-list-map-keys'?: string[];
  'x-kubernetes-map-type'?: 'atomic' | 'granular';
  'x-kubernetes-validations'?: CelValidation[];
}

/** Emission order, which is also the allow-list: anything else is dropped by the converter and flagged by the check. */
const emittedKeys = [
  'description',
  'type',
  'format',
  'enum',
  'default',
  'nullable',
  'minimum',
  'exclusiveMinimum',
  'maximum',
  'exclusiveMaximum',
  'multipleOf',
  'minLength',
  'maxLength',
  'pattern',
  'minItems',
  'maxItems',
  'minProperties',
  'maxProperties',
  'required',
  'properties',
  'additionalProperties',
  'items',
  'anyOf',
  'x-kubernetes-preserve-unknown-fields',
  'x-kubernetes-int-or-string',
  'x-kubernetes-embedded-resource',
  'x-kubernetes-list-type',
  'x-kubernetes-list-map-keys',
  'x-kubernetes-map-type',
  'x-kubernetes-validations',
] as const satisfies readonly (keyof JsonSchemaProps)[];

/** Keys copied verbatim from a TypeBox node (after the shape itself has been translated). */
const copiedKeys = [
  'description',
  'format',
  'default',
  'minimum',
  'maximum',
  'multipleOf',
  'minLength',
  'maxLength',
  'pattern',
  'minItems',
  'maxItems',
  'minProperties',
  'maxProperties',
  'x-kubernetes-embedded-resource',
  'x-kubernetes-list-type',
  'x-kubernetes-list-map-keys',
  'x-kubernetes-map-type',
  'x-kubernetes-validations',
] as const;

const scalarTypes = new Set(['string', 'integer', 'number', 'boolean']);
const structuralTypes = new Set(['object', 'array', ...scalarTypes]);

type Node = Record<string, unknown>;

const isNode = (value: unknown): value is Node => typeof value === 'object' && value !== null && !Array.isArray(value);

/** Translate a TypeBox schema into a structural schema: string keys only, Kubernetes vocabulary only. */
export function toStructuralSchema(schema: TSchema, path = '$'): JsonSchemaProps {
  return convert(schema as unknown as Node, path);
}

function convert(node: Node, path: string): JsonSchemaProps {
  const shape = translateShape(node, path);
  // Options written on the node (description, default, CEL...) win over what the shape carried up from a branch.
  return ordered({ ...shape, ...copyOptions(node) });
}

function translateShape(node: Node, path: string): Node {
  if (node['x-kubernetes-preserve-unknown-fields'] === true) {
    return { type: 'object', 'x-kubernetes-preserve-unknown-fields': true };
  }
  if (Array.isArray(node.anyOf)) return translateUnion(node, node.anyOf as Node[], path);
  if ('const' in node) return { type: literalType(node.const, path), enum: [node.const] };
  switch (node.type) {
    case 'object':
      return translateObject(node, path);
    case 'array':
      if (!isNode(node.items)) throw new Error(`${path}: tuples cannot be expressed in a structural schema`);
      return { type: 'array', items: convert(node.items, `${path}[]`) };
    case 'string':
    case 'integer':
    case 'number':
    case 'boolean':
      return { type: node.type };
    default:
      throw new Error(`${path}: no structural equivalent for a schema of type ${String(node.type ?? 'unknown')}`);
  }
}

function translateObject(node: Node, path: string): Node {
  const valueSchemas = isNode(node.patternProperties) ? Object.values(node.patternProperties) : [];
  if (valueSchemas.length > 1) throw new Error(`${path}: only one value schema is allowed for a map`);
  const mapValue = valueSchemas[0] ?? (isNode(node.additionalProperties) ? node.additionalProperties : undefined);
  if (isNode(mapValue)) return { type: 'object', additionalProperties: convert(mapValue, `${path}{}`) };

  const properties: Record<string, JsonSchemaProps> = {};
  for (const [name, child] of Object.entries(isNode(node.properties) ? node.properties : {})) {
    if (!isNode(child)) throw new Error(`${path}.${name}: not a schema`);
    properties[name] = convert(child, `${path}.${name}`);
  }
  const required = Array.isArray(node.required) ? node.required.filter((r): r is string => typeof r === 'string') : [];
  return {
    type: 'object',
    ...(Object.keys(properties).length > 0 ? { properties } : {}),
    ...(required.length > 0 ? { required } : {}),
  };
}

function translateUnion(node: Node, branches: Node[], path: string): Node {
  const values = branches.filter((b) => b.type !== 'null');
  const nullable = values.length !== branches.length ? { nullable: true } : {};

  if (node['x-kubernetes-int-or-string'] === true) {
    const types = values.map((b) => b.type).sort();
    if (values.length !== 2 || types[0] !== 'integer' || types[1] !== 'string' || 'nullable' in nullable) {
      throw new Error(`${path}: x-kubernetes-int-or-string needs exactly an integer and a string branch`);
    }
    const text = values.find((b) => b.type === 'string') ?? {};
    return {
      anyOf: [{ type: 'integer' }, { type: 'string' }],
      'x-kubernetes-int-or-string': true,
      ...(typeof text.pattern === 'string' ? { pattern: text.pattern } : {}),
    };
  }
  if (values.length > 0 && values.every((b) => typeof b.const === 'string')) {
    return { type: 'string', enum: values.map((b) => b.const), ...nullable };
  }
  const [only] = values;
  if (values.length === 1 && only !== undefined) return { ...convert(only, path), ...nullable };
  throw new Error(`${path}: unions other than string enums, nullable values and int-or-string are not structural`);
}

function copyOptions(node: Node): Node {
  const out: Node = {};
  for (const key of copiedKeys) if (node[key] !== undefined) out[key] = node[key];
  // JSON Schema's numeric exclusive bounds become OpenAPI v3.0's boolean flags.
  if (typeof node.exclusiveMinimum === 'number') {
    out.minimum = node.exclusiveMinimum;
    out.exclusiveMinimum = true;
  }
  if (typeof node.exclusiveMaximum === 'number') {
    out.maximum = node.exclusiveMaximum;
    out.exclusiveMaximum = true;
  }
  return out;
}

function literalType(value: unknown, path: string): 'string' | 'integer' | 'number' | 'boolean' {
  if (typeof value === 'string' || typeof value === 'boolean') return typeof value as 'string' | 'boolean';
  if (typeof value === 'number') return Number.isInteger(value) ? 'integer' : 'number';
  throw new Error(`${path}: unsupported literal ${String(value)}`);
}

function ordered(node: Node): JsonSchemaProps {
  const out: Node = {};
  for (const key of emittedKeys) if (node[key] !== undefined) out[key] = node[key];
  return out as JsonSchemaProps;
}

// ---------------------------------------------------------------------------------------------------------------
// Independent check of the structural rules (and of Cairn's own: bounded lists and strings keep CEL cheap).
// ---------------------------------------------------------------------------------------------------------------
const allowedKeys = new Set<string>(emittedKeys);

/** Every way `schema` breaks the structural-schema rules, as `path: problem` lines; empty when it is fine. */
export function findStructuralViolations(schema: unknown, path = '$'): string[] {
  const problems: string[] = [];
  walk(schema, path, problems);
  return problems;
}

function walk(value: unknown, path: string, problems: string[]): void {
  if (!isNode(value)) {
    problems.push(`${path}: not a schema object`);
    return;
  }
  const node = value;
  if (Object.getOwnPropertySymbols(node).length > 0) problems.push(`${path}: has symbol keys`);
  for (const key of Object.keys(node)) {
    if (!allowedKeys.has(key)) problems.push(`${path}: "${key}" is not allowed in a structural schema`);
  }

  const intOrString = node['x-kubernetes-int-or-string'] === true;
  const type = node.type;
  if (intOrString) {
    if (type !== undefined) problems.push(`${path}: an int-or-string node must not set type`);
    const branchTypes = Array.isArray(node.anyOf) ? node.anyOf.map((b) => (isNode(b) ? b.type : undefined)) : [];
    if (branchTypes.join(',') !== 'integer,string') {
      problems.push(`${path}: int-or-string needs anyOf [{type: integer}, {type: string}]`);
    }
  } else {
    if (typeof type !== 'string' || !structuralTypes.has(type)) problems.push(`${path}: missing or invalid type`);
    if ('anyOf' in node) problems.push(`${path}: anyOf is only used for int-or-string`);
  }
  if (node['x-kubernetes-preserve-unknown-fields'] !== undefined) {
    if (node['x-kubernetes-preserve-unknown-fields'] !== true || type !== 'object') {
      problems.push(`${path}: x-kubernetes-preserve-unknown-fields must be true on an object`);
    }
  }
  if ('nullable' in node && typeof node.nullable !== 'boolean') problems.push(`${path}: nullable must be boolean`);
  for (const [flag, bound] of [
    ['exclusiveMinimum', 'minimum'],
    ['exclusiveMaximum', 'maximum'],
  ] as const) {
    if (flag in node && (typeof node[flag] !== 'boolean' || typeof node[bound] !== 'number')) {
      problems.push(`${path}: ${flag} must be a boolean next to ${bound}`);
    }
  }
  if (Array.isArray(node.enum) && scalarTypes.has(String(type))) {
    const expected = type === 'integer' || type === 'number' ? 'number' : type;
    if (node.enum.some((v) => typeof v !== expected)) problems.push(`${path}: enum values must be ${type}s`);
  }

  if (type === 'object') checkObject(node, path, problems);
  if (type === 'array') checkArray(node, path, problems);
  if (type === 'string' && node.enum === undefined && node.format === undefined && node.maxLength === undefined) {
    problems.push(`${path}: a free string needs maxLength (CEL cost estimation)`);
  }
  checkValidations(node, path, problems);
}

function checkObject(node: Node, path: string, problems: string[]): void {
  const properties = node.properties;
  const additional = node.additionalProperties;
  if (additional !== undefined) {
    if (properties !== undefined) problems.push(`${path}: properties and additionalProperties are mutually exclusive`);
    if (!isNode(additional)) problems.push(`${path}: additionalProperties must be a schema (false is not allowed)`);
    else walk(additional, `${path}{}`, problems);
  }
  if (properties !== undefined) {
    if (!isNode(properties)) problems.push(`${path}: properties must be an object`);
    else for (const [name, child] of Object.entries(properties)) walk(child, `${path}.${name}`, problems);
  }
  if (node.required !== undefined) {
    const names = isNode(properties) ? Object.keys(properties) : [];
    if (!Array.isArray(node.required)) problems.push(`${path}: required must be a list`);
    else
      for (const r of node.required)
        if (!names.includes(r)) problems.push(`${path}: required "${r}" is not a property`);
  }
}

function checkArray(node: Node, path: string, problems: string[]): void {
  if (!isNode(node.items)) {
    problems.push(`${path}: a list needs an items schema`);
    return;
  }
  walk(node.items, `${path}[]`, problems);
  if (typeof node.maxItems !== 'number') problems.push(`${path}: a list needs maxItems (CEL cost estimation)`);
  const items = node.items;
  const listType = node['x-kubernetes-list-type'];
  if (listType === 'set' && !scalarTypes.has(String(items.type))) {
    problems.push(`${path}: a set holds scalars only`);
  }
  if (listType === 'map') {
    const keys = node['x-kubernetes-list-map-keys'];
    const itemProps = isNode(items.properties) ? items.properties : {};
    const itemRequired = Array.isArray(items.required) ? items.required : [];
    if (items.type !== 'object' || !Array.isArray(keys) || keys.length === 0) {
      problems.push(`${path}: a map list needs object items and x-kubernetes-list-map-keys`);
    } else {
      for (const key of keys) {
        const keySchema = itemProps[key];
        if (!isNode(keySchema) || !scalarTypes.has(String(keySchema.type))) {
          problems.push(`${path}: map key "${key}" must be a scalar property`);
        } else if (!itemRequired.includes(key) && keySchema.default === undefined) {
          problems.push(`${path}: map key "${key}" must be required or defaulted`);
        }
      }
    }
  } else if ('x-kubernetes-list-map-keys' in node) {
    problems.push(`${path}: x-kubernetes-list-map-keys needs x-kubernetes-list-type: map`);
  }
}

// Resolves `self.a.b` chains against the schema, so a renamed field cannot leave a CEL rule pointing at nothing
// (the API server would refuse the whole CRD).
function checkValidations(node: Node, path: string, problems: string[]): void {
  const validations = node['x-kubernetes-validations'];
  if (validations === undefined) return;
  if (!Array.isArray(validations)) {
    problems.push(`${path}: x-kubernetes-validations must be a list`);
    return;
  }
  for (const v of validations) {
    if (!isNode(v) || typeof v.rule !== 'string' || v.rule.length === 0) {
      problems.push(`${path}: a validation needs a rule`);
      continue;
    }
    if (typeof v.message !== 'string' || v.message.length === 0)
      problems.push(`${path}: rule "${v.rule}" needs a message`);
    for (const match of v.rule.matchAll(/\bself((?:\.[A-Za-z_][A-Za-z0-9_]*)+)/g)) {
      let current: Node = node;
      for (const segment of (match[1] ?? '').slice(1).split('.')) {
        if (current.type !== 'object' || !isNode(current.properties)) break;
        const next = current.properties[segment];
        if (!isNode(next)) {
          problems.push(`${path}: rule "${v.rule}" refers to unknown field self${match[1]}`);
          break;
        }
        current = next;
      }
    }
  }
}
