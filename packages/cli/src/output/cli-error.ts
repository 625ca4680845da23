/**
 * Errors the CLI raises itself. Exit codes: 0 ok, 1 failure, 2 bad usage (the same code
 * commander uses for unknown options and missing arguments).
 */
export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;

export type CliErrorCode = 'USAGE' | 'DAEMON_NOT_RUNNING' | 'DAEMON_RUNNING' | 'DAEMON_START_FAILED' | 'DAEMON_STOP_FAILED' | 'TIMEOUT' | 'INTERRUPTED' | 'REFUSED' | 'FAILED' | 'NOT_AVAILABLE';

export class CliError extends Error {
  override readonly name = 'CliError';
  readonly code: CliErrorCode;
  readonly hint: string | undefined;
  readonly exitCode: number;

  constructor(code: CliErrorCode, message: string, options: { hint?: string; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.hint = options.hint;
    this.exitCode = code === 'USAGE' ? EXIT_USAGE : EXIT_FAILURE;
  }
}

export function usageError(message: string, hint?: string): CliError {
  return new CliError('USAGE', message, hint === undefined ? {} : { hint });
}
