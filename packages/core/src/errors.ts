/**
 * One error class for the whole project, with a closed union of codes. The server maps each
 * code to an HTTP status in its error registry; the CLI prints `message` and `hint`.
 */
export type TinyErrorCode =
  | 'CONFIG_INVALID'
  | 'CONFIG_PARSE_FAILED'
  | 'CONFIG_LOCKED'
  | 'CONFIG_IO'
  /** The shared settings (database) changed while an edit was being made: nothing was written, retry. */
  | 'SETTINGS_CONFLICT'
  | 'INVALID_ID'
  | 'INVALID_PATH'
  | 'AGENT_NOT_FOUND'
  | 'TEAM_NOT_FOUND'
  | 'PROVIDER_NOT_FOUND'
  | 'PROVIDER_CONFIG_INVALID'
  | 'MESSAGE_NOT_FOUND'
  | 'RUN_NOT_FOUND'
  | 'APPROVAL_NOT_FOUND'
  /** An approval request was answered already (the first answer wins). */
  | 'APPROVAL_DECIDED'
  /** A decision that does not fit the request's kind (a question is answered or declined). */
  | 'APPROVAL_DECISION_INVALID'
  | 'OUTBOX_NOT_FOUND'
  | 'CONVERSATION_NOT_FOUND'
  | 'PAIRING_NOT_FOUND'
  | 'SCHEDULE_NOT_FOUND'
  | 'TASK_NOT_FOUND'
  | 'PROJECT_NOT_FOUND'
  | 'COMMENT_NOT_FOUND'
  | 'MEMORY_NOT_FOUND'
  | 'WORKFLOW_NOT_FOUND'
  | 'ALREADY_EXISTS'
  | 'INVALID_STATE'
  /** A step that runs on the node holding its disk, and that node is down or did not answer (docs/git-tasks.md, "Several nodes"). */
  | 'NODE_UNAVAILABLE'
  | 'DB_BUSY'
  | 'DB_CONSTRAINT'
  | 'DB_ERROR'
  | 'INVOKE_FAILED'
  | 'INVOKE_TIMEOUT'
  | 'INVOKE_RATE_LIMITED'
  | 'INVOKE_CANCELLED'
  /** The session pool refused to start a warm process (memory share, docs/sessions.md); retried later. */
  | 'SESSION_POOL_FULL'
  | 'INPUT_TOO_LARGE'
  | 'LIMIT_EXCEEDED'
  | 'MESSAGE_EMPTY'
  | 'NOT_A_MEMBER'
  /** A call or handoff `agents.<id>.may_call` does not allow (docs/sandbox.md). */
  | 'CALL_NOT_ALLOWED'
  /** An edit whose input is malformed (unknown agent keys, a bad cron, no target). */
  | 'VALIDATION_FAILED'
  /** git exited with an error (its exit code and stderr in `details`). */
  | 'GIT_FAILED'
  | 'GIT_TIMEOUT'
  /** No git on PATH. */
  | 'GIT_NOT_FOUND'
  /** A task's worktree holds work that is neither merged nor pushed (or uncommitted): not removed. */
  | 'WORKTREE_UNSAFE'
  /** A new worktree's setup command failed (its check result in `details`). */
  | 'WORKTREE_SETUP_FAILED'
  /** A task's branch cannot be merged into its base without conflicts: nothing was merged (the paths in `details`). */
  | 'MERGE_CONFLICT'
  /** The project's forge (GitHub) answered with an error or could not be reached (its status and message in `details`). */
  | 'FORGE_FAILED'
  | 'INTERNAL';

export interface TinyErrorOptions {
  details?: unknown;
  hint?: string;
  cause?: unknown;
}

export class TinyError extends Error {
  override readonly name = 'TinyError';
  readonly code: TinyErrorCode;
  readonly details: unknown;
  readonly hint: string | undefined;

  constructor(code: TinyErrorCode, message: string, options: TinyErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.details = options.details;
    this.hint = options.hint;
  }
}

export function isTinyError(err: unknown, code?: TinyErrorCode): err is TinyError {
  return err instanceof TinyError && (code === undefined || err.code === code);
}

/**
 * Codes that mean the configuration is wrong (a bad path, id or provider): retrying the same
 * work cannot succeed until a person fixes settings, so the queue fails it at once.
 */
const CONFIGURATION_ERROR_CODES: ReadonlySet<TinyErrorCode> = new Set(['CONFIG_INVALID', 'INVALID_ID', 'INVALID_PATH', 'PROVIDER_CONFIG_INVALID', 'PROVIDER_NOT_FOUND']);

export function isConfigurationError(err: unknown): boolean {
  return err instanceof TinyError && CONFIGURATION_ERROR_CODES.has(err.code);
}

export function errorMessage(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}

/** A sentence said inside another (`…: ${clause(reason)}. Retry …`): without its closing stop, so the two do not end in `..`. */
export function clause(sentence: string): string {
  return sentence.replace(/[.!?]+\s*$/, '');
}
