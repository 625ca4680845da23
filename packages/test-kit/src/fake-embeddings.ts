/**
 * A fake OpenAI-compatible embeddings endpoint on a loopback port, written from OpenAI's API
 * reference for `POST /v1/embeddings`: the request is `{ model, input: string | string[],
 * encoding_format?: 'float' | 'base64', dimensions?, user? }` (an input may not be empty, at most
 * 2048 inputs); the answer is `{ object: 'list', data: [{ object: 'embedding', index, embedding }],
 * model, usage: { prompt_tokens, total_tokens } }`; errors are `{ error: { message, type, param,
 * code } }` with a 4xx/5xx status (401 without a valid `Authorization: Bearer` key).
 *
 * Vectors are deterministic: a hashed bag of words (lower-cased, a plural's `s` dropped) over
 * `dimensions` (default 64) buckets, after a small synonym table maps words of one meaning to one
 * word ("postgresql", "postgres" and "sql" count as "database"), so a test can show an entry that
 * full-text search misses found by meaning. `down()` makes it answer 503; `hang()` never answers.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

const SYNONYMS: Record<string, string> = {
  postgresql: 'database',
  postgres: 'database',
  sql: 'database',
  db: 'database',
  databases: 'database',
  car: 'vehicle',
  automobile: 'vehicle',
  deploy: 'release',
  ship: 'release',
  shipping: 'release',
};

export interface EmbeddingsRequestSeen {
  model: string;
  input: string[];
  dimensions: number | undefined;
  authorization: string | undefined;
}

export interface FakeEmbeddings {
  /** The base URL to configure (`http://127.0.0.1:<port>/v1`). */
  baseUrl: string;
  requests: EmbeddingsRequestSeen[];
  /** Answer 503 to every request from now on. */
  down(): void;
  /** Never answer (a request runs into the client's deadline). */
  hang(): void;
  /** Answer normally again. */
  up(): void;
  /** The vector the fake gives a text (for tests that compare). */
  vectorOf(text: string, dimensions?: number): number[];
  close(): Promise<void>;
}

export interface FakeEmbeddingsOptions {
  /** When set, requests must carry `Authorization: Bearer <apiKey>`. */
  apiKey?: string;
  /** Inputs refused with 400 (as a model's context limit does). */
  refuse?: (input: string) => boolean;
}

function words(text: string): string[] {
  return (text.toLowerCase().match(/[a-z0-9]+/g) ?? []).map((w) => SYNONYMS[w] ?? SYNONYMS[w.replace(/s$/, '')] ?? w.replace(/s$/, ''));
}

function hash(word: string): number {
  let h = 2166136261;
  for (let i = 0; i < word.length; i++) h = Math.imul(h ^ word.charCodeAt(i), 16777619);
  return h >>> 0;
}

export function fakeVector(text: string, dimensions = 64): number[] {
  const v = new Array<number>(dimensions).fill(0);
  for (const w of words(text)) v[hash(w) % dimensions]! += 1;
  const norm = Math.sqrt(v.reduce((s, x) => s + x * x, 0)) || 1;
  return v.map((x) => x / norm);
}

function send(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
}

function invalid(res: ServerResponse, message: string, param: string | null): void {
  send(res, 400, { error: { message, type: 'invalid_request_error', param, code: null } });
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return JSON.parse(Buffer.concat(chunks).toString('utf8'));
}

export async function startFakeEmbeddings(options: FakeEmbeddingsOptions = {}): Promise<FakeEmbeddings> {
  let mode: 'up' | 'down' | 'hang' = 'up';
  const requests: EmbeddingsRequestSeen[] = [];
  const server: Server = createServer((req, res) => void handle(req, res));
  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (req.method !== 'POST' || req.url !== '/v1/embeddings')
      return send(res, 404, { error: { message: `Unknown request URL: ${req.method} ${req.url}`, type: 'invalid_request_error', param: null, code: 'unknown_url' } });
    let body: { model?: unknown; input?: unknown; dimensions?: unknown; encoding_format?: unknown };
    try {
      body = (await readJson(req)) as typeof body;
    } catch {
      return invalid(res, 'We could not parse the JSON body of your request.', null);
    }
    const input = typeof body.input === 'string' ? [body.input] : body.input;
    const dimensions = typeof body.dimensions === 'number' ? body.dimensions : undefined;
    requests.push({ model: String(body.model), input: Array.isArray(input) ? input.map(String) : [], dimensions, authorization: req.headers.authorization });
    if (mode === 'hang') return;
    if (mode === 'down') return send(res, 503, { error: { message: 'The server is overloaded or not ready yet.', type: 'server_error', param: null, code: null } });
    if (options.apiKey !== undefined && req.headers.authorization !== `Bearer ${options.apiKey}`) {
      return send(res, 401, { error: { message: 'Incorrect API key provided.', type: 'invalid_request_error', param: null, code: 'invalid_api_key' } });
    }
    if (typeof body.model !== 'string' || body.model === '') return invalid(res, 'you must provide a model parameter', 'model');
    if (!Array.isArray(input) || input.length === 0 || input.length > 2048 || !input.every((s) => typeof s === 'string' && s !== '')) {
      return invalid(res, "'input' must be a non-empty string or an array of at most 2048 non-empty strings", 'input');
    }
    if (body.encoding_format !== undefined && body.encoding_format !== 'float' && body.encoding_format !== 'base64')
      return invalid(res, "'encoding_format' must be 'float' or 'base64'", 'encoding_format');
    if (body.encoding_format === 'base64') return invalid(res, 'this fake answers float vectors only', 'encoding_format');
    const refused = (input as string[]).find((s) => options.refuse?.(s));
    if (refused !== undefined) return invalid(res, "This model's maximum context length is 8192 tokens, however you requested more.", 'input');
    const tokens = (input as string[]).reduce((n, s) => n + words(s).length, 0);
    send(res, 200, {
      object: 'list',
      data: (input as string[]).map((s, index) => ({ object: 'embedding', index, embedding: fakeVector(s, dimensions) })),
      model: body.model,
      usage: { prompt_tokens: tokens, total_tokens: tokens },
    });
  }
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    baseUrl: `http://127.0.0.1:${port}/v1`,
    requests,
    down() {
      mode = 'down';
    },
    hang() {
      mode = 'hang';
    },
    up() {
      mode = 'up';
    },
    vectorOf: (text, dimensions) => fakeVector(text, dimensions),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
