/**
 * The typed API client: one method per route of the contract (same names as the OpenAPI
 * operationIds), inputs and outputs typed from the shared zod schemas, failures thrown as
 * ApiError with the server's code. Uses `fetch` only, so it runs in Node, browsers and workers.
 */
import type { z } from 'zod';
import type { ApiContract, RouteName } from './contract/contract.ts';
import type { ApiErrorCode } from './contract/errors.ts';
import { ROUTE_TABLE, type RouteEntry } from './route-table.ts';
import { EVENTS_PATH, type EventType } from './contract/event-types.ts';
import type { EventOf } from './contract/event-map.ts';
import { ApiError } from './api-error.ts';
import { eventSourceTransport, fetchTransport, subscribeEvents, type EventFilterOptions, type EventSourceConstructor, type EventSubscription, type SubscribeOptions } from './event-stream.ts';

type ParamsInput<D> = D extends { params: infer P extends z.ZodType } ? { params: z.input<P> } : unknown;
// biome-ignore lint/complexity/noBannedTypes: `{} extends T` asks whether every key of T is optional
type QueryInput<D> = D extends { query: infer Q extends z.ZodType } ? ({} extends z.input<Q> ? { query?: z.input<Q> } : { query: z.input<Q> }) : unknown;
type BodyInput<D> = D extends { body: infer B extends z.ZodType } ? { body: z.input<B> } : unknown;

export interface CallOptions {
  signal?: AbortSignal;
}

export type RouteInput<D> = ParamsInput<D> & QueryInput<D> & BodyInput<D> & CallOptions;
export type RouteOutput<D> = D extends { produces: 'text' } ? string : D extends { response: infer R extends z.ZodType } ? z.output<R> : never;

// biome-ignore lint/complexity/noBannedTypes: `{} extends T` asks whether every key of T is optional
type RouteMethod<D> = {} extends RouteInput<D> ? (input?: RouteInput<D>) => Promise<RouteOutput<D>> : (input: RouteInput<D>) => Promise<RouteOutput<D>>;

export type ApiRouteMethods = { [K in RouteName]: RouteMethod<ApiContract[K]> };

export interface ApiClient extends ApiRouteMethods {
  readonly baseUrl: string;
  /**
   * Live events (replayed after `lastEventId` when given), in id order, exactly once across
   * reconnects, with a visible connection state. Iterate it with `for await`, or attach
   * `onEvent`; `close()` (or the signal, or leaving the loop) ends it.
   */
  subscribe<T extends EventType = EventType>(options?: SubscribeOptions<T>): EventSubscription<EventOf<T>>;
  /** URL for a browser EventSource (which cannot send headers): pass a ticket from createTicket(). */
  eventsUrl(options: EventFilterOptions & { ticket: string; lastEventId?: number }): string;
}

export interface ApiClientOptions {
  /** e.g. http://127.0.0.1:3777 */
  baseUrl: string;
  /** The API token, or a run-scoped token (`tinyagi call`). */
  token?: string;
  fetch?: typeof fetch;
  /** For `subscribe({ transport: 'eventsource' })` where there is no global EventSource. */
  EventSource?: EventSourceConstructor;
  /**
   * Who this client is, in words (`x-tinyagi-client`, e.g. "the CLI"): the daemon names it as
   * who cancelled or steered a run. Without it a token client is "the API".
   */
  clientName?: string;
}

export function createApiClient(options: ApiClientOptions): ApiClient {
  const baseUrl = options.baseUrl.replace(/\/+$/, '');
  const fetchImpl = options.fetch ?? globalThis.fetch.bind(globalThis);
  const named: Record<string, string> = options.clientName ? { 'x-tinyagi-client': options.clientName } : {};
  const headers = (extra: Record<string, string>): Record<string, string> => (options.token ? { ...named, ...extra, authorization: `Bearer ${options.token}` } : { ...named, ...extra });

  async function call(def: RouteEntry, input: { params?: object; query?: object; body?: unknown; signal?: AbortSignal } = {}): Promise<unknown> {
    const url = `${baseUrl}${fillPath(def.path, input.params)}${queryString(input.query)}`;
    const hasBody = def.body === true;
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
    let text: string;
    try {
      text = await res.text();
    } catch (err) {
      // The connection broke while the body was arriving: as if no answer came.
      throw networkError(baseUrl, err);
    }
    if (def.produces === 'text') return text;
    try {
      return JSON.parse(text) as unknown;
    } catch (err) {
      throw new ApiError('BAD_RESPONSE', res.status, `The server at ${baseUrl} answered ${def.method} ${def.path} with a body that is not JSON.`, { cause: err });
    }
  }

  const methods = Object.fromEntries(Object.entries(ROUTE_TABLE).map(([name, def]) => [name, (input?: Parameters<typeof call>[1]) => call(def, input)])) as unknown as ApiRouteMethods;

  function eventsQuery(o: EventFilterOptions & { lastEventId?: number | undefined }): Record<string, string | undefined> {
    return {
      conversation: o.conversation,
      agent: o.agent,
      types: o.types && o.types.length > 0 ? o.types.join(',') : undefined,
      lastEventId: o.lastEventId === undefined ? undefined : String(o.lastEventId),
    };
  }

  function eventsUrl(o: EventFilterOptions & { ticket: string; lastEventId?: number | undefined }): string {
    return `${baseUrl}${EVENTS_PATH}${queryString({ ...eventsQuery(o), ticket: o.ticket })}`;
  }

  // Where "from now on" starts for a subscription without lastEventId.
  const position = async (): Promise<number> => (await methods.status()).lastEventId;

  function subscribe<T extends EventType = EventType>(o: SubscribeOptions<T> = {}): EventSubscription<EventOf<T>> {
    const filters: EventFilterOptions<T> = { ...(o.conversation ? { conversation: o.conversation } : {}), ...(o.agent ? { agent: o.agent } : {}), ...(o.types ? { types: o.types } : {}) };
    if (o.transport === 'eventsource') {
      const EventSourceImpl = options.EventSource ?? (globalThis as { EventSource?: EventSourceConstructor }).EventSource;
      if (!EventSourceImpl) throw new TypeError('There is no EventSource here: pass one as createApiClient({ EventSource }), or use the fetch transport.');
      const urlFor = async (from: number | undefined): Promise<string> => {
        const { ticket } = await methods.createTicket();
        return eventsUrl({ ...filters, ticket, ...(from === undefined ? {} : { lastEventId: from }) });
      };
      return subscribeEvents(eventSourceTransport(urlFor, EventSourceImpl, o.types), o, position);
    }
    const open = async (from: number | undefined, signal: AbortSignal): Promise<Response> => {
      let res: Response;
      try {
        res = await fetchImpl(`${baseUrl}${EVENTS_PATH}${queryString(eventsQuery(filters))}`, {
          headers: headers(from === undefined ? { accept: 'text/event-stream' } : { accept: 'text/event-stream', 'last-event-id': String(from) }),
          signal,
        });
      } catch (err) {
        throw networkError(baseUrl, err);
      }
      if (!res.ok) throw await errorFromResponse(res);
      return res;
    };
    return subscribeEvents(fetchTransport(open), o, position);
  }

  return { ...methods, baseUrl, subscribe, eventsUrl };
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
