/**
 * Error codes of the HTTP layer. The registry (code -> status, message) is part of the contract
 * (`@tinyagi/client/contract`); this module adds what only the server needs.
 */
import type { TinyErrorCode } from '@tinyagi/core';
import { ERROR_REGISTRY, SERVER_ERRORS, type ApiErrorCode, type ServerErrorCode } from '@tinyagi/client/contract';

export { ERROR_REGISTRY, type ApiErrorCode, type ServerErrorCode };

// A new TinyError code is a type error here until the contract's registry gives it a status.
ERROR_REGISTRY satisfies Readonly<Record<TinyErrorCode, unknown>>;

export function isApiErrorCode(code: unknown): code is ApiErrorCode {
  return typeof code === 'string' && Object.hasOwn(ERROR_REGISTRY, code);
}

export function statusOf(code: ApiErrorCode): number {
  return ERROR_REGISTRY[code].status;
}

/** An HTTP-layer error with a registry code; domain errors are core's TinyError. */
export class RequestError extends Error {
  override readonly name = 'RequestError';
  readonly code: ServerErrorCode;
  readonly statusCode: number;
  readonly details: unknown;

  constructor(code: ServerErrorCode, message?: string, details?: unknown) {
    super(message ?? SERVER_ERRORS[code].message);
    this.code = code;
    this.statusCode = SERVER_ERRORS[code].status;
    this.details = details;
  }
}
