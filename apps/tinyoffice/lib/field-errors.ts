/**
 * Field-level errors for forms: from the API's own zod schema before sending (the same schema
 * the server validates with), and from the server's answer after (settings rules such as "the
 * leader must be a member" live in core and come back as issues with a path).
 */
import { isApiError } from '@tinyagi/client';
import { plainMessage, type ZodLikeIssue } from './field-issues';

export type FieldErrors = Record<string, string>;

/** The first message per top-level field of a failed safeParse, in plain words. */
export function fieldErrorsOfIssues(issues: readonly ZodLikeIssue[]): FieldErrors {
  const errors: FieldErrors = {};
  for (const issue of issues) {
    const field = String(issue.path[0] ?? 'form');
    errors[field] ??= plainMessage(issue);
  }
  return errors;
}

/**
 * Maps a server error to the form's fields: each issue's path is matched on its last segment
 * that names a field (`teams.qa.leader_agent` -> `leader_agent`, `body.agents.2` -> `agents`).
 * What matches no field goes to `form`.
 */
export function fieldErrorsOfApiError(err: unknown, fields: readonly string[]): FieldErrors {
  const errors: FieldErrors = {};
  const issues = isApiError(err) ? issuesOf(err.details) : [];
  for (const issue of issues) {
    const segments = (Array.isArray(issue.path) ? issue.path.map(String) : String(issue.path ?? '').split('.')).reverse();
    const field = segments.find((s) => fields.includes(s)) ?? 'form';
    errors[field] ??= issue.message;
  }
  if (Object.keys(errors).length === 0) errors['form'] = err instanceof Error ? err.message : String(err);
  return errors;
}

function issuesOf(details: unknown): Array<{ path?: unknown; message: string }> {
  if (details === null || typeof details !== 'object') return [];
  const list = (details as { issues?: unknown }).issues;
  if (!Array.isArray(list)) return [];
  return list.filter((i): i is { path?: unknown; message: string } => i !== null && typeof i === 'object' && typeof (i as { message?: unknown }).message === 'string');
}
