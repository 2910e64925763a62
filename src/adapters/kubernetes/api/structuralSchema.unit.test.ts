import { Type } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { describe, expect, it } from 'vitest';
import { actionTypeCatalog, actionTypes, isActionType } from './actionTypes.ts';
import { FreeForm, Nullable, Quantity, StringEnum, Timestamp } from './common.schema.ts';
import { findStructuralViolations, type JsonSchemaProps, toStructuralSchema } from './structuralSchema.ts';

describe('toStructuralSchema', () => {
  it('turns a union of string literals into an enum', () => {
    expect(toStructuralSchema(StringEnum(['a', 'b'] as const, { description: 'd', default: 'a' }))).toEqual({
      description: 'd',
      type: 'string',
      enum: ['a', 'b'],
      default: 'a',
    });
  });

  it('turns a union with null into nullable, keeping the outer description', () => {
    expect(toStructuralSchema(Nullable(Timestamp('inner'), { description: 'outer' }))).toEqual({
      description: 'outer',
      type: 'string',
      format: 'date-time',
      nullable: true,
    });
  });

  it('turns numeric exclusive bounds into OpenAPI v3.0 boolean flags', () => {
    expect(toStructuralSchema(Type.Number({ exclusiveMinimum: 0, exclusiveMaximum: 100 }))).toEqual({
      type: 'number',
      minimum: 0,
      exclusiveMinimum: true,
      maximum: 100,
      exclusiveMaximum: true,
    });
  });

  it('turns a record into additionalProperties and marks int-or-string', () => {
    expect(toStructuralSchema(Type.Record(Type.String(), Quantity(), { maxProperties: 4 }))).toEqual({
      type: 'object',
      maxProperties: 4,
      additionalProperties: {
        pattern: expect.any(String),
        anyOf: [{ type: 'integer' }, { type: 'string' }],
        'x-kubernetes-int-or-string': true,
      },
    });
  });

  it('keeps a free-form object free-form, and only there', () => {
    expect(toStructuralSchema(FreeForm('snapshot'))).toEqual({
      description: 'snapshot',
      type: 'object',
      'x-kubernetes-preserve-unknown-fields': true,
    });
  });

  it('lists required properties only, and drops TypeBox symbols and JSON Schema keywords Kubernetes refuses', () => {
    const source = Type.Object(
      { a: Type.String({ maxLength: 3 }), b: Type.Optional(Type.Integer()) },
      { $id: 'X', additionalProperties: false, title: 'T' },
    );
    const converted = toStructuralSchema(source);
    expect(converted).toEqual({
      type: 'object',
      required: ['a'],
      properties: { a: { type: 'string', maxLength: 3 }, b: { type: 'integer' } },
    });
    expect(Object.getOwnPropertySymbols(converted)).toEqual([]);
    expect(Object.getOwnPropertySymbols(converted.properties?.b ?? {})).toEqual([]);
  });

  it('refuses what has no structural equivalent', () => {
    expect(() => toStructuralSchema(Type.Union([Type.String(), Type.Integer()]))).toThrow(/unions/);
    expect(() => toStructuralSchema(Type.Tuple([Type.String(), Type.String()]))).toThrow(/tuples/);
    expect(() => toStructuralSchema(Type.Any())).toThrow(/no structural equivalent/);
    expect(() => toStructuralSchema(Type.Object({ x: Type.Unknown() }))).toThrow(/\$\.x/);
  });
});

describe('findStructuralViolations', () => {
  const ok: JsonSchemaProps = {
    type: 'object',
    required: ['name'],
    properties: {
      name: { type: 'string', maxLength: 10 },
      tags: { type: 'array', maxItems: 3, items: { type: 'string', maxLength: 5 } },
    },
  };
  const violations = (schema: unknown) => findStructuralViolations(schema);

  it('accepts a structural schema', () => {
    expect(violations(ok)).toEqual([]);
  });

  it.each([
    ['a missing type', { properties: {} }, /missing or invalid type/],
    ['$ref', { type: 'object', $ref: '#/x' }, /"\$ref" is not allowed/],
    ['$id and $schema', { type: 'string', maxLength: 1, $id: 'x', $schema: 'y' }, /"\$id" is not allowed/],
    ['additionalProperties: false', { type: 'object', additionalProperties: false }, /false is not allowed/],
    [
      'properties with additionalProperties',
      { type: 'object', properties: {}, additionalProperties: { type: 'boolean' } },
      /mutually exclusive/,
    ],
    ['anyOf outside int-or-string', { type: 'string', maxLength: 1, anyOf: [{ type: 'string' }] }, /anyOf/],
    ['a const', { type: 'string', const: 'x' }, /"const" is not allowed/],
    ['patternProperties', { type: 'object', patternProperties: { '.*': { type: 'string' } } }, /patternProperties/],
    ['uniqueItems', { type: 'array', maxItems: 1, uniqueItems: true, items: { type: 'boolean' } }, /uniqueItems/],
    ['a numeric exclusiveMinimum', { type: 'number', exclusiveMinimum: 0 }, /exclusiveMinimum must be a boolean/],
    ['an unbounded list', { type: 'array', items: { type: 'boolean' } }, /maxItems/],
    ['an unbounded string', { type: 'string' }, /maxLength/],
    [
      'a nested problem',
      { type: 'object', properties: { a: { type: 'array', maxItems: 1 } } },
      /\$\.a: a list needs an items/,
    ],
    ['a required field that does not exist', { type: 'object', required: ['x'], properties: {} }, /required "x"/],
    [
      'int-or-string with a type',
      { type: 'string', 'x-kubernetes-int-or-string': true, anyOf: [{ type: 'integer' }, { type: 'string' }] },
      /must not set type/,
    ],
    [
      'a map list keyed by an optional field',
      {
        type: 'array',
        maxItems: 2,
        'x-kubernetes-list-type': 'map',
        'x-kubernetes-list-map-keys': ['name'],
        items: { type: 'object', properties: { name: { type: 'string', maxLength: 3 } } },
      },
      /must be required or defaulted/,
    ],
    [
      'a set of objects',
      { type: 'array', maxItems: 2, 'x-kubernetes-list-type': 'set', items: { type: 'object', properties: {} } },
      /set holds scalars/,
    ],
    [
      'a CEL rule naming an unknown field',
      {
        type: 'object',
        properties: { a: { type: 'integer' } },
        'x-kubernetes-validations': [{ rule: 'self.a > self.b', message: 'm' }],
      },
      /unknown field self\.b/,
    ],
    [
      'a CEL rule without message',
      { type: 'object', properties: {}, 'x-kubernetes-validations': [{ rule: 'true' }] },
      /needs a message/,
    ],
  ])('flags %s', (_, schema, problem) => {
    expect(violations(schema).join('\n')).toMatch(problem);
  });

  it('flags symbol keys left by TypeBox', () => {
    expect(violations(Type.String({ maxLength: 1 })).join('\n')).toMatch(/symbol keys/);
  });
});

describe('actionTypes', () => {
  it('lists the 54 action types of the reference plus UncordonNode, each once', () => {
    expect(actionTypes).toHaveLength(55);
    expect(new Set(actionTypes).size).toBe(55);
    const perCategory = Object.fromEntries(
      ['Deployment', 'Generic', 'StatefulSet', 'DaemonSet', 'Job', 'CronJob'].map((c) => [
        c,
        actionTypeCatalog.filter((a) => a.category === c).length,
      ]),
    );
    // The reference groups Deployment and generic actions together (19 with RestartStatefulSetPod).
    expect(perCategory).toEqual({ Deployment: 4, Generic: 15, StatefulSet: 10, DaemonSet: 7, Job: 9, CronJob: 10 });
    expect(isActionType('RollbackDeployment')).toBe(true);
    expect(isActionType('rollbackdeployment')).toBe(false);
  });

  it('validates action names through the shared enum', () => {
    const schema = StringEnum(actionTypes);
    expect(Value.Check(schema, 'ReplaceCronJobTemplate')).toBe(true);
    expect(Value.Check(schema, 'DeleteEverything')).toBe(false);
  });
});

describe('API enums agree with the domain', () => {
  it('every weighted signal and every anomaly source of the domain can be written in an Anomaly', async () => {
    const { SignalWeights } = await import('../../../../domain/correlation/risk.policy.ts');
    const { AnomalySource } = await import('../../../../domain/events/common.schema.ts');
    const { signalTypes, anomalySources } = await import('./signalTypes.ts');
    expect(signalTypes).toEqual(expect.arrayContaining(Object.keys(SignalWeights)));
    expect([...anomalySources].sort()).toEqual(Object.values(AnomalySource).sort());
  });
});
