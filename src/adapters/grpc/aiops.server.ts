import { createHash, timingSafeEqual } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import * as grpc from '@grpc/grpc-js';
import { HealthImplementation } from 'grpc-health-check';
import { CairnError, ErrorCategory } from '../../../domain/errors.ts';
import type { AgenticProvider } from '../../analysis/agentic.ts';
import type { AnalysisProvider } from '../../analysis/provider.ts';
import { agenticRequestFromWire, agenticResultToWire } from './agentic.mapping.ts';
import { analyzeRequestFromWire, analyzeResponseToWire, GrpcErrorCode } from './aiops.mapping.ts';
import {
  AIOPS_SERVICE_NAME,
  AIOpsService,
  type WireAgenticStepRequest,
  type WireAgenticStepResponse,
  type WireAnalyzeIssueRequest,
  type WireAnalyzeIssueResponse,
  type WireGetAlertsRequest,
  type WireGetAlertsResponse,
} from './aiops.proto.ts';
import type { AlertSource } from './alertBuffer.ts';
import { toServiceError } from './grpcErrors.ts';

export interface AiServerOptions {
  readonly host: string;
  /** 0 picks a free port; `RunningAiServer.port` says which. */
  readonly port: number;
  /** Answers every AnalyzeIssue and AgenticStep request: the provider chain. */
  readonly provider: AnalysisProvider & AgenticProvider;
  /** PEM certificate chain and private key; plaintext when absent. */
  readonly tls?: { readonly cert: Buffer; readonly key: Buffer };
  /** When set, every AIOps call must carry `authorization: Bearer <token>`. The health service stays open. */
  readonly token?: string;
  /** What GetAlerts answers; no alerts when absent. */
  readonly alerts?: AlertSource;
  /** Held before each analysis, to exercise clients' deadlines. */
  readonly analysisDelayMs?: number;
  readonly log?: (line: string) => void;
}

export interface RunningAiServer {
  readonly host: string;
  readonly port: number;
  /** Stops taking calls, lets running ones finish for up to `graceMs` (5 s), then cancels them. */
  stop(graceMs?: number): Promise<void>;
}

const NAMESPACE = /^([a-z0-9]([-a-z0-9]*[a-z0-9])?)?$/;
const digest = (text: string) => createHash('sha256').update(text).digest();

/** Compares digests, which have the same length whatever the token, so the time taken says nothing about it. */
export const bearerMatches = (header: unknown, token: string): boolean => {
  if (typeof header !== 'string') return false;
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  return timingSafeEqual(digest(match?.[1] ?? ''), digest(token)) && match !== null;
};

type Handler<Req, Res> = (request: Req, signal: AbortSignal) => Promise<Res>;

/**
 * `cairn server`'s gRPC side: the AIOps service over the provider chain, and the standard health service
 * (grpc.health.v1) for probes and for the operator's health state.
 */
export async function startAiServer(options: AiServerOptions): Promise<RunningAiServer> {
  const log = options.log ?? (() => {});
  const server = new grpc.Server();
  const health = new HealthImplementation({ '': 'SERVING', [AIOPS_SERVICE_NAME]: 'SERVING' });
  health.addToServer(server);

  const unary =
    <Req, Res>(method: string, handler: Handler<Req, Res>): grpc.handleUnaryCall<Req, Res> =>
    (call, callback) => {
      if (options.token !== undefined && !bearerMatches(call.metadata.get('authorization')[0], options.token)) {
        callback({ code: grpc.status.UNAUTHENTICATED, details: 'a valid bearer token is required' });
        return;
      }
      const controller = new AbortController();
      call.once('cancelled', () => controller.abort(new Error('the client cancelled the call')));
      handler(call.request, controller.signal).then(
        (response) => callback(null, response),
        (error: unknown) => {
          const failure = toServiceError(error);
          if (failure.code !== grpc.status.INVALID_ARGUMENT && !controller.signal.aborted) {
            log(`error: ${method}: ${error instanceof Error ? error.message : String(error)}`);
          }
          callback(failure);
        },
      );
    };

  server.addService(AIOpsService, {
    GetAlerts: unary<WireGetAlertsRequest, WireGetAlertsResponse>('GetAlerts', async (request) => {
      const namespace = request?.namespace ?? '';
      if (!NAMESPACE.test(namespace) || namespace.length > 63) {
        throw new CairnError(
          GrpcErrorCode.InvalidRequest,
          ErrorCategory.Validation,
          `namespace: "${namespace.slice(0, 80)}" is not a namespace name`,
        );
      }
      return { alerts: options.alerts ? [...options.alerts.list(namespace)] : [] };
    }),
    AnalyzeIssue: unary<WireAnalyzeIssueRequest, WireAnalyzeIssueResponse>('AnalyzeIssue', async (wire, signal) => {
      const request = analyzeRequestFromWire(wire);
      if (options.analysisDelayMs) await sleep(options.analysisDelayMs, undefined, { signal });
      const result = await options.provider.analyze(request, { signal });
      log(`analysed ${request.workload.kind}/${request.namespace}/${request.workload.name} with ${result.provider}`);
      return analyzeResponseToWire(result);
    }),
    AgenticStep: unary<WireAgenticStepRequest, WireAgenticStepResponse>('AgenticStep', async (wire, signal) => {
      const request = agenticRequestFromWire(wire);
      if (options.analysisDelayMs) await sleep(options.analysisDelayMs, undefined, { signal });
      const result = await options.provider.agenticStep(request, { signal });
      log(
        `agentic step ${request.budget.step}/${request.budget.maxSteps} for ${request.workload.kind}/${request.namespace}/${request.workload.name}: ${result.decision} (${result.provider})`,
      );
      return agenticResultToWire(result);
    }),
  });

  const credentials = options.tls
    ? grpc.ServerCredentials.createSsl(null, [{ cert_chain: options.tls.cert, private_key: options.tls.key }], false)
    : grpc.ServerCredentials.createInsecure();
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync(
      `${options.host.includes(':') ? `[${options.host}]` : options.host}:${options.port}`,
      credentials,
      (error, bound) =>
        error
          ? reject(new Error(`cannot listen on ${options.host}:${options.port}: ${error.message}`, { cause: error }))
          : resolve(bound),
    ),
  );

  let stopping: Promise<void> | undefined;
  return {
    host: options.host,
    port,
    stop: (graceMs = 5_000) => {
      stopping ??= new Promise<void>((resolve) => {
        health.setStatus('', 'NOT_SERVING');
        health.setStatus(AIOPS_SERVICE_NAME, 'NOT_SERVING');
        const force = setTimeout(() => {
          server.forceShutdown();
          resolve();
        }, graceMs);
        server.tryShutdown(() => {
          clearTimeout(force);
          resolve();
        });
      });
      return stopping;
    },
  };
}
