/**
 * Turning any thrown value into a friendly message on stderr and an exit code. Stack traces and
 * causes only with `--debug`.
 */
import { CommanderError } from 'commander';
import { isTinyError } from '@tinyagi/core';
import { isApiError } from '@tinyagi/client';
import { CliError, EXIT_FAILURE, EXIT_OK, EXIT_USAGE } from './cli-error.ts';
import { inCommandForm } from './command-form.ts';
import { errStyle } from './style.ts';

function write(line: string): void {
  process.stderr.write(`${inCommandForm(line)}\n`);
}

function hintLine(hint: string | undefined): void {
  if (hint !== undefined && hint !== '') write(errStyle.dim(hint));
}

/** Codes (the server's, or core's when the CLI edits offline) that mean the request itself was wrong: bad usage rather than a failure. */
const USAGE_API_CODES = new Set(['VALIDATION_FAILED', 'INVALID_ID', 'BAD_REQUEST', 'INVALID_JSON']);

export function reportError(err: unknown, debug: boolean): number {
  if (err instanceof CommanderError) {
    // commander printed its own message (unknown option, missing argument, …)
    if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.code === 'commander.help') return EXIT_OK;
    return err.exitCode === 0 ? EXIT_OK : EXIT_USAGE;
  }
  let code = EXIT_FAILURE;
  if (err instanceof CliError) {
    write(errStyle.red(`error: ${err.message}`));
    hintLine(err.hint);
    code = err.exitCode;
  } else if (isTinyError(err)) {
    write(errStyle.red(`error: ${err.message}`));
    hintLine(err.hint);
    if (USAGE_API_CODES.has(err.code)) code = EXIT_USAGE;
  } else if (isApiError(err)) {
    write(errStyle.red(`error: ${err.message}${err.code !== 'NETWORK_ERROR' ? ` (${err.code})` : ''}`));
    const issues = (err.details as { issues?: Array<{ path?: string; message?: string }> } | undefined)?.issues;
    // Some messages already list their issues (CONFIG_INVALID) or name their only one
    // (VALIDATION_FAILED): each problem is printed once.
    if (Array.isArray(issues)) {
      for (const issue of issues) {
        const said = err.message.includes(`- ${issue.path ?? ''}: `) || err.message.includes(`${issue.path ?? ''}: ${issue.message ?? ''}`);
        if (!said) write(`  - ${issue.path ?? ''}: ${issue.message ?? ''}`);
      }
    }
    if (USAGE_API_CODES.has(err.code)) code = EXIT_USAGE;
  } else {
    write(errStyle.red(`error: ${err instanceof Error ? err.message : String(err)}`));
    if (!debug) hintLine('Run the command again with --debug for details.');
  }
  if (debug && err instanceof Error) {
    write(errStyle.dim(err.stack ?? ''));
    if (err.cause !== undefined) write(errStyle.dim(`cause: ${err.cause instanceof Error ? (err.cause.stack ?? err.cause.message) : String(err.cause)}`));
  }
  return code;
}
