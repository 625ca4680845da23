/**
 * Approvals (docs/approvals.md): an agent asks before it acts (a tool call its runtime reports
 * as a permission request), the agent's permission rules decide what they can, and a person
 * answers the rest from any surface. Records are durable: who asked for what, when it expires,
 * who decided and how; the first answer wins.
 */
import * as z from 'zod';
import { route } from './route.ts';
import { IdParamsSchema, LimitQuery, NullableStr, NullableTimestamp, OptionalIdText, OptionalShortText, OptionalStr, Str, TimestampSchema } from './common.ts';

/**
 * `permission`: a tool call the agent asks to make (allow or deny). `question`: the agent asks
 * the person something and waits (the `ask_human` MCP tool, docs/mcp.md): answered with text, or
 * declined with `deny`. `egress`: a sandboxed agent's process connects to a host not on its
 * egress list (docs/sandbox.md#egress; input `{ host, port }`): allowed once, always (the host is
 * added to the agent's `egress_allow`) or denied. `task_rounds`: a repository-bound task's
 * Checking failed after the binding's `maxRounds` rounds (docs/git-tasks.md): a run-less request
 * (`runId` and `sessionKey` null, `taskId` set, no expiry) answered `more_rounds`, `take_over` or
 * `stop`. `workflow_budget`: a workflow run paused at its budget (docs/workflows.md#budgets): a
 * run-less request (no run, conversation, session or expiry; input `{ workflowRunId, name, spent,
 * budget }`) answered `raise_budget` or `stop`. The answers each kind takes: approvalAnswers (the
 * client's approval-text.ts).
 */
export const APPROVAL_KINDS = ['permission', 'question', 'egress', 'task_rounds', 'workflow_budget'] as const;
export type ApprovalKind = (typeof APPROVAL_KINDS)[number];

export const APPROVAL_STATUSES = ['pending', 'allowed', 'denied', 'answered', 'expired', 'cancelled'] as const;
export type ApprovalStatus = (typeof APPROVAL_STATUSES)[number];

/**
 * How a person answers: `allow_once` (this call), `allow_session` (the rules `allow_always`
 * would add, for the rest of the agent's session), `allow_always` (adds allow rules exactly as
 * wide as the request to the agent's settings), `deny` (with a reason the agent receives); a question is answered with
 * `answer` (and its text) or declined with `deny`. A `task_rounds` request: `more_rounds` (the
 * task's limit raised by `rounds`, else by the binding's `maxRounds`, and the task sent back to
 * its owner), `take_over` (a person takes it: In progress, assigned to nobody) or `stop` (out of
 * the loop, back to Todo); the worktree is kept either way. A `workflow_budget` request:
 * `raise_budget` (the run resumes with the budget given, `budgetUsd` and/or `budgetTokens`, else
 * with the same again: each cap doubled, or what it spent plus the cap when the steps running at
 * the pause spent past twice the cap) or `stop` (the run is cancelled).
 */
export const APPROVAL_DECISIONS = ['allow_once', 'allow_session', 'allow_always', 'deny', 'answer', 'more_rounds', 'take_over', 'stop', 'raise_budget'] as const;
export type ApprovalDecision = (typeof APPROVAL_DECISIONS)[number];

/** What a rule does with a matching request. */
export const PERMISSION_ACTIONS = ['allow', 'deny', 'ask'] as const;

/** The largest `input` a permission rule may hold, as JSON. */
export const MAX_RULE_INPUT_JSON = 10_000;

/**
 * One permission rule of an agent (`agents.<id>.permissions.rules`, docs/approvals.md). Every
 * condition given must match: `tool` a glob on the tool's name (`Bash`, `mcp__*`), `command`
 * (shell tools only) a glob on each simple command of the line as bash reads it (a line not read
 * for certain is allowed only by a rule for the whole line), `path` `inside` / `outside` the
 * agent's workspace (links resolved) or a glob on the absolute path, `input` the tool's whole
 * input, exactly (as masked for people: what `allow_always` adds for a tool with no command or
 * path). In a glob `\` makes the next character literal and, in a command, `…` stands for one
 * masked secret. `sandboxed: true`: the rule holds only while the agent's sandbox is enforced.
 */
export const PermissionRuleSchema = z.strictObject({
  action: z.enum(PERMISSION_ACTIONS),
  tool: z.string().min(1).max(200).optional(),
  command: z.string().min(1).max(1000).optional(),
  path: z.string().min(1).max(4096).optional(),
  input: z
    .unknown()
    .refine((v) => v !== undefined && JSON.stringify(v).length <= MAX_RULE_INPUT_JSON, { message: `must be a JSON value of at most ${MAX_RULE_INPUT_JSON} characters` })
    .optional(),
  sandboxed: z.literal(true).optional(),
});
export type PermissionRule = z.infer<typeof PermissionRuleSchema>;

export const ApprovalSchema = z
  .object({
    id: Str,
    kind: z.enum(APPROVAL_KINDS),
    status: z.enum(APPROVAL_STATUSES),
    /**
     * The agent that asks; for `task_rounds`, the task's owner (its assignee agent, or team); for
     * `workflow_budget`, whoever started the workflow run (the run's `startedBy`: the agent whose
     * run started it, so its `permissions.approvers` answer, or `person`).
     */
    agentId: Str,
    /** The run that asks; null for a run-less request (`task_rounds`, `workflow_budget`). */
    runId: NullableStr,
    /** The conversation it belongs to (for `task_rounds`, the task's, when it has one; none for `workflow_budget`). */
    conversationId: NullableStr,
    /** The agent's session the request belongs to (allow_session applies there); null for a run-less request. */
    sessionKey: NullableStr,
    /** The task a `task_rounds` request is about (absent for the other kinds). */
    taskId: Str.optional(),
    /** The tool as the runtime names it (`Bash`, `Edit`, `commandExecution`, …); `ask_human` for a question; `egress` for a connection. */
    tool: Str,
    /** The tool's input, secrets masked; a question's is `{ question, choices? }`; a connection's `{ host, port }`. */
    input: z.unknown(),
    /** One line for people: `Bash: rm -rf build`, or the question. */
    summary: Str,
    requestedAt: TimestampSchema,
    /** When nobody's answer expires it; null: it waits until answered (`task_rounds`, `workflow_budget`). */
    expiresAt: NullableTimestamp,
    decidedAt: NullableTimestamp,
    /**
     * Who answered (`cli`, `tinyoffice`, `telegram:<sender>`, `rule`, `expiry`, `restart`); what
     * closed a `workflow_budget` request unanswered: `resume` or `cancel` (its run resumed or cancelled by hand).
     */
    decidedBy: NullableStr,
    decision: z.enum(APPROVAL_DECISIONS).nullable(),
    /** A denial's reason, as the agent receives it. */
    reason: NullableStr,
    /**
     * A question's answer, as the agent receives it; for `task_rounds` answered `more_rounds`, the
     * rounds given (`"5"`); for `raise_budget`, the budget given (`"$5"`, `"200000 tokens"`, `"$5 and
     * 200000 tokens"`), null when none was (the same again).
     */
    answer: NullableStr,
    /**
     * What it asks, as one key and title (`Bash: npm install`, `Edit`, `Connect to pypi.org:443`;
     * docs/approvals.md, "A burst of requests"): requests with the same key are one group.
     */
    groupKey: Str.optional(),
    /** Present when a person answered it together with others in one request (`decideApprovals`): the same id on each of them. */
    batchId: Str.optional(),
  })
  .meta({ id: 'Approval' });
export type Approval = z.infer<typeof ApprovalSchema>;

/** `raise_budget`: the run's new budget (each given replaces its cap; none given: the same again). */
const RaiseBudgetBody = {
  budgetUsd: z.number().positive().max(1_000_000).optional(),
  budgetTokens: z.int().positive().optional(),
};
const raiseBudgetOnly = (b: { decision: string; budgetUsd?: number | undefined; budgetTokens?: number | undefined }): boolean =>
  (b.budgetUsd === undefined && b.budgetTokens === undefined) || b.decision === 'raise_budget';
const RAISE_BUDGET_ONLY = { message: '"budgetUsd" and "budgetTokens" go with decision "raise_budget" only', path: ['budgetUsd'] };

export const ApprovalDecisionBodySchema = z
  .strictObject({
    decision: z.enum(APPROVAL_DECISIONS),
    reason: z.string().max(2000).optional(),
    /** A question's answer (with `decision: "answer"`). */
    answer: z.string().max(20_000).optional(),
    /** Who answers: a channel token's paired sender (`<channel>:<sender id>`); with the API token, the client's own label (`cli`; no `:`, not `tinyoffice`), else recorded as `api`; ignored for a TinyOffice login (`tinyoffice`). */
    by: z.string().min(1).max(200).optional(),
    /** `more_rounds`: how many more rounds the task gets (default: the binding's `maxRounds`). */
    rounds: z.int().min(1).max(100).optional(),
    ...RaiseBudgetBody,
  })
  .refine((b) => b.decision !== 'answer' || (b.answer !== undefined && b.answer.trim() !== ''), { message: 'decision "answer" needs a non-empty answer', path: ['answer'] })
  .refine((b) => b.rounds === undefined || b.decision === 'more_rounds', { message: '"rounds" goes with decision "more_rounds" only', path: ['rounds'] })
  .refine(raiseBudgetOnly, RAISE_BUDGET_ONLY);
export type ApprovalDecisionBody = z.infer<typeof ApprovalDecisionBodySchema>;

/**
 * A permission request of a running agent whose CLI asks through TinyAGI's MCP tool (per-message
 * Claude Code: `--permission-prompt-tool mcp__tinyagi__approval_prompt`): the run's approval
 * step decides (rules, this session's allowances, else a person, until it expires).
 */
export const RunApprovalBodySchema = z.strictObject({
  /** The tool as the CLI names it (`Bash`, `Edit`, `mcp__github__create_issue`). */
  tool: z.string().min(1).max(200),
  /** Its input as the CLI gave it (masked before it is stored or shown). */
  input: z.unknown(),
  /** One line for people; made from the tool and input when left out. */
  summary: z.string().min(1).max(2000).optional(),
});
export type RunApprovalBody = z.infer<typeof RunApprovalBodySchema>;

export const RunApprovalAnswerSchema = z.object({
  allow: z.boolean(),
  /** A denial's reason, for the model. */
  reason: OptionalStr,
  /** Who or what decided: `rule`, `mode`, `session`, `expiry`, `cancelled`, or the person's surface. */
  decidedBy: Str,
});
export type RunApprovalAnswer = z.infer<typeof RunApprovalAnswerSchema>;

/** Pending requests that ask the same thing (the same `groupKey`), as one line for a person. */
export const ApprovalGroupSchema = z
  .object({
    /** The requests' `groupKey`: also the group's title. */
    key: Str,
    kind: z.enum(APPROVAL_KINDS),
    count: z.int(),
    /** The agents that ask, most requests first. */
    agents: z.array(Str),
    /** Every request of the group, oldest first (what "all N" answers). */
    ids: z.array(Str),
    /** The oldest few requests, in full: a sample of what is asked. */
    sample: z.array(ApprovalSchema),
    /** The answers every request of the group takes. */
    answers: z.array(z.enum(APPROVAL_DECISIONS)),
    /** When its first request expires; null when none does. */
    expiresAt: NullableTimestamp,
  })
  .meta({ id: 'ApprovalGroup' });
export type ApprovalGroup = z.infer<typeof ApprovalGroupSchema>;

/** The most requests one batch answers. */
export const MAX_BATCH_APPROVALS = 500;

/**
 * One answer for many requests: those listed (`ids`), or every pending request of a group
 * (`group`, its key), as the answer to each.
 */
export const ApprovalBatchBodySchema = z
  .strictObject({
    ids: z.array(z.string().min(1).max(200)).min(1).max(MAX_BATCH_APPROVALS).optional(),
    group: z.string().min(1).max(400).optional(),
    /** With `group`: only this agent's requests of the group. */
    agent: OptionalShortText,
    /** A channel-scoped token: its own channel; only the requests of its conversations are answered. */
    channel: OptionalShortText,
    decision: z.enum(APPROVAL_DECISIONS),
    reason: z.string().max(2000).optional(),
    answer: z.string().max(20_000).optional(),
    by: z.string().min(1).max(200).optional(),
    rounds: z.int().min(1).max(100).optional(),
    ...RaiseBudgetBody,
  })
  .refine((b) => (b.ids === undefined) !== (b.group === undefined), { message: 'give either "ids" or "group", not both', path: ['ids'] })
  .refine((b) => b.decision !== 'answer' || (b.answer !== undefined && b.answer.trim() !== ''), { message: 'decision "answer" needs a non-empty answer', path: ['answer'] })
  .refine((b) => b.rounds === undefined || b.decision === 'more_rounds', { message: '"rounds" goes with decision "more_rounds" only', path: ['rounds'] })
  .refine(raiseBudgetOnly, RAISE_BUDGET_ONLY);
export type ApprovalBatchBody = z.infer<typeof ApprovalBatchBodySchema>;

/** Why a request of a batch was left as it was. */
export const APPROVAL_BATCH_SKIPS = ['decided', 'not_found', 'invalid', 'forbidden'] as const;

export const ApprovalBatchResultSchema = z
  .object({
    /** Recorded on each request answered (`batchId`). */
    batchId: Str,
    /** The requests this answer decided, each recorded on its own. */
    decided: z.array(ApprovalSchema),
    /**
     * The requests left as they were, each with why: `decided` (answered or expired in between:
     * `approval` says how), `not_found`, `invalid` (the answer does not fit its kind),
     * `forbidden` (this sender may not answer it).
     */
    skipped: z.array(z.object({ id: Str, why: z.enum(APPROVAL_BATCH_SKIPS), message: Str, approval: ApprovalSchema.optional() })),
  })
  .meta({ id: 'ApprovalBatchResult' });
export type ApprovalBatchResult = z.infer<typeof ApprovalBatchResultSchema>;

export const approvalsContract = {
  listApprovalGroups: route({
    method: 'GET',
    path: '/api/approvals/groups',
    summary:
      'The pending requests grouped by what they ask (`groupKey`), largest group first (filter by kind, agent, or the channel the conversation came in through: a channel-scoped token must give its own `channel`)',
    tag: 'approvals',
    auth: 'channel',
    query: z.object({
      kind: z.enum(APPROVAL_KINDS).optional(),
      agent: OptionalShortText,
      channel: OptionalShortText,
    }),
    response: z.array(ApprovalGroupSchema),
  }),
  decideApprovals: route({
    method: 'POST',
    path: '/api/approvals/decisions',
    summary:
      "One answer for many pending requests: the `ids` given, or every pending request of a `group`. Each is decided and recorded on its own (who, when, and the batch); one answered or expired in between, or one the answer does not fit, is reported in `skipped` and left as it is. A channel-scoped token gives its own `channel` and answers only its conversations' requests, for a paired sender (`by`) who may answer each",
    tag: 'approvals',
    auth: 'channel',
    body: ApprovalBatchBodySchema,
    response: ApprovalBatchResultSchema,
  }),
  listApprovals: route({
    method: 'GET',
    path: '/api/approvals',
    summary: 'Approval requests, newest first (filter by status, agent, conversation, or the channel the conversation came in through: a channel-scoped token must give its own `channel`)',
    tag: 'approvals',
    auth: 'channel',
    query: z.object({
      status: z.enum(APPROVAL_STATUSES).optional(),
      kind: z.enum(APPROVAL_KINDS).optional(),
      // An empty value (`?agent=`) is a 400, not "no filter": a caller that meant one agent must not get every agent's requests.
      agent: OptionalShortText,
      conversationId: OptionalIdText,
      /** The requests about one task (`task_rounds`). */
      taskId: OptionalIdText,
      channel: OptionalShortText,
      limit: LimitQuery,
    }),
    response: z.array(ApprovalSchema),
  }),
  getApproval: route({
    method: 'GET',
    path: '/api/approvals/:id',
    summary: "One approval request (a channel-scoped token: of its own channel's conversations only)",
    tag: 'approvals',
    auth: 'channel',
    params: IdParamsSchema,
    response: ApprovalSchema,
  }),
  decideApproval: route({
    method: 'POST',
    path: '/api/approvals/:id/decision',
    summary:
      "Answer a pending request: a permission is allowed once, for the session, always (adds a rule), or denied with a reason; a question is answered (`answer`) or declined (`deny`); a task's rounds (`task_rounds`) are answered `more_rounds` (optional `rounds`), `take_over` or `stop`; a workflow run paused at its budget (`workflow_budget`) `raise_budget` (optional `budgetUsd`, `budgetTokens`; the run resumes) or `stop` (it is cancelled). The first answer wins: 409 APPROVAL_DECIDED says who decided. A channel-scoped token answers for a paired sender of its own channel (`by`: `<channel>:<sender id>`, matching the agent's `permissions.approvers` when it has them), else 403 SCOPE_FORBIDDEN",
    tag: 'approvals',
    auth: 'channel',
    params: IdParamsSchema,
    body: ApprovalDecisionBodySchema,
    response: ApprovalSchema,
  }),
  requestRunApproval: route({
    method: 'POST',
    path: '/api/runs/:id/approval',
    summary:
      "A running agent's CLI asks before a tool call (the MCP tool `approval_prompt`): answered by the agent's rules at once, else held until a person decides or the request expires. Only the run's own token may; 409 INVALID_STATE when the run is not running here",
    tag: 'approvals',
    auth: 'run',
    params: IdParamsSchema,
    body: RunApprovalBodySchema,
    response: RunApprovalAnswerSchema,
  }),
} as const;
