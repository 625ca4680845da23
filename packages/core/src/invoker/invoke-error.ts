/**
 * How an invocation failed, in the terms the durable queue acts on:
 * - retryable: non-zero exit, 5xx, network; backoff with jitter
 * - rate_limited: 429/529/overloaded; wait `retryAfterMs` when the provider said how long
 * - timeout: wall clock or inactivity watchdog; retried like retryable
 * - permanent: missing CLI, bad credentials, invalid request; dead at once
 * - cancelled: the caller aborted; never retried
 */
import { TinyError, type TinyErrorCode } from '../errors.ts';
import { SandboxRefusal } from '@tinyagi/sandbox';
import type { InvokeUsage } from './types.ts';

export type InvokeErrorKind = 'retryable' | 'permanent' | 'rate_limited' | 'timeout' | 'cancelled';

export interface InvokeErrorOptions {
  code?: TinyErrorCode;
  retryAfterMs?: number;
  exitCode?: number;
  /** The signal that ended the agent's process, when one did. */
  signal?: string;
  stderrTail?: string;
  hint?: string;
  cause?: unknown;
}

const CODE_BY_KIND: Record<InvokeErrorKind, TinyErrorCode> = {
  retryable: 'INVOKE_FAILED',
  permanent: 'INVOKE_FAILED',
  rate_limited: 'INVOKE_RATE_LIMITED',
  timeout: 'INVOKE_TIMEOUT',
  cancelled: 'INVOKE_CANCELLED',
};

export class InvokeError extends TinyError {
  readonly kind: InvokeErrorKind;
  readonly retryAfterMs: number | undefined;
  readonly exitCode: number | undefined;
  readonly signal: string | undefined;
  readonly stderrTail: string | undefined;

  constructor(kind: InvokeErrorKind, message: string, options: InvokeErrorOptions = {}) {
    super(options.code ?? CODE_BY_KIND[kind], message, {
      hint: options.hint,
      cause: options.cause,
      details: {
        kind,
        retryAfterMs: options.retryAfterMs,
        exitCode: options.exitCode,
        signal: options.signal,
        stderrTail: options.stderrTail,
      },
    });
    this.kind = kind;
    this.retryAfterMs = options.retryAfterMs;
    this.exitCode = options.exitCode;
    this.signal = options.signal;
    this.stderrTail = options.stderrTail;
  }
}

export function isInvokeError(err: unknown): err is InvokeError {
  return err instanceof InvokeError;
}

/**
 * The sandbox's refusal to start a command (sandbox/refusal.ts: `required` on a machine without
 * the boundary, a socket path too long) in the queue's terms: permanent, the message fails once,
 * not retried. Any other error is returned as it is.
 */
export function fromSandboxRefusal(err: unknown): unknown {
  if (!(err instanceof SandboxRefusal)) return err;
  return new InvokeError('permanent', err.message, { ...(err.hint === undefined ? {} : { hint: err.hint }), cause: err });
}

/** What a failed attempt had already spent: usage a CLI reported on its error result, earlier turns. */
export interface AttemptSpend {
  usage: InvokeUsage;
  costUsd: number;
}

// Kept beside the error, not on it: any error (a runtime's, a plugin's) can carry what the
// attempt cost before it failed, without changing its shape.
const spendByError = new WeakMap<object, AttemptSpend>();

/** Adds to what the failed attempt behind `err` spent; returns `err` for `throw addSpend(…)`. */
export function addSpend<E>(err: E, usage: InvokeUsage | undefined, costUsd: number | undefined): E {
  if (typeof err !== 'object' || err === null || (!usage?.inputTokens && !usage?.outputTokens && !costUsd)) return err;
  const before = spendByError.get(err) ?? { usage: { inputTokens: 0, outputTokens: 0 }, costUsd: 0 };
  spendByError.set(err, {
    usage: { inputTokens: before.usage.inputTokens + (usage?.inputTokens ?? 0), outputTokens: before.usage.outputTokens + (usage?.outputTokens ?? 0) },
    costUsd: before.costUsd + (costUsd ?? 0),
  });
  return err;
}

/** What the attempt that failed with `err` spent, if anything was reported. */
export function spendOf(err: unknown): AttemptSpend | undefined {
  return typeof err === 'object' && err !== null ? spendByError.get(err) : undefined;
}

/** Whether the durable queue may try the message again. */
export function isRetryableKind(kind: InvokeErrorKind): boolean {
  return kind === 'retryable' || kind === 'rate_limited' || kind === 'timeout';
}

const RATE_LIMIT_PATTERN = /rate[\s_-]?limit|\b429\b|\b529\b|overloaded|too many requests|usage limit|hit your limit|quota exceeded/i;

export function looksRateLimited(text: string): boolean {
  return RATE_LIMIT_PATTERN.test(text);
}

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

function unitMs(unit: string): number {
  const u = unit.toLowerCase();
  if (u.startsWith('ms') || u.startsWith('milli')) return UNIT_MS.ms!;
  if (u.startsWith('h')) return UNIT_MS.h!;
  if (u.startsWith('m')) return UNIT_MS.m!;
  return UNIT_MS.s!;
}

/**
 * Finds a reset hint in provider output: "try again in 2 seconds", "retry after 1m30s",
 * "resets at 2026-01-01T10:00:00Z", or Claude Code's "usage limit reached|<epoch seconds>".
 */
export function parseRetryAfterText(text: string, now: number = Date.now()): number | undefined {
  const relative = /(?:try again|retry|retrying|wait)(?: again)?(?: in| after)\s+((?:\d+(?:\.\d+)?\s*(?:milliseconds?|ms|seconds?|secs?|s|minutes?|mins?|m|hours?|hrs?|h)(?![a-z])\s*)+)/i.exec(text);
  if (relative?.[1]) {
    let total = 0;
    for (const part of relative[1].matchAll(/(\d+(?:\.\d+)?)\s*([a-z]+)/gi)) {
      total += Number(part[1]) * unitMs(part[2] ?? 's');
    }
    if (total > 0) return Math.round(total);
  }
  const epoch = /limit reached\|(\d{9,13})/i.exec(text);
  if (epoch?.[1]) {
    const value = Number(epoch[1]);
    const at = epoch[1].length > 10 ? value : value * 1000;
    return Math.max(0, at - now);
  }
  const absolute = /resets? (?:at |on )?(\d{4}-\d{2}-\d{2}T[\d:.]+(?:Z|[+-]\d{2}:?\d{2})?)/i.exec(text);
  if (absolute?.[1]) {
    const at = Date.parse(absolute[1]);
    if (!Number.isNaN(at)) return Math.max(0, at - now);
  }
  return undefined;
}

/** `Retry-After` is either delta-seconds or an HTTP date. */
export function parseRetryAfterHeader(value: string | null, now: number = Date.now()): number | undefined {
  if (value === null || value.trim() === '') return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return Math.max(0, Math.round(seconds * 1000));
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

/** A failed run's diagnostic text becomes rate_limited when it says so, else retryable. */
export function failureFromText(message: string, diagnostic: string, options: Omit<InvokeErrorOptions, 'retryAfterMs'> = {}): InvokeError {
  if (looksRateLimited(diagnostic)) {
    return new InvokeError('rate_limited', message, { ...options, retryAfterMs: parseRetryAfterText(diagnostic) });
  }
  return new InvokeError('retryable', message, options);
}
