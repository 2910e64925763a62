import type { CoreV1Event, V1Deployment, V1Pod } from '@kubernetes/client-node';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { analysisRequest, healthyFacts } from '../../../test/fixtures/analysis.fixtures.ts';
import {
  envCases,
  keepCases,
  knownValueCases,
  leakCases,
  plantedSecrets,
  type Surface,
} from '../../../test/fixtures/redaction.corpus.ts';
import {
  anthropicMessage,
  type LlmServer,
  openAiCompletion,
  type RecordedRequest,
  startLlmServer,
} from '../../../test/support/llmServer.ts';
import { createAiServerClient } from '../../adapters/grpc/aiops.client.ts';
import { startAiServer } from '../../adapters/grpc/aiops.server.ts';
import { runEnrichers } from '../../enrichers/enricher.ts';
import { renderKubernetesContext } from '../../enrichers/kubernetesContext.render.ts';
import type { AgenticProvider, AgenticStepRequest } from '../agentic.ts';
import type { AnalysisProvider, AnalysisRequest } from '../provider.ts';
import { createAnthropicProvider } from './anthropic.provider.ts';
import { createOpenAiProvider } from './openai.provider.ts';
import { withSecretValuesRedacted } from './secretValues.provider.ts';

// The proof that redaction holds end to end: secrets planted in every part of a request, sent through both
// adapters to servers that record every byte, and not one of them arrives. Only the provider's own key may.

const KEY = 'sk-provider-own-key-0123456789abcdefgh';

const secrets = {
  bearer: 'eyTokBearerPlanted0a1b2c3d4e5f',
  envPassword: 'Hunter2EnvPlanted',
  yamlPassword: 'YamlPwPlanted42',
  jsonPassword: 'JsonPwPlanted43',
  connection: 'PgConnPlanted99',
  aws: 'AKIAPLANTED12345678Z',
  awsSecret: 'wJalrPlantedSecretKey/K7MDENG/bPxRfiCYEXAMPLEKEY',
  privateKey: 'MIIEpPlantedPrivateKeyMaterialQ2xv',
  logApiKey: 'ak_planted_7f3e9d2c1b0a',
  rotated: 'RotatedValuePlanted77',
  registry: 'RegistryPwPlanted55',
  insight: 'InsightTokenPlanted31',
} as const;

const privateKeyBlock = `-----BEGIN RSA PRIVATE KEY-----\n${secrets.privateKey}\nAbCdEfGhIjKlMnOpQrStUvWxYz012345\n-----END RSA PRIVATE KEY-----`;

const plantedText = (where: string) =>
  [
    `${where}: Authorization: Bearer ${secrets.bearer}`,
    `${where}: postgres://app:${secrets.connection}@db.shop:5432/orders`,
    `${where}: key ${secrets.aws} rejected`,
  ].join('\n');

/** Enricher output as the enrichers return it, before runEnrichers bounds and redacts it. */
const rawSections = [
  {
    enricher: 'logs',
    title: `Logs (token=${secrets.bearer})`,
    text: [
      '2026-01-01T12:00:00Z INFO starting',
      `2026-01-01T12:00:01Z DEBUG request headers: {"x-api-key": "${secrets.logApiKey}", "accept": "json"}`,
      `2026-01-01T12:00:01Z DEBUG calling with api_key=${secrets.logApiKey}`,
      `2026-01-01T12:00:02Z ERROR loaded key:\n${privateKeyBlock}`,
      '2026-01-01T12:00:03Z ERROR pod spec dump:',
      '  env:',
      '  - name: DB_PASSWORD',
      `    value: ${secrets.yamlPassword}`,
      `  [{"name":"ADMIN_PASSWORD","value":"${secrets.jsonPassword}"}]`,
      `  aws_secret_access_key = ${secrets.awsSecret}`,
      plantedText('log'),
    ].join('\n'),
    facts: {
      criticalLines: [`Bearer ${secrets.bearer}`, `postgres://u:${secrets.connection}@h/db`],
      password: secrets.envPassword,
    },
  },
  {
    enricher: 'metrics',
    title: 'Metrics',
    text: 'metrics: not available',
    unavailable: `Prometheus at https://prom:${secrets.connection}@prometheus:9090 refused ${secrets.aws}`,
  },
];

const plantedRequest = async (): Promise<AnalysisRequest> => {
  const facts = healthyFacts({
    containers: [
      {
        name: 'app',
        image: `https://robot:${secrets.registry}@registry.local/shop/web:1.0.0`,
        memoryLimit: '128Mi',
      },
    ],
  });
  const enricher = (section: (typeof rawSections)[number]) => ({
    name: section.enricher,
    enrich: async () => section,
  });
  return analysisRequest(facts, {
    description: plantedText('description'),
    sections: await runEnrichers(rawSections.map(enricher), {
      issueId: 'i',
      workload: { kind: 'Deployment', name: 'web', namespace: 'shop' },
      signal: 'crashloop',
      signals: ['crashloop'],
      detectedAt: '2026-01-01T12:00:00Z',
    }),
    previousFailures: [
      {
        remediationId: 'rem-1',
        attempt: 1,
        outcome: 'failed',
        reason: plantedText('reason'),
        attemptedActions: [{ type: 'RotateSecret', params: { secret: 'db', key: 'password', value: secrets.rotated } }],
        failedAction: {
          type: 'RotateSecret',
          params: { secret: 'db', key: 'password', value: secrets.rotated },
          error: `refused: PGPASSWORD=${secrets.envPassword}`,
        },
        observations: [plantedText('observation'), `DB_PASSWORD=${secrets.envPassword}`],
      },
    ],
    doNotRepeat: [`RotateSecret(key=password,secret=db,value=${secrets.rotated})`],
  });
};

const withContext = (request: AnalysisRequest): AnalysisRequest => ({
  ...request,
  context: {
    ...request.context,
    text: [
      'Deployment shop/web: 2 desired, 1 ready',
      `  app image https://robot:${secrets.registry}@registry.local/shop/web:1.0.0`,
      `    env: LOG_LEVEL=info DB_PASSWORD=${secrets.envPassword} DATABASE_URL=postgres://app:${secrets.connection}@db/shop`,
      `    command: app --token ${secrets.bearer}`,
      plantedText('context'),
    ].join('\n'),
  },
});

const agentic = (request: AnalysisRequest): AgenticStepRequest => ({
  ...request,
  remediationId: 'rem-2',
  insight: {
    analysis: `the service token ${secrets.insight} leaked? Authorization: Bearer ${secrets.bearer}`,
    confidence: 0.5,
    recommendations: [],
    provider: 'openai',
    model: 'm',
  },
  history: [
    {
      step: 1,
      reasoning: plantedText('reasoning'),
      action: { type: 'RotateSecret', params: { secret: 'db', key: 'password', value: secrets.rotated } },
      outcome: 'failed',
      result: `error: password=${secrets.envPassword}`,
      observation: plantedText('observation'),
    },
  ],
  budget: { step: 2, maxSteps: 5, remainingSteps: 3, remainingSeconds: 200 },
  availableActions: [{ type: 'RestartDeployment', description: 'restart', destructive: false, params: {} }],
});

/** Every byte the server saw, except the value of the provider's own auth header. */
const everythingSent = (requests: readonly RecordedRequest[]) =>
  requests
    .map((r) => {
      const headers = [];
      for (let i = 0; i < r.rawHeaders.length; i += 2) {
        const name = r.rawHeaders[i]?.toLowerCase() ?? '';
        const value = r.rawHeaders[i + 1] ?? '';
        headers.push(`${name}: ${name === 'authorization' || name === 'x-api-key' ? '(provider key)' : value}`);
      }
      return `${r.method} ${r.path}\n${headers.join('\n')}\n\n${r.body}`;
    })
    .join('\n');

const answer = { analysis: 'ok', confidence: 0.5, recommendations: [], actions: [] };
const step = { decision: 'observe', reasoning: 'ok', confidence: 0.5 };

describe('no planted secret reaches a provider', () => {
  let server: LlmServer;
  beforeAll(async () => {
    server = await startLlmServer();
  });
  afterAll(() => server.close());
  beforeEach(() => server.reset());

  const adapters = [
    {
      name: 'openai',
      create: () => createOpenAiProvider({ baseUrl: `${server.origin}/v1`, model: 'm', apiKey: KEY }),
      replies: () =>
        server.script(
          { json: openAiCompletion(JSON.stringify(answer)) },
          { json: openAiCompletion(JSON.stringify(step)) },
        ),
    },
    {
      name: 'anthropic',
      create: () => createAnthropicProvider({ baseUrl: server.origin, model: 'm', apiKey: KEY }),
      replies: () =>
        server.script(
          { json: anthropicMessage({ toolInput: answer }) },
          { json: anthropicMessage({ toolInput: step }) },
        ),
    },
  ];

  for (const adapter of adapters) {
    it(`through the ${adapter.name} adapter, in analyses and agentic steps`, async () => {
      adapter.replies();
      const request = withContext(await plantedRequest());
      // Sections may also travel whole (to the AI server over gRPC): their title, reason and facts are clean too.
      for (const secret of Object.values(secrets)) expect(JSON.stringify(request.sections)).not.toContain(secret);
      const provider = adapter.create();
      await provider.analyze(request);
      await provider.agenticStep(agentic(request));
      expect(server.requests).toHaveLength(2);
      const sent = everythingSent(server.requests);
      // The request really carried the planted parts (redacted), so the absence below means something.
      for (const marker of [
        'description:',
        'context:',
        'reason:',
        'observation:',
        'reasoning:',
        'log:',
        'RotateSecret',
      ])
        expect(sent).toContain(marker);
      expect(sent).toContain('[REDACTED]');
      for (const [what, secret] of Object.entries(secrets)) expect(sent, `${what} leaked`).not.toContain(secret);
      // The key travels only in the auth header.
      expect(sent).not.toContain(KEY);
      const auth = server.requests.map((r) => r.headers.authorization ?? r.headers['x-api-key'] ?? '');
      for (const header of auth) expect(header).toContain(KEY);
    });
  }
});

// The corpus on the wire: every secret of test/fixtures/redaction.corpus.ts planted where it would travel in a
// real analysis (env values in the pod template, args, Events, container messages, logs, the Issue's description),
// sent through each adapter, and looked for in the raw bodies the model server received.
describe('no corpus secret reaches a provider', () => {
  let server: LlmServer;
  beforeAll(async () => {
    server = await startLlmServer();
  });
  afterAll(() => server.close());
  beforeEach(() => server.reset());

  const at = (where: Surface) => [
    ...leakCases.filter((c) => c.where === where).map((c) => c.text),
    ...knownValueCases.filter((c) => c.where === where).map((c) => c.text),
    ...keepCases.filter((c) => c.where === where).map((c) => c.text),
  ];
  const ref = { kind: 'Deployment', name: 'web', namespace: 'shop' } as const;

  const context = () => {
    const template = {
      metadata: { labels: { app: 'web' } },
      spec: {
        // One container per argument line, so none is cut to fit the container's line.
        containers: at('arg').map((arg, i) => ({
          name: `c${i}`,
          image: 'registry.local/shop/web:1.0.0',
          args: [arg],
          env: envCases.map(({ name, value }) => ({ name, value })),
        })),
      },
    };
    const object: V1Deployment = {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: {
        name: 'web',
        namespace: 'shop',
        uid: 'd1',
        annotations: { 'deployment.kubernetes.io/revision': '1' },
      },
      spec: { replicas: 1, selector: { matchLabels: { app: 'web' } }, template },
      status: { replicas: 1, readyReplicas: 0 },
    };
    // One container status per message: a pod shows each on its own line.
    const pods: V1Pod[] = [
      {
        metadata: { name: 'web-5d9c7b8f6-p0', namespace: 'shop', labels: { app: 'web' } },
        spec: { containers: [] },
        status: {
          phase: 'Running',
          containerStatuses: at('message').map((message, i) => ({
            name: `c${i}`,
            image: 'registry.local/shop/web:1.0.0',
            imageID: '',
            ready: false,
            restartCount: 9,
            state: { waiting: { reason: 'CrashLoopBackOff', message } },
          })),
        },
      },
    ];
    const events: CoreV1Event[] = at('event').map((message, i) => ({
      metadata: { name: `web.${i}`, namespace: 'shop' },
      involvedObject: { kind: 'Deployment', name: 'web', namespace: 'shop' },
      reason: 'Failed',
      type: 'Warning',
      message,
      lastTimestamp: new Date(Date.UTC(2026, 0, 1, 12, 0, i)),
    }));
    // Room for everything: this test is about what the redaction lets through, not about the size bound.
    return renderKubernetesContext({ ref, object, pods, events, notes: [] }, { maxChars: 100_000 });
  };

  const request = async (): Promise<AnalysisRequest> => {
    const sections = await runEnrichers(
      [{ name: 'logs', enrich: async () => ({ enricher: 'logs', title: 'Logs', text: at('log').join('\n') }) }],
      { issueId: 'i', workload: ref, signal: 'crashloop', signals: ['crashloop'], detectedAt: '2026-01-01T12:00:00Z' },
      { maxChars: 100_000 },
    );
    const rendered = context();
    return {
      ...analysisRequest(rendered.facts, { description: at('annotation').join('\n'), sections }),
      context: rendered,
    };
  };

  const knownValues = async () => knownValueCases.map((c) => c.value);

  const bodies = (requests: readonly RecordedRequest[]) => {
    const raw = requests.map((r) => r.body).join('\n');
    // The model reads the decoded JSON: a secret must be absent there too, not only in its escaped form.
    const decoded = requests.map((r) => JSON.stringify(JSON.parse(r.body), null, 0)).join('\n');
    const texts: string[] = [];
    const walk = (value: unknown) => {
      if (typeof value === 'string') texts.push(value);
      else if (Array.isArray(value)) value.forEach(walk);
      else if (value !== null && typeof value === 'object') Object.values(value).forEach(walk);
    };
    for (const r of requests) walk(JSON.parse(r.body));
    return { raw, decoded, text: texts.join('\n') };
  };

  const paths = [
    {
      name: 'the openai adapter',
      provider: () => createOpenAiProvider({ baseUrl: `${server.origin}/v1`, model: 'm', apiKey: KEY }),
      replies: () =>
        server.script(
          { json: openAiCompletion(JSON.stringify(answer)) },
          { json: openAiCompletion(JSON.stringify(step)) },
        ),
    },
    {
      name: 'the anthropic adapter',
      provider: () => createAnthropicProvider({ baseUrl: server.origin, model: 'm', apiKey: KEY }),
      replies: () =>
        server.script(
          { json: anthropicMessage({ toolInput: answer }) },
          { json: anthropicMessage({ toolInput: step }) },
        ),
    },
  ];

  const check = async (provider: AnalysisProvider & AgenticProvider) => {
    const redacting = withSecretValuesRedacted(provider, knownValues);
    const req = await request();
    await redacting.analyze(req);
    await redacting.agenticStep(agentic(req));
    expect(server.requests).toHaveLength(2);
    const sent = bodies(server.requests);
    // The planted parts were sent (redacted), so the absence below means something.
    for (const c of envCases) expect(sent.text).toContain(`${c.name}=`);
    for (const c of envCases.filter((e) => e.shown)) expect(sent.text).toContain(`${c.name}=${c.value}`);
    for (const c of keepCases) expect(sent.text, `${c.what} was altered`).toContain(c.text);
    const leaked = plantedSecrets().filter((secret) => sent.raw.includes(secret) || sent.text.includes(secret));
    expect(leaked).toEqual([]);
  };

  for (const path of paths) {
    it(`through ${path.name}, in analyses and agentic steps`, async () => {
      path.replies();
      await check(path.provider());
    });
  }

  it('through the AI server (gRPC) and its openai adapter', async () => {
    const ai = await startAiServer({
      host: '127.0.0.1',
      port: 0,
      provider: createOpenAiProvider({ baseUrl: `${server.origin}/v1`, model: 'm', apiKey: KEY }),
    });
    const client = createAiServerClient({ address: `127.0.0.1:${ai.port}`, healthIntervalMs: 0 });
    try {
      paths[0]?.replies();
      await check(client.provider);
    } finally {
      client.close();
      await ai.stop(0);
    }
  });
});
