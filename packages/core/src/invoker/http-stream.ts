/**
 * Shared plumbing of the HTTP runtimes: one guard per invocation (timeouts, cancellation and
 * error classification around every model call of the run) and a Server-Sent Events reader
 * over fetch's body stream.
 */
import { failureFromText, InvokeError, looksRateLimited, parseRetryAfterHeader, parseRetryAfterText } from './invoke-error.ts';
import { runLimits, type InvokeRequest, type QuotaReport } from './types.ts';
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
  /** The account's rate-limit state a successful answer's headers gave (`req.onQuota`). */
  quota(report: QuotaReport): void;
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
    quota(report) {
      try {
        req.onQuota?.(report);
      } catch {
        // the caller's bug, not the run's failure
      }
    },
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
    if (err instanceof InvokeError) {
      // A 429 with a reset time: the account's quota, for the scheduler (docs/quotas.md).
      const quota = quotaOfError.get(err);
      if (quota) {
        try {
          req.onQuota?.(quota);
        } catch {
          // the caller's bug, not the run's failure
        }
      }
      throw err;
    }
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
  const state = rateLimitState(res.headers);
  if (state) guard.quota(state);
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
    const now = Date.now();
    const reset = rateLimitReset(res.headers, now);
    const retryAfterMs =
      retryAfterMsHeader(res.headers.get('retry-after-ms')) ??
      parseRetryAfterHeader(res.headers.get('retry-after'), now) ??
      (reset ? reset.resetsAt - now : undefined) ??
      parseRetryAfterText(body, now);
    const err = new InvokeError('rate_limited', message, { ...options, retryAfterMs });
    if (retryAfterMs !== undefined) {
      quotaOfError.set(err, { status: 'exhausted', resetsAt: now + Math.max(retryAfterMs, reset ? reset.resetsAt - now : 0), limit: reset?.limit ?? 'requests', message: message.slice(0, 300) });
    }
    return err;
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

/** What a 429 said of the account's quota (reported by `withHttpGuard` through `req.onQuota`). */
const quotaOfError = new WeakMap<InvokeError, QuotaReport>();

/**
 * The reset of the exhausted limit from the providers' rate-limit headers: Anthropic's
 * `anthropic-ratelimit-<limit>-reset` (an RFC 3339 time) and OpenAI's `x-ratelimit-reset-<limit>`
 * (a duration such as `6m0s`), for the limits whose `remaining` is 0 (the latest reset wins).
 */
export function rateLimitReset(headers: Headers, now: number = Date.now()): { resetsAt: number; limit: string } | undefined {
  let found: { resetsAt: number; limit: string } | undefined;
  const consider = (limit: string, resetsAt: number | undefined): void => {
    if (resetsAt !== undefined && resetsAt > now && (!found || resetsAt > found.resetsAt)) found = { resetsAt, limit };
  };
  for (const limit of ['requests', 'tokens', 'input-tokens', 'output-tokens']) {
    if (headers.get(`anthropic-ratelimit-${limit}-remaining`) === '0') {
      const at = Date.parse(headers.get(`anthropic-ratelimit-${limit}-reset`) ?? '');
      consider(limit, Number.isNaN(at) ? undefined : at);
    }
    if (headers.get(`x-ratelimit-remaining-${limit}`) === '0') {
      const ms = parseDuration(headers.get(`x-ratelimit-reset-${limit}`) ?? '');
      consider(limit, ms === undefined ? undefined : now + ms);
    }
  }
  return found;
}

/** Below this share of a limit left, an answer's headers are a warning. */
const WARN_BELOW = 0.1;

/**
 * The account's state from a successful answer's rate-limit headers (Anthropic's
 * `anthropic-ratelimit-<limit>-limit/-remaining/-reset`, OpenAI's `x-ratelimit-limit-<limit>`,
 * `x-ratelimit-remaining-<limit>`, `x-ratelimit-reset-<limit>`): `warning` when a limit has less
 * than a tenth left (the fullest one named), `ok` otherwise; undefined without such headers.
 */
export function rateLimitState(headers: Headers, now: number = Date.now()): QuotaReport | undefined {
  let worst: { left: number; limit: string; resetsAt: number | undefined } | undefined;
  for (const limit of ['requests', 'tokens', 'input-tokens', 'output-tokens']) {
    const families = [
      { max: `anthropic-ratelimit-${limit}-limit`, remaining: `anthropic-ratelimit-${limit}-remaining`, reset: (v: string) => Date.parse(v), resetName: `anthropic-ratelimit-${limit}-reset` },
      { max: `x-ratelimit-limit-${limit}`, remaining: `x-ratelimit-remaining-${limit}`, reset: (v: string) => now + (parseDuration(v) ?? Number.NaN), resetName: `x-ratelimit-reset-${limit}` },
    ];
    for (const f of families) {
      const total = Number(headers.get(f.max));
      const leftText = headers.get(f.remaining);
      const left = Number(leftText);
      if (!(total > 0) || leftText === null || !Number.isFinite(left)) continue;
      const resetText = headers.get(f.resetName);
      const at = resetText === null ? Number.NaN : f.reset(resetText);
      if (!worst || left / total < worst.left) worst = { left: left / total, limit, resetsAt: Number.isNaN(at) ? undefined : at };
    }
  }
  if (!worst) return undefined;
  if (worst.left >= WARN_BELOW) return { status: 'ok' };
  return { status: 'warning', limit: worst.limit, utilization: 1 - worst.left, ...(worst.resetsAt !== undefined ? { resetsAt: worst.resetsAt } : {}) };
}

/** `6m0s`, `1.5s`, `20ms`, `1h2m3s` (OpenAI's reset durations). */
function parseDuration(text: string): number | undefined {
  const parts = [...text.matchAll(/(\d+(?:\.\d+)?)(ms|h|m|s)/g)];
  if (parts.length === 0 || parts.map((p) => p[0]).join('') !== text.trim()) return undefined;
  const unit: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
  return Math.round(parts.reduce((sum, p) => sum + Number(p[1]) * unit[p[2]!]!, 0));
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
