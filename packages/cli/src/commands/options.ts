/**
 * Option parsers and shared flags for the command modules. Every command loads this module: what
 * it imports stays small (`agent add --config`, which needs the settings schema, has its parser
 * in agent-config-option.ts).
 */
import { InvalidArgumentError, type Command } from 'commander';
import { isValidId } from '@tinyagi/core';
import { cliContext, type CliContext } from '../context.ts';

export function withJson(cmd: Command): Command {
  return cmd.option('--json', 'print machine-readable JSON');
}

/** The context for an action, honouring the root `--debug`. */
export function contextOf(cmd: Command): CliContext {
  return cliContext({ debug: cmd.optsWithGlobals()['debug'] === true });
}

export function parsePositiveInt(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(n) || n <= 0) throw new InvalidArgumentError('expected a positive whole number.');
  return n;
}

export function parseUsd(value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n <= 0) throw new InvalidArgumentError('expected a positive amount of US dollars, e.g. 2.50.');
  return n;
}

/** `--budget <usd>` and `--budget-tokens <n>` (a workflow run's start and resume, a budget's raise). */
export interface BudgetOptions {
  budget?: number;
  budgetTokens?: number;
}

/** The options as the API's budget fields. */
export function budgetBody(options: BudgetOptions): { budgetUsd?: number; budgetTokens?: number } {
  return { ...(options.budget !== undefined ? { budgetUsd: options.budget } : {}), ...(options.budgetTokens !== undefined ? { budgetTokens: options.budgetTokens } : {}) };
}

export function parseSeconds(value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n <= 0) throw new InvalidArgumentError('expected a positive number of seconds.');
  return n;
}

export function parseId(value: string): string {
  if (!isValidId(value)) throw new InvalidArgumentError('ids use 1-64 characters a-z, 0-9, "_" or "-", starting with a letter or digit.');
  return value;
}

export function parseIdList(value: string): string[] {
  const ids = value
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  if (ids.length === 0) throw new InvalidArgumentError('expected a comma-separated list of ids.');
  for (const id of ids) parseId(id);
  return ids;
}

export function parseJsonObject(value: string): Record<string, unknown> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch {
    throw new InvalidArgumentError('expected a JSON object, e.g. \'{"mock":{"reply":"hi"}}\'.');
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw new InvalidArgumentError('expected a JSON object.');
  return parsed as Record<string, unknown>;
}

export function choice<T extends string>(values: readonly T[]): (value: string) => T {
  return (value) => {
    if (!(values as readonly string[]).includes(value)) throw new InvalidArgumentError(`use one of: ${values.join(', ')}.`);
    return value as T;
  };
}
