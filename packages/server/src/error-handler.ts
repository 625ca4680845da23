/**
 * Turns every failure into `{ error: { code, message, details? } }` with the registry's status.
 * Client mistakes (bad JSON, failed validation, unknown routes, oversized bodies) are 4xx with a
 * precise message; only unexpected failures are 500, with a generic message (details go to the log).
 */
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { hasZodFastifySchemaValidationErrors } from 'fastify-type-provider-zod';
import { isTinyError } from '@tinyagi/core';
import { findJsonTreeProblem, formatSettingsPath } from './core-internal.ts';
import { ERROR_REGISTRY, RequestError, type ApiErrorCode } from './errors.ts';
import type { ServerLog } from './options.ts';
import type { ErrorBody } from '@tinyagi/client/contract';

interface ErrorReply {
  status: number;
  body: ErrorBody;
}

const FASTIFY_CODES: Record<string, ApiErrorCode> = {
  FST_ERR_CTP_INVALID_JSON_BODY: 'INVALID_JSON',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'INVALID_JSON',
  FST_ERR_CTP_BODY_TOO_LARGE: 'PAYLOAD_TOO_LARGE',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'UNSUPPORTED_MEDIA_TYPE',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'BAD_REQUEST',
  FST_ERR_BAD_URL: 'BAD_REQUEST',
  FST_ERR_ASYNC_CONSTRAINT: 'BAD_REQUEST',
};

const STATUS_CODES: Record<number, ApiErrorCode> = {
  400: 'BAD_REQUEST',
  401: 'AUTH_REQUIRED',
  403: 'SCOPE_FORBIDDEN',
  404: 'ROUTE_NOT_FOUND',
  405: 'METHOD_NOT_ALLOWED',
  406: 'NOT_ACCEPTABLE',
  413: 'PAYLOAD_TOO_LARGE',
  415: 'UNSUPPORTED_MEDIA_TYPE',
  429: 'RATE_LIMITED',
};

function reply(code: ApiErrorCode, message: string, details?: unknown): ErrorReply {
  return { status: ERROR_REGISTRY[code].status, body: { error: details === undefined ? { code, message } : { code, message, details } } };
}

function validationReply(err: { validation: Array<{ instancePath?: string; message?: string }>; validationContext?: string }): ErrorReply {
  const where = err.validationContext === 'querystring' ? 'query' : (err.validationContext ?? 'request');
  const issues = err.validation.map((v) => {
    const path = (v.instancePath ?? '').split('/').filter(Boolean).join('.');
    return { path: path === '' ? where : `${where}.${path}`, message: v.message ?? 'invalid' };
  });
  const message = `Invalid ${where}: ${issues.map((i) => `${i.path}: ${i.message}`).join('; ')}`;
  return reply('VALIDATION_FAILED', message.length > 2000 ? `${message.slice(0, 2000)}…` : message, { issues: issues.slice(0, 50) });
}

export function toErrorReply(err: unknown): ErrorReply | undefined {
  if (err instanceof RequestError) return reply(err.code, err.message, err.details);
  if (isTinyError(err)) {
    const message = err.hint ? `${err.message} ${err.hint}` : err.message;
    return reply(err.code, message, err.details);
  }
  if (hasZodFastifySchemaValidationErrors(err)) return validationReply(err);
  const fe = err as Partial<FastifyError> | null;
  if (fe && Array.isArray(fe.validation)) return validationReply(fe as { validation: [] });
  const byCode = fe?.code ? FASTIFY_CODES[fe.code] : undefined;
  if (byCode === 'BAD_REQUEST' && fe?.message) return reply(byCode, fe.message);
  if (byCode) return reply(byCode, byCode === 'INVALID_JSON' ? 'The request body is empty or not valid JSON.' : ERROR_REGISTRY[byCode].message);
  const status = fe?.statusCode;
  if (typeof status === 'number' && status >= 400 && status < 500) {
    const code = STATUS_CODES[status] ?? 'BAD_REQUEST';
    return reply(code, ERROR_REGISTRY[code].message);
  }
  return undefined;
}

/** The 5xx line of the daemon log: request id, route, code and the stack (never sent to the client). */
function logServerError(log: ServerLog, request: FastifyRequest, code: string, err: unknown): void {
  const detail = err instanceof Error ? (err.stack ?? err.message) : String(err);
  log.error(`request ${request.id} ${request.method} ${routePath(request)} failed with ${code}: ${detail}`);
}

function routePath(request: FastifyRequest): string {
  return (request.url.split('?')[0] ?? '').slice(0, 200);
}

/** `ctx.log` is read per error: the handler is installed before the context is filled. */
export function installErrorHandling(app: FastifyInstance, ctx: { log: ServerLog }): void {
  app.setErrorHandler((err: unknown, request: FastifyRequest, res: FastifyReply) => {
    const known = toErrorReply(err);
    if (known) {
      if (known.status >= 500) {
        // A RequestError is an answer a route chose (a degraded node's 503 to every health probe):
        // one warning line, not an error with a stack.
        if (err instanceof RequestError) ctx.log.warn(`request ${request.id} ${request.method} ${routePath(request)} answered ${known.status} ${known.body.error.code}: ${err.message}`);
        else logServerError(ctx.log, request, known.body.error.code, err);
        res.header('x-request-id', request.id);
      }
      return res.code(known.status).type('application/json; charset=utf-8').send(known.body);
    }
    logServerError(ctx.log, request, 'INTERNAL', err);
    const internal = reply('INTERNAL', `${ERROR_REGISTRY.INTERNAL.message} (request id ${request.id}).`);
    return res.code(500).header('x-request-id', request.id).type('application/json; charset=utf-8').send(internal.body);
  });
  app.setNotFoundHandler((request, res) => {
    const url = request.url.split('?')[0] ?? '';
    const e = reply('ROUTE_NOT_FOUND', `No route ${request.method} ${url.length > 200 ? `${url.slice(0, 200)}…` : url}. The route list is at /api/openapi.json.`);
    return res.code(404).type('application/json; charset=utf-8').send(e.body);
  });
}

/**
 * Parses JSON bodies with a precise message on syntax errors, a bound on nesting and without
 * prototype poisoning. JSON.parse is iterative; the checks after it are too, so no body can
 * overflow the stack here or in the recursive code (zod, merges) that runs later.
 */
export function parseJsonBody(text: string, maxDepth: number): unknown {
  if (text.trim() === '') return undefined;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new RequestError('INVALID_JSON', `The request body is not valid JSON: ${(err as Error).message}.`);
  }
  const problem = findJsonTreeProblem(value, { maxDepth, forbiddenKey: isPoisonKey });
  if (problem?.kind === 'too_deep') {
    throw new RequestError('JSON_TOO_DEEP', `The request body is nested deeper than ${maxDepth} levels (at ${formatSettingsPath(problem.path.slice(0, 8))}${problem.path.length > 8 ? '…' : ''}).`);
  }
  if (problem) throw new RequestError('INVALID_JSON', `The request body contains the forbidden key "${String(problem.path.at(-1))}".`);
  return value;
}

function isPoisonKey(key: string, value: unknown): boolean {
  return key === '__proto__' || (key === 'constructor' && value !== null && typeof value === 'object' && 'prototype' in value);
}
