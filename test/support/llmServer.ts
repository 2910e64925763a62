import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A local HTTP server that answers like a model provider: OpenAI's `POST /v1/chat/completions` and Anthropic's
 * `POST /v1/messages`. Each test scripts its replies in order (a status with a body, a delay, a socket that never
 * answers) and reads back every request exactly as it arrived, headers and body bytes included.
 */

export interface RecordedRequest {
  readonly method: string;
  readonly path: string;
  /** Header names lower-cased, values as sent. */
  readonly headers: Readonly<Record<string, string>>;
  /** The raw header lines, names and values as received. */
  readonly rawHeaders: readonly string[];
  readonly body: string;
  /** The body as JSON when it is JSON. */
  readonly json: unknown;
}

export type ScriptedReply =
  | {
      readonly status?: number;
      readonly headers?: Readonly<Record<string, string>>;
      /** Sent as application/json. */
      readonly json?: unknown;
      /** Sent as is, with `contentType` (default text/plain). */
      readonly text?: string;
      readonly contentType?: string;
      readonly delayMs?: number;
    }
  | { readonly hang: true };

export interface LlmServer {
  /** `http://127.0.0.1:<port>` */
  readonly origin: string;
  readonly requests: RecordedRequest[];
  /** Replies for the next requests, in order; once they run out, `fallback` answers. */
  script(...replies: ScriptedReply[]): void;
  /** A fixed reply, or one chosen from the request (for tests whose requests arrive concurrently, in any order). */
  fallback(reply: ScriptedReply | ((request: RecordedRequest) => ScriptedReply)): void;
  /** Forgets the requests and the replies not yet used, and answers 500 until told otherwise. */
  reset(): void;
  close(): Promise<void>;
}

const readBody = (request: IncomingMessage) =>
  new Promise<string>((resolve, reject) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    request.on('error', reject);
  });

const tryJson = (text: string): unknown => {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
};

export async function startLlmServer(): Promise<LlmServer> {
  const requests: RecordedRequest[] = [];
  const queue: ScriptedReply[] = [];
  const unscripted: ScriptedReply = { status: 500, json: { error: { message: 'no reply scripted' } } };
  let fallback: ScriptedReply | ((request: RecordedRequest) => ScriptedReply) = unscripted;
  const hanging = new Set<ServerResponse>();

  const server = createServer(async (request, response) => {
    const body = await readBody(request);
    const headers: Record<string, string> = {};
    for (const [key, value] of Object.entries(request.headers))
      headers[key] = Array.isArray(value) ? value.join(', ') : (value ?? '');
    const recorded: RecordedRequest = {
      method: request.method ?? '',
      path: request.url ?? '',
      headers,
      rawHeaders: [...request.rawHeaders],
      body,
      json: tryJson(body),
    };
    requests.push(recorded);
    const reply = queue.shift() ?? (typeof fallback === 'function' ? fallback(recorded) : fallback);
    if ('hang' in reply) {
      hanging.add(response);
      return;
    }
    if (reply.delayMs) await new Promise((resolve) => setTimeout(resolve, reply.delayMs));
    const payload = reply.json !== undefined ? JSON.stringify(reply.json) : (reply.text ?? '');
    response.writeHead(reply.status ?? 200, {
      'content-type': reply.json !== undefined ? 'application/json' : (reply.contentType ?? 'text/plain'),
      ...reply.headers,
    });
    response.end(payload);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    origin: `http://127.0.0.1:${port}`,
    requests,
    script: (...replies) => queue.push(...replies),
    fallback: (reply) => {
      fallback = reply;
    },
    reset: () => {
      requests.length = 0;
      queue.length = 0;
      fallback = unscripted;
    },
    close: async () => {
      for (const response of hanging) response.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** A port nothing listens on (bound, then released), for "connection refused". */
export async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** A chat-completions body whose first choice says `content`. */
export const openAiCompletion = (content: string | null, model = 'gpt-test-1') => ({
  id: 'chatcmpl-test',
  object: 'chat.completion',
  created: 1_767_225_600,
  model,
  choices: [
    { index: 0, message: { role: 'assistant', content, refusal: null }, finish_reason: 'stop', logprobs: null },
  ],
  usage: { prompt_tokens: 100, completion_tokens: 50, total_tokens: 150 },
});

/** OpenAI's error body. */
export const openAiError = (message: string, type = 'invalid_request_error', code: string | null = null) => ({
  error: { message, type, param: null, code },
});

/** A Messages API body: the forced tool called with `input`, or plain text blocks. */
export const anthropicMessage = (
  answer: { readonly toolInput: unknown } | { readonly text: string },
  model = 'claude-test-1',
) => ({
  id: 'msg_test',
  type: 'message',
  role: 'assistant',
  model,
  content:
    'toolInput' in answer
      ? [{ type: 'tool_use', id: 'toolu_test', name: 'submit_answer', input: answer.toolInput }]
      : [{ type: 'text', text: answer.text }],
  stop_reason: 'toolInput' in answer ? 'tool_use' : 'end_turn',
  stop_sequence: null,
  usage: { input_tokens: 100, output_tokens: 50 },
});

/** Anthropic's error body. */
export const anthropicError = (type: string, message: string) => ({ type: 'error', error: { type, message } });
