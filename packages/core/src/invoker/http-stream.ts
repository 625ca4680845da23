/**
 * Shared plumbing of the HTTP adapters: one guard per invocation (timeouts, cancellation and
 * error classification around every model call of the run) and a Server-Sent Events reader
 * over fetch's body stream.
 */
import { failureFromText, InvokeError, looksRateLimited, parseRetryAfterHeader, parseRetryAfterText } from './invoke-error.ts';
import { runLimits, type InvokeRequest } from './types.ts';
import { untilAborted } from './until-aborted.ts';
import { expiryError, startWatchdog } from './watchdog.ts';

const ERROR_BODY_CHARS = 64 * 1024;
const MAX_EVENT_CHARS = 16 * 1024 * 1024;

export interface HttpGuard {
  readonly signal: AbortSignal;
  touch(): void;
  /**
   * Runs `work` (a tool call) without the inactivity watchdog counting the wait as silence;
   * rejects as soon as the run is stopped, whether or not `work` has finished.
   */
  hold<T>(work: (signal: AbortSignal) => Promise<T>): Promise<T>;
}

export async function withHttpGuard<T>(req: InvokeRequest, what: string, fn: (guard: HttpGuard) => Promise<T>): Promise<T> {
  const limits = runLimits(req);
  const controller = new AbortController();
  let holding = 0;
  const watchdog = startWatchdog({
    limits,
    signal: req.signal,
    onExpire: () => controller.abort(),
    isBusy: () => holding > 0 || req.busyElsewhere?.() === true,
  });
  const guard: HttpGuard = {
    signal: controller.signal,
    touch: () => watchdog.touch(),
    async hold(work) {
      holding += 1;
      try {
        return await untilAborted(work(controller.signal), controller.signal);
      } finally {
        holding -= 1;
        watchdog.touch();
      }
    },
  };
  try {
    return await fn(guard);
  } catch (err) {
    if (watchdog.expired) throw expiryError(watchdog.expired, limits, what);
    if (err instanceof InvokeError) throw err;
    throw new InvokeError('retryable', `${what}: request failed: ${describeNetworkError(err)}`, { cause: err });
  } finally {
    watchdog.dispose();
  }
}

function describeNetworkError(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const cause = err.cause instanceof Error ? ` (${err.cause.message})` : '';
  return `${err.message}${cause}`;
}

export interface SseEvent {
  event: string;
  data: string;
}

/** POSTs JSON and yields the response's SSE events; a non-2xx answer becomes a classified InvokeError. */
export async function* postForEvents(url: string, headers: Record<string, string>, body: unknown, guard: HttpGuard, what: string): AsyncGenerator<SseEvent> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'text/event-stream', ...headers },
    body: JSON.stringify(body),
    signal: guard.signal,
  });
  guard.touch();
  if (!res.ok) throw await httpStatusError(res, what);
  if (!res.body) throw new InvokeError('retryable', `${what}: the response had no body.`);
  yield* readSse(res.body, guard);
}

async function* readSse(body: ReadableStream<Uint8Array>, guard: HttpGuard): AsyncGenerator<SseEvent> {
  const decoder = new TextDecoder();
  let buffer = '';
  for await (const chunk of body) {
    guard.touch();
    buffer += decoder.decode(chunk, { stream: true }).replaceAll('\r\n', '\n');
    let boundary = buffer.indexOf('\n\n');
    while (boundary !== -1) {
      const event = parseSseBlock(buffer.slice(0, boundary));
      buffer = buffer.slice(boundary + 2);
      if (event) yield event;
      boundary = buffer.indexOf('\n\n');
    }
    if (buffer.length > MAX_EVENT_CHARS) throw new InvokeError('retryable', 'The model stream sent an event larger than 16 MiB.');
  }
  const last = parseSseBlock(buffer + decoder.decode());
  if (last) yield last;
}

function parseSseBlock(block: string): SseEvent | undefined {
  let event = 'message';
  const data: string[] = [];
  for (const line of block.split('\n')) {
    if (line === '' || line.startsWith(':')) continue;
    const colon = line.indexOf(':');
    const field = colon === -1 ? line : line.slice(0, colon);
    const value = colon === -1 ? '' : line.slice(colon + 1).replace(/^ /, '');
    if (field === 'event') event = value;
    else if (field === 'data') data.push(value);
  }
  return data.length === 0 ? undefined : { event, data: data.join('\n') };
}

async function httpStatusError(res: Response, what: string): Promise<InvokeError> {
  const body = (await res.text().catch(() => '')).slice(0, ERROR_BODY_CHARS);
  const message = `${what}: HTTP ${res.status}${summarise(body)}`;
  const options = { stderrTail: body || undefined };
  if (res.status === 429 || res.status === 529 || (res.status >= 500 && looksRateLimited(body))) {
    const retryAfterMs = retryAfterMsHeader(res.headers.get('retry-after-ms')) ?? parseRetryAfterHeader(res.headers.get('retry-after')) ?? parseRetryAfterText(body);
    return new InvokeError('rate_limited', message, { ...options, retryAfterMs });
  }
  if (res.status >= 500 || res.status === 408 || res.status === 409) return new InvokeError('retryable', message, options);
  if (res.status === 401 || res.status === 403) {
    return new InvokeError('permanent', message, {
      ...options,
      code: 'PROVIDER_CONFIG_INVALID',
      hint: "Check the provider's api_key (and base_url) in settings.",
    });
  }
  if (res.status === 413) return new InvokeError('permanent', message, { ...options, code: 'INPUT_TOO_LARGE' });
  return new InvokeError('permanent', message, options);
}

function retryAfterMsHeader(value: string | null): number | undefined {
  const ms = value === null ? NaN : Number(value);
  return Number.isFinite(ms) && ms >= 0 ? Math.round(ms) : undefined;
}

function summarise(body: string): string {
  const oneLine = body.replace(/\s+/g, ' ').trim();
  if (oneLine === '') return '.';
  return `: ${oneLine.length > 300 ? `${oneLine.slice(0, 300)}…` : oneLine}`;
}

/** An error the provider reports inside an otherwise successful stream. */
export function streamError(what: string, detail: string): InvokeError {
  return failureFromText(`${what}: the model stream reported an error: ${detail}`, detail);
}

/** `base` plus `path`, without doubling or dropping the slash between them. */
/** How an HTTP agent is named in errors, and its model (required: a permanent error without one). */
export function httpModel(req: InvokeRequest): { what: string; model: string } {
  const what = `${req.target.provider} model (agent ${req.agentId})`;
  const model = req.target.model;
  if (!model) {
    throw new InvokeError('permanent', `${what}: no model configured.`, {
      code: 'PROVIDER_CONFIG_INVALID',
      hint: "Set the agent's model (or the custom provider's model).",
    });
  }
  return { what, model };
}

export function joinUrl(base: string, path: string): string {
  return `${base.replace(/\/+$/, '')}/${path.replace(/^\/+/, '')}`;
}
