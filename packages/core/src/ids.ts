import { monotonicFactory } from 'ulid';
import { TinyError } from './errors.ts';

const nextUlid = monotonicFactory();

/** Sortable unique id (ULID, monotonic within the process) with a readable prefix. */
export function newId(prefix: string): string {
  return `${prefix}_${nextUlid().toLowerCase()}`;
}

/** Agent and team ids: lower-case, safe as a directory name, no path traversal possible. */
export const ID_PATTERN = /^[a-z0-9][a-z0-9_-]{0,63}$/;

export function isValidId(id: string): boolean {
  return ID_PATTERN.test(id);
}

export function assertValidId(id: string, what = 'id'): string {
  if (!isValidId(id)) {
    throw new TinyError('INVALID_ID', `Invalid ${what} "${id}": use 1-64 characters a-z, 0-9, "_" or "-", starting with a letter or digit.`, {
      details: { id, pattern: ID_PATTERN.source },
    });
  }
  return id;
}
