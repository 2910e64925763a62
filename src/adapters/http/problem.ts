import { type TProperties, Type } from '@sinclair/typebox';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { type ErrorCategory, isCairnError } from '../../../domain/errors.ts';

/**
 * Errors leave the HTTP boundary as RFC 9457 problem details with a stable `code` that clients can switch on.
 * This file is the boundary's one mapping from Cairn's error categories to HTTP statuses.
 */
export const PROBLEM_CONTENT_TYPE = 'application/problem+json';

export const StatusOfCategory: Readonly<Record<ErrorCategory, number>> = {
  Validation: 400,
  Forbidden: 403,
  NotFound: 404,
  Conflict: 409,
  IllegalState: 409,
  Transient: 503,
  Internal: 500,
};

const titles: Readonly<Record<number, string>> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  409: 'Conflict',
  413: 'Content Too Large',
  415: 'Unsupported Media Type',
  422: 'Unprocessable Content',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
};

const problemProperties = {
  type: Type.String({ description: 'A URI naming the kind of problem: urn:cairn:problem:<code>.' }),
  title: Type.String(),
  status: Type.Integer({ minimum: 400, maximum: 599 }),
  detail: Type.String(),
  code: Type.String({ description: 'Stable, dotted: clients may switch on it.' }),
  instance: Type.Optional(Type.String()),
  errors: Type.Optional(
    Type.Array(Type.Object({ path: Type.String(), message: Type.String() }), {
      description: 'What was wrong with the request, one entry per failed rule.',
    }),
  ),
};

export const ProblemSchema = Type.Object(problemProperties);

/** A problem with extension members of a route's own (e.g. the per-alert results of a partly failed webhook). */
export const problemWith = <P extends TProperties>(extra: P) => Type.Object({ ...problemProperties, ...extra });

/** The response-schema entries every route adds for its errors, served as application/problem+json. */
export const problemResponses = (schema: object = ProblemSchema) => ({
  '4xx': { content: { [PROBLEM_CONTENT_TYPE]: { schema } } },
  '5xx': { content: { [PROBLEM_CONTENT_TYPE]: { schema } } },
});

export interface Problem {
  readonly status: number;
  readonly code: string;
  readonly detail: string;
  readonly errors?: readonly { path: string; message: string }[];
  readonly [extension: string]: unknown;
}

export const problemBody = (problem: Problem, instance?: string) => ({
  ...problem,
  type: `urn:cairn:problem:${problem.code}`,
  title: titles[problem.status] ?? (problem.status >= 500 ? 'Server Error' : 'Client Error'),
  ...(instance ? { instance } : {}),
});

export const sendProblem = (reply: FastifyReply, problem: Problem) =>
  reply.code(problem.status).type(PROBLEM_CONTENT_TYPE).send(problemBody(problem, reply.request.url));

/** Fastify's own 4xx errors (FST_ERR_CTP_INVALID_MEDIA_TYPE …) keep their status under a code of ours. */
const frameworkCodes: Readonly<Record<string, string>> = {
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'request.unsupported_media_type',
  FST_ERR_CTP_BODY_TOO_LARGE: 'request.body_too_large',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'request.empty_body',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'request.invalid_content_length',
  FST_ERR_CTP_EMPTY_TYPE: 'request.unsupported_media_type',
  CAIRN_RATE_LIMITED: 'auth.rate_limited',
};

/**
 * The app's error handler. Validation failures list what was wrong; a CairnError keeps its code; anything else
 * is a 500 whose message stays in the log, never in the response.
 */
export function problemErrorHandler(log: (line: string) => void) {
  return (error: FastifyError, request: FastifyRequest, reply: FastifyReply) => {
    if (error.validation) {
      return sendProblem(reply, {
        status: 400,
        code: 'request.invalid',
        detail: `the request does not match the schema of ${request.method} ${request.routeOptions.url ?? request.url}`,
        errors: error.validation.map((v) => {
          // An unknown field is named in the path, so `?bogus=1` says which filter was not understood.
          const extra = (v.params as { additionalProperty?: unknown } | undefined)?.additionalProperty;
          return {
            path: `${error.validationContext ?? 'body'}${v.instancePath}${typeof extra === 'string' ? `/${extra}` : ''}`,
            message: v.message ?? 'is invalid',
          };
        }),
      });
    }
    if (isCairnError(error)) {
      const status = StatusOfCategory[error.category];
      if (status >= 500) log(`error: ${request.method} ${request.url}: ${error.code}: ${error.message}`);
      return sendProblem(reply, {
        status,
        code: error.code,
        detail: status >= 500 ? 'the server could not complete the request' : error.message,
      });
    }
    const status = error.statusCode ?? 500;
    if (status < 500) {
      return sendProblem(reply, {
        status,
        code: frameworkCodes[error.code] ?? (status === 400 ? 'request.malformed' : `request.rejected`),
        detail: error.message,
      });
    }
    log(`error: ${request.method} ${request.url}: ${error.stack ?? error.message}`);
    return sendProblem(reply, { status: 500, code: 'internal', detail: 'the server could not complete the request' });
  };
}
