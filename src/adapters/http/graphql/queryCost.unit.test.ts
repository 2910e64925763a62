import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isCairnError } from '../../../../domain/errors.ts';
import { graphqlSchema } from './graphql.schema.ts';
import { graphql } from './graphqlRuntime.ts';
import { checkCost, DefaultCostLimits, estimateCost, QueryCostCode } from './queryCost.ts';

const schema = graphql.buildSchema(graphqlSchema);
const estimate = (query: string, variables?: Record<string, unknown>) =>
  estimateCost(schema, graphql.parse(query), { variables });
const refusal = (query: string, variables?: Record<string, unknown>) => {
  try {
    checkCost(schema, graphql.parse(query), { variables });
  } catch (error) {
    if (isCairnError(error)) return error;
    throw error;
  }
  return undefined;
};

/** The dashboard's own queries, read from its script, so a change there that the limit refuses fails here. */
const dashboardQueries = () => {
  const script = readFileSync(new URL('../../../../dashboard/app.js', import.meta.url), 'utf8');
  return [...script.matchAll(/const (?:LIST|DETAIL) = `([^`]*)`/g)].map((m) => m[1]!);
};

const nestedIncident = (alias: string) =>
  `${alias}: incident(id: "inc01") { id timeline { type summary } anomalies { id labels { name value } } remediation { actions { type params { name value } } } }`;

describe('GraphQL query cost', () => {
  it('lets the dashboard list a hundred incidents and open one with everything it shows', () => {
    const queries = dashboardQueries();
    expect(queries).toHaveLength(2);
    for (const query of queries) expect(refusal(query, { state: null, id: 'x' })).toBeUndefined();
    // The list: a page of 100 incidents with a dozen fields each, and the analytics.
    expect(estimate(queries[0]!).cost).toBeGreaterThan(1_000);
  });

  it('counts every alias: one nested incident is cheap, a thousand of them are refused with a stable code', () => {
    expect(refusal(`{ ${nestedIncident('a')} }`)).toBeUndefined();
    const attack = `{ ${Array.from({ length: 1_000 }, (_, i) => nestedIncident(`a${i}`)).join(' ')} }`;
    const error = refusal(attack);
    expect(Object.values(QueryCostCode)).toContain(error?.code);
    expect(error?.message).toMatch(/aliases/);
    // Without the field cap the same document is still far over the cost limit.
    const cost = estimateCost(schema, graphql.parse(attack), {
      limits: { ...DefaultCostLimits, maxFields: Number.POSITIVE_INFINITY, maxCost: Number.POSITIVE_INFINITY },
    }).cost;
    expect(cost).toBeGreaterThan(40 * DefaultCostLimits.maxCost);
  });

  it('multiplies by the page size asked, literally or through a variable', () => {
    const page = 'query ($n: Int) { incidents(limit: $n) { items { id timeline { type summary } } } }';
    expect(estimate(page, { n: 10 }).cost).toBeLessThan(estimate(page, { n: 100 }).cost);
    expect(refusal(page, { n: 20 })).toBeUndefined();
    expect(refusal(page, { n: 500 })?.code).toBe(QueryCostCode.TooCostly);
    expect(refusal(page, { n: 500 })?.message).toMatch(/smaller pages/);
    // Before the variables are known, the estimate is a lower bound: it does not refuse what they may allow.
    expect(estimateCost(schema, graphql.parse(page)).cost).toBe(estimate(page, { n: 1 }).cost);
    // No limit: the read model's page of 50.
    expect(estimate('{ incidents { items { id } } }').cost).toBe(1 + 1 + 50);
    expect(estimate('{ incidents(limit: 7) { items { id } nextCursor } }').cost).toBe(1 + 1 + 7 + 1);
  });

  it('expands fragments, and refuses one that doubles at each level without expanding it all', () => {
    const levels = 30;
    const fragments = Array.from(
      { length: levels },
      (_, i) => `fragment F${i} on Incident { ${i + 1 < levels ? `...F${i + 1} ...F${i + 1}` : 'id'} }`,
    ).join('\n');
    const error = refusal(`{ incident(id: "x") { ...F0 } }\n${fragments}`);
    // 2^30 fields written; refusing it stops at the first few hundred.
    expect(error?.code).toBe(QueryCostCode.TooManyFields);
    // A fragment that spreads itself is for validation to report; the estimate does not loop on it.
    expect(estimate('{ incident(id: "x") { ...A } } fragment A on Incident { id ...A }').fields).toBe(2);
  });

  it('never throws anything but its own refusal, whatever operation over the schema is asked', () => {
    const field = fc.constantFrom(
      'incidents(limit: 5) { items { id timeline { type } } }',
      'incident(id: "x") { id anomalies { labels { name } } }',
      'anomalies { items { id } nextCursor }',
      'analytics { trend { day } bySeverity { key count } }',
      'unknownField { x }',
    );
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.stringMatching(/^[a-z][a-z0-9]{0,5}$/), field), { minLength: 1, maxLength: 200 }),
        (fields) => {
          const query = `{ ${fields.map(([alias, f]) => `${alias}: ${f}`).join(' ')} }`;
          const error = refusal(query);
          if (error !== undefined) expect(Object.values(QueryCostCode)).toContain(error.code);
        },
      ),
      { numRuns: 200 },
    );
  });
});
