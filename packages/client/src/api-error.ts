import type { ApiErrorCode } from './contract/errors.ts';

/** Codes the client itself produces (no answer, or an answer that is not the API's). */
export type ClientErrorCode = 'NETWORK_ERROR' | 'BAD_RESPONSE';

/** Every failed call: the server's `{error: {code, message, details}}`, or a client-side failure. */
export class ApiError extends Error {
  override readonly name = 'ApiError';
  readonly code: ApiErrorCode | ClientErrorCode;
  /** HTTP status; 0 when no answer arrived. */
  readonly status: number;
  readonly details: unknown;

  constructor(code: ApiErrorCode | ClientErrorCode, status: number, message: string, options: { details?: unknown; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.status = status;
    this.details = options.details;
  }
}

export function isApiError(err: unknown, code?: ApiErrorCode | ClientErrorCode): err is ApiError {
  return err instanceof ApiError && (code === undefined || err.code === code);
}
