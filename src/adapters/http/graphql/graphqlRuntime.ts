import { createRequire } from 'node:module';
import type * as GraphqlModule from 'graphql';

/**
 * The graphql package as mercurius sees it. Mercurius is CommonJS and tells schema types and errors apart with
 * `instanceof` against the CommonJS build; an ES import loads the other build, whose classes it does not recognise.
 */
export const graphql = createRequire(import.meta.url)('graphql') as typeof GraphqlModule;
