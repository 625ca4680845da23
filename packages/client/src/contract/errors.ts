/**
 * The one error registry of the API: every code the server can answer with, its HTTP status
 * and a default message, so a client can rely on `error.code`. Core's TinyError codes are listed
 * too; the server checks at compile time that every core code has an entry here.
 *
 * Error body, for every non-2xx answer: `{ error: { code, message, details? } }`.
 */
interface ErrorEntry {
  status: number;
  message: string;
}

/** Codes that only the HTTP layer produces (transport, validation, security). */
export const SERVER_ERRORS = {
  VALIDATION_FAILED: { status: 400, message: 'The request does not match the expected shape.' },
  INVALID_JSON: { status: 400, message: 'The request body is not valid JSON.' },
  JSON_TOO_DEEP: { status: 400, message: 'The request body is nested too deeply.' },
  BAD_REQUEST: { status: 400, message: 'The request could not be understood.' },
  RANGE_INVALID: { status: 400, message: 'The time range is empty: since must not be after until.' },
  RANGE_TOO_LARGE: { status: 400, message: 'The time range has too many buckets; use a coarser bucket (week, month) or a shorter range.' },
  AUTH_REQUIRED: { status: 401, message: 'Send the API token as "Authorization: Bearer <token>" (see TINYAGI_HOME/api-token).' },
  AUTH_INVALID: { status: 401, message: 'The API token is not valid. Use the token from TINYAGI_HOME/api-token or TINYAGI_API_TOKEN.' },
  TICKET_INVALID: { status: 401, message: 'The event-stream ticket is invalid or expired; request a new one with POST /api/auth/ticket.' },
  SESSION_INVALID: { status: 401, message: 'The TinyOffice session has ended; open a new login link with `tinyagi office`.' },
  LOGIN_CODE_INVALID: { status: 401, message: 'This login link was already used or has expired; run `tinyagi office` for a new one.' },
  CSRF_REFUSED: { status: 403, message: 'A change made with the session cookie must come from the TinyOffice page itself (same Origin).' },
  SCOPE_FORBIDDEN: { status: 403, message: 'This token is scoped to one run and cannot be used on this route.' },
  SENDER_NOT_PAIRED: { status: 403, message: 'This sender is not paired on this channel; the owner approves its pairing code with `tinyagi pairing approve <code>`.' },
  RUN_ENDED: { status: 403, message: "This run-scoped token's run has ended: a run's token works only while its run runs." },
  ORIGIN_NOT_ALLOWED: { status: 403, message: 'This Origin is not allowed; add it to server.allowed_origins in settings.json.' },
  HOST_NOT_ALLOWED: { status: 403, message: 'This Host header is not allowed; add it to server.allowed_hosts in settings.json.' },
  ROUTE_NOT_FOUND: { status: 404, message: 'No such API route. The route list is at /api/openapi.json.' },
  CHANNEL_NOT_FOUND: { status: 404, message: 'No such channel.' },
  FILE_NOT_FOUND: { status: 404, message: 'No such file.' },
  METHOD_NOT_ALLOWED: { status: 405, message: 'This method is not allowed on this route.' },
  NOT_ACCEPTABLE: { status: 406, message: 'This route only produces text/event-stream.' },
  PAYLOAD_TOO_LARGE: { status: 413, message: 'The request body is too large.' },
  UNSUPPORTED_MEDIA_TYPE: { status: 415, message: 'Send the body as application/json.' },
  RATE_LIMITED: { status: 429, message: 'Too many requests; retry later.' },
  NOT_AVAILABLE: { status: 503, message: 'This service is not available in this process.' },
} as const satisfies Record<string, ErrorEntry>;

/** Core's codes (domain errors raised by stores, config and the orchestrator). */
export const CORE_ERRORS = {
  CONFIG_INVALID: { status: 400, message: 'The settings are not valid.' },
  CONFIG_PARSE_FAILED: { status: 500, message: 'settings.json cannot be parsed; fix the file by hand.' },
  CONFIG_LOCKED: { status: 409, message: 'settings.json is being changed by another process; retry.' },
  CONFIG_IO: { status: 500, message: 'settings.json cannot be read or written.' },
  SETTINGS_CONFLICT: { status: 409, message: 'The shared settings were changed by another node during this change; nothing was written, retry.' },
  INVALID_ID: { status: 400, message: 'Invalid id.' },
  INVALID_PATH: { status: 400, message: 'Invalid path.' },
  AGENT_NOT_FOUND: { status: 404, message: 'No such agent.' },
  TEAM_NOT_FOUND: { status: 404, message: 'No such team.' },
  PROVIDER_NOT_FOUND: { status: 404, message: 'No such provider.' },
  PROVIDER_CONFIG_INVALID: { status: 400, message: 'The provider configuration is not valid.' },
  MESSAGE_NOT_FOUND: { status: 404, message: 'No such message.' },
  MESSAGE_EMPTY: { status: 400, message: 'The message is empty.' },
  NOT_A_MEMBER: { status: 400, message: 'The agent is not a member of that team.' },
  CALL_NOT_ALLOWED: { status: 403, message: 'The agent may not call or hand work to that agent (agents.<id>.may_call).' },
  RUN_NOT_FOUND: { status: 404, message: 'No such run.' },
  APPROVAL_NOT_FOUND: { status: 404, message: 'No such approval request.' },
  APPROVAL_DECIDED: { status: 409, message: 'The approval request was already answered.' },
  APPROVAL_DECISION_INVALID: { status: 400, message: 'That decision does not fit the request (a question is answered or declined; a permission allowed or denied).' },
  OUTBOX_NOT_FOUND: { status: 404, message: 'No such outbox entry.' },
  CONVERSATION_NOT_FOUND: { status: 404, message: 'No such conversation.' },
  PAIRING_NOT_FOUND: { status: 404, message: 'No such pairing.' },
  SCHEDULE_NOT_FOUND: { status: 404, message: 'No such schedule.' },
  TASK_NOT_FOUND: { status: 404, message: 'No such task.' },
  PROJECT_NOT_FOUND: { status: 404, message: 'No such project.' },
  COMMENT_NOT_FOUND: { status: 404, message: 'No such comment.' },
  MEMORY_NOT_FOUND: { status: 404, message: 'No such memory entry.' },
  WORKFLOW_NOT_FOUND: { status: 404, message: 'No such workflow run.' },
  ALREADY_EXISTS: { status: 409, message: 'It already exists.' },
  INVALID_STATE: { status: 409, message: 'Not possible in the current state.' },
  NODE_UNAVAILABLE: { status: 503, message: 'The node that holds the disk this needs is down or did not answer; a task step waits for it.' },
  DB_BUSY: { status: 503, message: 'The database is busy; retry.' },
  DB_CONSTRAINT: { status: 409, message: 'The change conflicts with existing data.' },
  DB_ERROR: { status: 500, message: 'Database error.' },
  INVOKE_FAILED: { status: 502, message: 'The agent invocation failed.' },
  INVOKE_TIMEOUT: { status: 504, message: 'The agent invocation timed out.' },
  INVOKE_RATE_LIMITED: { status: 429, message: 'The provider is rate limiting; retry later.' },
  INVOKE_CANCELLED: { status: 409, message: 'The agent invocation was cancelled.' },
  SESSION_POOL_FULL: { status: 503, message: 'No warm session could be started within the memory limit; retry later.' },
  INPUT_TOO_LARGE: { status: 413, message: 'The input is too large.' },
  LIMIT_EXCEEDED: { status: 409, message: 'A limit was reached.' },
  GIT_FAILED: { status: 502, message: 'A git command failed; its exit code and stderr are in details.' },
  GIT_TIMEOUT: { status: 504, message: 'A git command did not finish in time.' },
  GIT_NOT_FOUND: { status: 500, message: "git is not installed on the daemon's machine." },
  WORKTREE_UNSAFE: { status: 409, message: "The task's worktree holds work that is neither merged nor pushed, or is uncommitted; it was kept." },
  WORKTREE_SETUP_FAILED: { status: 502, message: "The worktree's setup command failed; its log is in details." },
  MERGE_CONFLICT: { status: 409, message: "The task's branch conflicts with the base; nothing was merged (the conflicted paths are in details)." },
  FORGE_FAILED: { status: 502, message: "The project's forge (GitHub) answered with an error or could not be reached; its status and message are in details." },
  INTERNAL: { status: 500, message: 'Internal error; see the daemon log.' },
} as const satisfies Record<string, ErrorEntry>;

export const ERROR_REGISTRY = { ...SERVER_ERRORS, ...CORE_ERRORS } as const;

export type ApiErrorCode = keyof typeof ERROR_REGISTRY;
export type ServerErrorCode = keyof typeof SERVER_ERRORS;
