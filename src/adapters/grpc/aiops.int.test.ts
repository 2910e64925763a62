import { readFileSync } from 'node:fs';
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CairnError, isCairnError } from '../../../domain/errors.ts';
import { agenticStepRequest, analysisRequest, healthyFacts } from '../../../test/fixtures/analysis.fixtures.ts';
import {
  type AiServerProcess,
  secretFile,
  selfSignedCertificate,
  startAiServerProcess,
} from '../../../test/support/aiServer.ts';
import { eventually } from '../../../test/support/kube.ts';
import { createRulesAgenticProvider } from '../../analysis/agentic.ts';
import { createRulesProvider } from '../../analysis/rules.provider.ts';
import { type AiServerClient, AiServerHealth, createAiServerClient, isWaitingForServer } from './aiops.client.ts';
import { analyzeRequestToWire } from './aiops.mapping.ts';
import { AIOpsClient } from './aiops.proto.ts';

// An OOM-killed Deployment with a known limit: the rules provider raises the limit, with a fixed answer.
const request = analysisRequest(
  healthyFacts({ oomKilled: true, oomKilledContainers: ['app'], notReadyPods: 1, maxRestarts: 3 }),
  { signal: 'oom_kill', signals: ['oom_kill'] },
);

const tls = selfSignedCertificate();
const token = 'b7e1c0a4-cairn-test-token';
const tokenFile = secretFile(tls.dir, 'token', `${token}\n`);
const wrongTokenFile = secretFile(tls.dir, 'wrong-token', 'not-the-token');

const servers: AiServerProcess[] = [];
const clients: AiServerClient[] = [];
let plain: AiServerProcess;
let secure: AiServerProcess;
let slow: AiServerProcess;

const client = (options: Parameters<typeof createAiServerClient>[0]) => {
  const c = createAiServerClient({ healthIntervalMs: 500, maxReconnectBackoffMs: 1_000, ...options });
  clients.push(c);
  return c;
};

/** The failure of a promise, for asserting on what the operator would see. */
const failureOf = async (promise: Promise<unknown>): Promise<CairnError> => {
  try {
    await promise;
  } catch (error) {
    if (isCairnError(error)) return error;
    throw error;
  }
  throw new Error('the call succeeded');
};

/** A raw call, as another gRPC client (grpcurl, a Go operator) would make it. */
const rawAnalyze = (address: string, body: object, metadata = new grpc.Metadata()) =>
  new Promise<grpc.ServiceError | null>((resolve) => {
    const raw = new AIOpsClient(address, grpc.credentials.createInsecure());
    (raw as unknown as Record<string, grpc.requestCallback<unknown> & ((...a: unknown[]) => void)>).AnalyzeIssue!(
      body,
      metadata,
      { deadline: Date.now() + 10_000 },
      (error: grpc.ServiceError | null) => {
        raw.close();
        resolve(error);
      },
    );
  });

beforeAll(async () => {
  // Started side by side: each child compiles the CLI on start-up.
  [plain, secure, slow] = await Promise.all([
    startAiServerProcess(['--port', '0']),
    startAiServerProcess(['--port', '0', '--tls-cert', tls.cert, '--tls-key', tls.key, '--token-file', tokenFile]),
    startAiServerProcess(['--port', '0', '--analysis-delay', '3000']),
  ]);
  servers.push(plain, secure, slow);
});

afterAll(async () => {
  for (const c of clients) c.close();
  await Promise.all(servers.map((s) => s.stop('SIGKILL')));
});

describe('cairn server over plaintext', () => {
  it('answers AnalyzeIssue with the provider chain, as the in-process provider would', async () => {
    const ai = client({ address: plain.address });
    expect(await ai.provider.analyze(request)).toEqual(await createRulesProvider().analyze(request));
    await eventually('the health state to be SERVING', async () => ai.health().state === AiServerHealth.Serving);
  });

  it('refuses garbage with INVALID_ARGUMENT naming the field', async () => {
    const wire = analyzeRequestToWire(request);
    const error = await rawAnalyze(plain.address, { ...wire, severity: 'urgent' });
    expect(error?.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(error?.details).toMatch(/^severity: /);
    const empty = await rawAnalyze(plain.address, {});
    expect(empty?.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(empty?.details).toMatch(/^issueId: /);
  });

  it('answers AgenticStep with the step the in-process rules provider decides, history and budget included', async () => {
    const ai = client({ address: plain.address });
    const step = agenticStepRequest();
    const answer = await ai.provider.agenticStep(step);
    expect(answer).toEqual(await createRulesAgenticProvider().agenticStep(step));
    // The crash loop after a release, with a pod delete already tried: the rules roll the release back.
    expect(answer).toMatchObject({ decision: 'action', action: { type: 'RollbackDeployment' } });
    // Out of steps, the rules give up rather than act.
    const spent = await ai.provider.agenticStep({
      ...step,
      budget: { ...step.budget, remainingSteps: 0, remainingSeconds: 0 },
    });
    expect(spent).toEqual(
      await createRulesAgenticProvider().agenticStep({
        ...step,
        budget: { ...step.budget, remainingSteps: 0, remainingSeconds: 0 },
      }),
    );
  });

  it('answers GetAlerts (none without --watch) and refuses a malformed namespace', async () => {
    const ai = client({ address: plain.address });
    expect(await ai.getAlerts('shop')).toEqual([]);
    const error = await failureOf(ai.getAlerts('Not A Namespace'));
    expect(error.category).toBe('Validation');
    expect(error.message).toMatch(/namespace: "Not A Namespace" is not a namespace name/);
  });
});

describe('cairn server with TLS and a bearer token', () => {
  it('serves a client that trusts its certificate and sends the token', async () => {
    const ai = client({ address: secure.address, caFile: tls.cert, tokenFile });
    expect((await ai.provider.analyze(request)).provider).toBe('rules');
    expect((await ai.provider.agenticStep(agenticStepRequest())).provider).toBe('rules');
  });

  it('makes an Issue wait, saying why, when the token is wrong', async () => {
    const ai = client({ address: secure.address, caFile: tls.cert, tokenFile: wrongTokenFile });
    const error = await failureOf(ai.provider.analyze(request));
    expect(isWaitingForServer(error)).toBe(true);
    expect(error.details).toMatchObject({ cause: 'unauthenticated', server: secure.address });
    expect(error.message).toMatch(/refused the bearer token/);
  });

  it('answers UNAUTHENTICATED to a call without a token, and never leaks it', async () => {
    const noToken = new AIOpsClient(secure.address, grpc.credentials.createSsl(readFileSync(tls.cert)));
    const error = await new Promise<grpc.ServiceError | null>((resolve) =>
      (noToken as unknown as Record<string, (...a: unknown[]) => void>).AnalyzeIssue!(
        analyzeRequestToWire(request),
        new grpc.Metadata(),
        { deadline: Date.now() + 10_000 },
        (e: grpc.ServiceError | null) => resolve(e),
      ),
    );
    noToken.close();
    expect(error?.code).toBe(grpc.status.UNAUTHENTICATED);
    expect(secure.output()).not.toContain(token);
  });

  it('is unreachable to a plaintext client', async () => {
    const ai = client({ address: secure.address, tokenFile });
    const error = await failureOf(ai.provider.analyze(request));
    expect(isWaitingForServer(error)).toBe(true);
    expect(error.details).toMatchObject({ cause: 'unreachable' });
  });
});

describe('deadlines', () => {
  it('gives up on a slow server at the deadline, and the Issue waits', async () => {
    // The server takes 3 s: a client that waited for it would get an answer (failureOf throws on success), so
    // the Issue waiting on a timeout is the 500 ms deadline at work, not a stopwatch reading.
    const ai = client({ address: slow.address, analysisDeadlineMs: 500 });
    const error = await failureOf(ai.provider.analyze(request));
    expect(isWaitingForServer(error)).toBe(true);
    expect(error.details).toMatchObject({ cause: 'timeout' });
    expect(error.message).toMatch(/no answer within the deadline/);
    // The same server answers a caller that allows it the time.
    const patient = client({ address: slow.address, analysisDeadlineMs: 20_000 });
    expect((await patient.provider.analyze(request)).provider).toBe('rules');
  });
});

describe('a server that goes away and comes back', () => {
  it('is reported UNREACHABLE, then used again once it is back', async () => {
    const first = await startAiServerProcess(['--port', '0']);
    servers.push(first);
    const ai = client({ address: first.address });
    expect((await ai.provider.analyze(request)).provider).toBe('rules');

    expect(await first.stop('SIGKILL')).toBe('SIGKILL');
    const error = await failureOf(ai.provider.analyze(request));
    expect(isWaitingForServer(error)).toBe(true);
    expect(error.details).toMatchObject({ cause: 'unreachable', server: first.address });
    await eventually(
      'the health state to be UNREACHABLE',
      async () => ai.health().state === AiServerHealth.Unreachable,
    );

    const second = await startAiServerProcess(['--port', String(first.port)]);
    servers.push(second);
    await eventually('the client to use the server again', async () => {
      try {
        return (await ai.provider.analyze(request)).provider === 'rules';
      } catch (e) {
        if (isWaitingForServer(e)) return false;
        throw e;
      }
    });
    await eventually('the health state to be SERVING', async () => ai.health().state === AiServerHealth.Serving);
  });

  it('stops cleanly on SIGTERM', async () => {
    const server = await startAiServerProcess(['--port', '0']);
    servers.push(server);
    expect(await server.stop('SIGTERM')).toBe(0);
    expect(server.output()).toMatch(/AI server stopping/);
  });
});
