/**
 * The `fetch` the CLI's client talks to the daemon with (daemon/connection.ts): node:http, with
 * the answer's body streamed. Node's own fetch is undici, which a process loads on its first
 * request: about 40 ms of a `tinyagi status` that takes ~110 ms without it (its module, its HTTP
 * parser compiled from WebAssembly; docs/benchmarks.md, B18). Only what @tinyagi/client uses
 * of a fetch Response is here: `ok`, `status`, `statusText`, `headers.get`, `text()`, `json()`
 * and `body` (a web ReadableStream, for the event stream); no global `Response` or `Headers`,
 * which would load undici too. An https: URL (a TINYAGI_API_URL behind TLS) goes to the global
 * fetch. Unlike undici it sets no 300 s limit on the answer: the caller's AbortSignal ends a
 * request, as it does a fetch.
 */
import type { ClientRequest, IncomingMessage, RequestOptions } from 'node:http';
import { createRequire } from 'node:module';
import { Readable } from 'node:stream';

// Required on the first request, not imported: an ES module import of node:http reads every
// export of it, and its `WebSocket` getter loads undici (as in scripts/bundle.mjs, for the trace
// export); a command that never calls the daemon does not load node:http at all.
let http: typeof import('node:http') | undefined;
function request(url: URL, options: RequestOptions, onResponse: (res: IncomingMessage) => void): ClientRequest {
  http ??= createRequire(import.meta.url)('node:http') as typeof import('node:http');
  return http.request(url, options, onResponse);
}

interface Init {
  method?: string;
  headers?: Record<string, string>;
  body?: string;
  signal?: AbortSignal | null;
}

/** The parts of a fetch Response the client reads. */
class HttpResponse {
  readonly ok: boolean;
  readonly status: number;
  readonly statusText: string;
  readonly headers: { get(name: string): string | null };
  private readonly res: IncomingMessage;
  #stream: ReadableStream<Uint8Array> | undefined;

  constructor(res: IncomingMessage) {
    this.res = res;
    this.status = res.statusCode ?? 0;
    this.ok = this.status >= 200 && this.status < 300;
    this.statusText = res.statusMessage ?? '';
    this.headers = {
      get: (name) => {
        const value = res.headers[name.toLowerCase()];
        return value === undefined ? null : Array.isArray(value) ? value.join(', ') : value;
      },
    };
  }

  get body(): ReadableStream<Uint8Array> {
    this.#stream ??= Readable.toWeb(this.res) as ReadableStream<Uint8Array>;
    return this.#stream;
  }

  text(): Promise<string> {
    return new Promise((resolve, reject) => {
      const chunks: Buffer[] = [];
      this.res.on('data', (chunk: Buffer) => chunks.push(chunk));
      this.res.once('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
      this.res.once('error', reject);
      // Closed before its end (the daemon went away, or the request was aborted).
      this.res.once('close', () => {
        if (!this.res.complete) reject(new Error('terminated: the connection closed before the answer was complete'));
      });
    });
  }

  async json(): Promise<unknown> {
    return JSON.parse(await this.text()) as unknown;
  }
}

export const httpFetch = ((input: string | URL, init: Init = {}): Promise<HttpResponse> => {
  const url = new URL(String(input));
  if (url.protocol !== 'http:') return globalThis.fetch(input, init as RequestInit) as unknown as Promise<HttpResponse>;
  return new Promise((resolve, reject) => {
    const req = request(url, { method: init.method ?? 'GET', headers: init.headers ?? {}, ...(init.signal ? { signal: init.signal } : {}) }, (res) => resolve(new HttpResponse(res)));
    req.once('error', reject);
    req.end(init.body);
  });
}) as unknown as typeof fetch;
