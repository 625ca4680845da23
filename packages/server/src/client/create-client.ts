/**
 * The typed API client: one method per route of the contract (same names as the OpenAPI
 * operationIds), inputs and outputs typed from the shared zod schemas, failures thrown as
 * ApiError with the server's code. Uses `fetch` only, so it runs in Node, browsers and workers.
 */
import type { z } from 'zod';
import type { ApiErrorCode } from '../errors.ts';
import { apiContract, type ApiContract, type RouteName } from '../schemas/contract.ts';
import type { RouteDef } from '../schemas/route.ts';
import { EVENTS_PATH } from '../schemas/events.ts';
import type { EventView } from '../schemas/records.ts';
import { ApiError } from './api-error.ts';
import { SseParser } from './sse-parser.ts';

type ParamsInput<D> = D extends { params: infer P extends z.ZodType } ? { params: z.input<P> } : unknown;
type QueryInput<D> = D extends { query: infer Q extends z.ZodType } ? ({} extends z.input<Q> ? { query?: z.input<Q> } : { query: z.input<Q> }) : unknown;
type BodyInput<D> = D extends { body: infer B extends z.ZodType } ? { body: z.input<B> } : unknown;

export interface CallOptions {
  signal?: AbortSignal;
}

export type RouteInput<D> = ParamsInput<D> & QueryInput<D> & BodyInput<D> & CallOptions;
export type RouteOutput<D> = D extends { produces: 'text' } ? string : D extends { response: infer R extends z.ZodType } ? z.output<R> : never;

type RouteMethod<D> = {} extends RouteInput<D> ? (input?: RouteInput<D>) => Promise<RouteOutput<D>> : (input: RouteInput<D>) => Promise<RouteOutput<D>>;

export type ApiRouteMethods = { [K in RouteName]: RouteMethod<ApiContract[K]> };

export interface StreamEventsOptions {
  conversation?: string;
  agent?: string;
  types?: readonly string[];
  /** Resume after this event id (the stream sends everything later, then live events). */
  lastEventId?: number;
  /** Reconnect with the last received id when the stream ends or fails (default true). */
  reconnect?: boolean;
  /** Wait between reconnects (default 1000 ms). */
  reconnectDelayMs?: number;
  signal?: AbortSignal;
}

export interface ApiClient extends ApiRouteMethods {
  readonly baseUrl: string;
  /** Live events, in id order, exactly once across reconnects; ends when `signal` aborts. */
  streamEvents(options?: StreamEventsOptions): AsyncGenerator<EventView>;
  /** URL for a browser EventSource (which cannot send headers): pass a ticket from createTicket(). */
  eventsUrl(options: { ticket: string; conversation?: string; agent?: string; types?: readonly string[] }): string;
}

export interface ApiClientOptions {
  /** e.g. http://127.0.0.1:3777 */
  baseUrl: string;
  /** The API token, or a run-scoped token (`tinyagi call`). */
  token?: string;
  fetch?: typeof fetch;
}

export function createApiClient(options: ApiClientOptions): ApiClient {
  const baseUrl = options.baseUrl.replace(/\/+$/, '');
  const fetchImpl = options.fetch ?? globalThis.fetch.bind(globalThis);
  const headers = (extra: Record<string, string>): Record<string, string> =>
    options.token ? { ...extra, authorization: `Bearer ${options.token}` } : extra;

  async function call(def: RouteDef, input: { params?: object; query?: object; body?: unknown; signal?: AbortSignal } = {}): Promise<unknown> {
    const url = `${baseUrl}${fillPath(def.path, input.params)}${queryString(input.query)}`;
    const hasBody = def.body !== undefined;
    let res: Response;
    try {
      res = await fetchImpl(url, {
        method: def.method,
        headers: headers(hasBody ? { 'content-type': 'application/json', accept: 'application/json' } : { accept: 'application/json' }),
        ...(hasBody ? { body: JSON.stringify(input.body ?? {}) } : {}),
        ...(input.signal ? { signal: input.signal } : {}),
      });
    } catch (err) {
      throw networkError(baseUrl, err);
    }
    if (!res.ok) throw await errorFromResponse(res);
    if (def.produces === 'text') return res.text();
    try {
      return await res.json();
    } catch (err) {
      throw new ApiError('BAD_RESPONSE', res.status, `The server at ${baseUrl} answered ${def.method} ${def.path} with a body that is not JSON.`, { cause: err });
    }
  }

  const methods = Object.fromEntries(
    Object.entries(apiContract).map(([name, def]) => [name, (input?: Parameters<typeof call>[1]) => call(def, input)]),
  ) as unknown as ApiRouteMethods;

  function eventsQuery(o: { conversation?: string | undefined; agent?: string | undefined; types?: readonly string[] | undefined }): Record<string, string | undefined> {
    return { conversation: o.conversation, agent: o.agent, types: o.types && o.types.length > 0 ? o.types.join(',') : undefined };
  }

  async function* streamEvents(o: StreamEventsOptions = {}): AsyncGenerator<EventView> {
    let lastId = o.lastEventId;
    const reconnect = o.reconnect ?? true;
    while (!o.signal?.aborted) {
      let res: Response | undefined;
      try {
        res = await fetchImpl(`${baseUrl}${EVENTS_PATH}${queryString(eventsQuery(o))}`, {
          headers: headers(lastId === undefined ? { accept: 'text/event-stream' } : { accept: 'text/event-stream', 'last-event-id': String(lastId) }),
          ...(o.signal ? { signal: o.signal } : {}),
        });
      } catch (err) {
        if (o.signal?.aborted) return;
        if (!reconnect) throw networkError(baseUrl, err);
      }
      if (res && !res.ok) throw await errorFromResponse(res);
      if (res?.body) {
        const parser = new SseParser();
        const decoder = new TextDecoder();
        try {
          for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
            for (const message of parser.push(decoder.decode(chunk, { stream: true }))) {
              if (message.data === '' || message.id === undefined) continue;
              const event = JSON.parse(message.data) as EventView;
              // The server never repeats an id; this guards a resume racing a half-read chunk.
              if (lastId !== undefined && event.id <= lastId) continue;
              lastId = event.id;
              yield event;
            }
          }
        } catch (err) {
          if (o.signal?.aborted) return;
          if (!reconnect) throw networkError(baseUrl, err);
        }
      }
      if (!reconnect || o.signal?.aborted) return;
      await delay(o.reconnectDelayMs ?? 1000, o.signal);
    }
  }

  return {
    ...methods,
    baseUrl,
    streamEvents,
    eventsUrl(o) {
      return `${baseUrl}${EVENTS_PATH}${queryString({ ...eventsQuery(o), ticket: o.ticket })}`;
    },
  };
}

function fillPath(path: string, params: object | undefined): string {
  return path.replace(/:([A-Za-z]+)/g, (_m, name: string) => {
    const value = (params as Record<string, unknown> | undefined)?.[name];
    if (value === undefined || value === null) throw new TypeError(`Missing path parameter "${name}" for ${path}`);
    return encodeURIComponent(String(value));
  });
}

function queryString(query: object | undefined): string {
  if (!query) return '';
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) {
    if (value !== undefined && value !== null) search.set(key, String(value));
  }
  const text = search.toString();
  return text === '' ? '' : `?${text}`;
}

function networkError(baseUrl: string, err: unknown): ApiError {
  const reason = err instanceof Error ? ((err.cause as Error | undefined)?.message ?? err.message) : String(err);
  return new ApiError('NETWORK_ERROR', 0, `Cannot reach the TinyAGI server at ${baseUrl} (${reason}). Is the daemon running? Start it with \`tinyagi start\`.`, { cause: err });
}

async function errorFromResponse(res: Response): Promise<ApiError> {
  const text = await res.text().catch(() => '');
  try {
    const body = JSON.parse(text) as { error?: { code?: unknown; message?: unknown; details?: unknown } };
    if (body.error && typeof body.error.code === 'string' && typeof body.error.message === 'string') {
      return new ApiError(body.error.code as ApiErrorCode, res.status, body.error.message, { details: body.error.details });
    }
  } catch {
    // Not the API's error shape: reported below.
  }
  return new ApiError('BAD_RESPONSE', res.status, `Unexpected answer (HTTP ${res.status}) from the server: ${text.slice(0, 200)}`);
}

function delay(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
    function done(): void {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
  });
}
