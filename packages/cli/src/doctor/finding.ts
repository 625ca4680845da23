/** What each check of `tinyagi doctor` reports, and the migrations finding both backends' database checks share. */
export type CheckStatus = 'ok' | 'warn' | 'fail' | 'info';

export interface Finding {
  check: string;
  status: CheckStatus;
  message: string;
  /** What to do about it. */
  hint?: string;
  /** Set when --fix changed something. */
  fixed?: string;
  /** Machine-readable detail (the `migrations` check: `{ applied, pending }` migration names). */
  details?: Record<string, unknown>;
}

export function migrationsFinding(applied: string[], pending: string[]): Finding {
  const details = { applied, pending };
  if (pending.length > 0) {
    return {
      check: 'migrations',
      status: 'warn',
      message: `${pending.length} database migration${pending.length === 1 ? ' is' : 's are'} pending: ${pending.join(', ')}.`,
      hint: 'The daemon applies them when it starts; apply them now with `tinyagi doctor --migrate`.',
      details,
    };
  }
  const f: Finding = { check: 'migrations', status: 'ok', message: 'database schema is up to date', details };
  if (applied.length > 0) f.fixed = `applied ${applied.join(', ')}`;
  return f;
}
