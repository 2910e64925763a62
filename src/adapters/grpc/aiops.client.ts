import { readFileSync } from 'node:fs';
import * as grpc from '@grpc/grpc-js';
import { service as healthService } from 'grpc-health-check';
import { CairnError, ErrorCategory } from '../../../domain/errors.ts';
import { AnalysisWaitCause } from '../../../domain/events/analysis.events.ts';
import type { AgenticProvider, AgenticStepResult } from '../../analysis/agentic.ts';
import { AnalysisErrorCode, type AnalysisProvider, type AnalysisResult } from '../../analysis/provider.ts';
import { redactSecrets } from '../../analysis/redaction.ts';
import { agenticRequestToWire, agenticResultFromWire } from './agentic.mapping.ts';
import { analyzeRequestToWire, analyzeResponseFromWire } from './aiops.mapping.ts';
import {
  AIOPS_SERVICE_NAME,
  AIOpsClient,
  type WireAgenticStepResponse,
  type WireAlertInfo,
  type WireAnalyzeIssueResponse,
  type WireGetAlertsResponse,
} from './aiops.proto.ts';
import { fromServiceError } from './grpcErrors.ts';

export const AiServerHealth = {
  Serving: 'SERVING',
  NotServing: 'NOT_SERVING',
  Unreachable: 'UNREACHABLE',
} as const;
export type AiServerHealth = (typeof AiServerHealth)[keyof typeof AiServerHealth];

export interface AiServerHealthReport {
  readonly state: AiServerHealth;
  readonly server: string;
  /** Why it is not serving, when it is not. */
  readonly detail?: string;
  /** When the state last changed (ISO-8601). */
  readonly since: string;
}

/** Why an analysis is waiting for the server, as recorded on the Issue. */
export const WaitingCause = AnalysisWaitCause;
type WaitingCause = AnalysisWaitCause;

export interface AiServerClientOptions {
  /** `host:port`. */
  readonly address: string;
  /** A file holding the bearer token; read again before every call, so a rotated token is picked up. */
  readonly tokenFile?: string;
  /** PEM CA bundle that signed the server's certificate; TLS is used when it is set. */
  readonly caFile?: string;
  /** Per AnalyzeIssue call. Default 60 s. */
  readonly analysisDeadlineMs?: number;
  /** Per GetAlerts and health call. Default 10 s. */
  readonly shortDeadlineMs?: number;
  /** How often the health service is asked. Default 5 s; 0 stops asking (calls still update the state). */
  readonly healthIntervalMs?: number;
  /** Longest pause between reconnection attempts. Default 5 s. */
  readonly maxReconnectBackoffMs?: number;
  readonly onHealthChange?: (report: AiServerHealthReport) => void;
  readonly now?: () => Date;
}

export interface AiServerClient {
  readonly address: string;
  /** The analysis and agentic ports, answered by the server's provider chain. */
  readonly provider: AnalysisProvider & AgenticProvider;
  getAlerts(namespace?: string): Promise<readonly WireAlertInfo[]>;
  /** For logs and readiness: the last thing known about the server. */
  health(): AiServerHealthReport;
  close(): void;
}

/** An analysis that cannot be had now but will be once the server answers again: the Issue waits. */
export const isWaitingForServer = (error: unknown): error is CairnError =>
  error instanceof CairnError && error.code === AnalysisErrorCode.Waiting;

type UnaryMethod<Res> = (
  request: object,
  metadata: grpc.Metadata,
  options: grpc.CallOptions,
  callback: (error: grpc.ServiceError | null, response?: Res) => void,
) => grpc.ClientUnaryCall;

/**
 * The operator's side of the AIOps protocol. grpc-js channels reconnect by themselves; the backoff is bounded so a
 * server that comes back is used within seconds. Calls fail fast while the server is unreachable, as a
 * "waiting" error the pipeline records on the Issue and retries.
 */
export function createAiServerClient(options: AiServerClientOptions): AiServerClient {
  const now = options.now ?? (() => new Date());
  const server = options.address;
  const readToken = () => (options.tokenFile ? readFileSync(options.tokenFile, 'utf8').trim() : undefined);
  let token = readToken();
  if (options.tokenFile && !token) throw new Error(`the token file ${options.tokenFile} is empty`);
  const credentials = options.caFile
    ? grpc.credentials.createSsl(readFileSync(options.caFile))
    : grpc.credentials.createInsecure();
  const channelOptions: grpc.ChannelOptions = {
    'grpc.initial_reconnect_backoff_ms': 250,
    'grpc.max_reconnect_backoff_ms': options.maxReconnectBackoffMs ?? 5_000,
    'grpc.max_receive_message_length': 16 * 1024 * 1024,
  };
  const client = new AIOpsClient(server, credentials, channelOptions);
  const Health = grpc.makeGenericClientConstructor(healthService, 'Health');
  const healthClient = new Health(server, credentials, { channelOverride: client.getChannel() });

  let report: AiServerHealthReport = {
    state: AiServerHealth.Unreachable,
    server,
    detail: 'not asked yet',
    since: now().toISOString(),
  };
  let known = false;
  const setHealth = (state: AiServerHealth, detail?: string) => {
    // The first answer (or silence) is worth reporting even when it matches the assumed starting state.
    const changed = state !== report.state || !known;
    known = true;
    report = { state, server, ...(detail ? { detail } : {}), since: changed ? now().toISOString() : report.since };
    if (changed) options.onHealthChange?.(report);
  };

  const metadata = () => {
    const m = new grpc.Metadata();
    try {
      token = readToken() || token;
    } catch {
      // A token file being rewritten is briefly unreadable: the last token read stays in use.
    }
    if (token) m.set('authorization', `Bearer ${token}`);
    return m;
  };

  const waiting = (cause: WaitingCause, reason: string, error?: unknown) =>
    new CairnError(
      AnalysisErrorCode.Waiting,
      ErrorCategory.Transient,
      `waiting for the AI server at ${server}: ${reason}`,
      {
        ...(error === undefined ? {} : { cause: error }),
        details: { server, cause, reason },
      },
    );

  /** A failed call as the error the caller handles; the health state learns from it too. */
  const failure = (error: grpc.ServiceError, signal?: AbortSignal): Error => {
    if (signal?.aborted) {
      return new CairnError(AnalysisErrorCode.Aborted, ErrorCategory.Transient, 'analysis was cancelled', {
        cause: error,
      });
    }
    const answered = fromServiceError(error, server);
    if (answered) {
      setHealth(AiServerHealth.Serving);
      return answered;
    }
    const detail = redactSecrets(error.details || error.message).slice(0, 500);
    switch (error.code) {
      case grpc.status.UNAVAILABLE:
        setHealth(AiServerHealth.Unreachable, detail);
        return waiting(WaitingCause.Unreachable, `unreachable (${detail})`, error);
      case grpc.status.UNAUTHENTICATED:
        return waiting(WaitingCause.Unauthenticated, `the server refused the bearer token (${detail})`, error);
      case grpc.status.DEADLINE_EXCEEDED:
        return waiting(WaitingCause.Timeout, `no answer within the deadline (${detail})`, error);
      default:
        return new CairnError(
          'grpc.call_failed',
          ErrorCategory.Internal,
          `the AI server at ${server} failed: ${grpc.status[error.code] ?? error.code} ${detail}`,
          {
            cause: error,
          },
        );
    }
  };

  const call = <Res>(name: string, request: object, deadlineMs: number, signal?: AbortSignal) =>
    new Promise<Res>((resolve, reject) => {
      const method = (client as unknown as Record<string, UnaryMethod<Res>>)[name]!.bind(client);
      const pending = method(request, metadata(), { deadline: Date.now() + deadlineMs }, (error, response) => {
        signal?.removeEventListener('abort', cancel);
        if (error) reject(failure(error, signal));
        else {
          setHealth(AiServerHealth.Serving);
          resolve(response as Res);
        }
      });
      const cancel = () => pending.cancel();
      signal?.addEventListener('abort', cancel, { once: true });
    });

  const checkHealth = () =>
    new Promise<void>((resolve) => {
      (healthClient as unknown as Record<string, UnaryMethod<{ status: string }>>).Check!(
        { service: AIOPS_SERVICE_NAME },
        new grpc.Metadata(),
        { deadline: Date.now() + (options.shortDeadlineMs ?? 10_000) },
        (error, response) => {
          if (error) setHealth(AiServerHealth.Unreachable, redactSecrets(error.details || error.message).slice(0, 500));
          else if (response?.status === 'SERVING') setHealth(AiServerHealth.Serving);
          else setHealth(AiServerHealth.NotServing, `the health service says ${response?.status ?? 'nothing'}`);
          resolve();
        },
      );
    });
  const interval = options.healthIntervalMs ?? 5_000;
  let timer: NodeJS.Timeout | undefined;
  let closed = false;
  const loop = () => {
    if (closed) return;
    void checkHealth().then(() => {
      if (!closed && interval > 0) timer = setTimeout(loop, interval);
    });
  };
  loop();

  const provider: AnalysisProvider & AgenticProvider = {
    name: `ai-server(${server})`,
    async analyze(request, callOptions = {}): Promise<AnalysisResult> {
      if (report.state === AiServerHealth.NotServing) {
        throw waiting(WaitingCause.NotServing, report.detail ?? 'the server is not serving');
      }
      const wire = await call<WireAnalyzeIssueResponse>(
        'AnalyzeIssue',
        analyzeRequestToWire(request),
        options.analysisDeadlineMs ?? 60_000,
        callOptions.signal,
      );
      return analyzeResponseFromWire(wire, server);
    },
    async agenticStep(request, callOptions = {}): Promise<AgenticStepResult> {
      if (report.state === AiServerHealth.NotServing) {
        throw waiting(WaitingCause.NotServing, report.detail ?? 'the server is not serving');
      }
      const wire = await call<WireAgenticStepResponse>(
        'AgenticStep',
        agenticRequestToWire(request),
        options.analysisDeadlineMs ?? 60_000,
        callOptions.signal,
      );
      return agenticResultFromWire(wire, server);
    },
  };

  return {
    address: server,
    provider,
    getAlerts: async (namespace = '') =>
      (await call<WireGetAlertsResponse>('GetAlerts', { namespace }, options.shortDeadlineMs ?? 10_000)).alerts,
    health: () => report,
    close: () => {
      closed = true;
      clearTimeout(timer);
      healthClient.close();
      client.close();
    },
  };
}
