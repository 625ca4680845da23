/**
 * The words every surface (the CLI, the TUI, TinyOffice, the chat apps) uses for an approval
 * request: a question's parts, and what became of a request, so the same facts read the same
 * everywhere.
 */
import type { Approval, ApprovalBatchResult, ApprovalDecision, ApprovalKind } from './contract/approvals.ts';

const ANSWERS: Record<ApprovalKind, readonly ApprovalDecision[]> = {
  permission: ['allow_once', 'allow_session', 'allow_always', 'deny'],
  question: ['answer', 'deny'],
  // A connection has no session to be allowed for: the proxy knows the agent, not the process (docs/sandbox.md#egress).
  egress: ['allow_once', 'allow_always', 'deny'],
  // A task's rounds ran out (docs/git-tasks.md): give it more, take it over, or stop it.
  task_rounds: ['more_rounds', 'take_over', 'stop'],
  // A workflow run paused at its budget (docs/workflows.md#budgets): more budget, or cancel it.
  workflow_budget: ['raise_budget', 'stop'],
};

/** What each answer to a `task_rounds` request is called on every surface (`more_rounds` with its number where the surface has one). */
export const TASK_ROUNDS_LABELS: Record<'more_rounds' | 'take_over' | 'stop', string> = { more_rounds: 'Another {n} rounds', take_over: 'Take over', stop: 'Stop' };

/** The parts of a `task_rounds` request: its input `{ taskId, identifier, title, projectId, rounds, moreRounds, missing }` as the Checking stored it. */
export function approvalTaskRounds(approval: Pick<Approval, 'input' | 'summary' | 'taskId'>): {
  taskId: string;
  projectId: string | null;
  identifier: string;
  title: string;
  rounds: number;
  /** How many rounds `more_rounds` gives when no number is given (the binding's `maxRounds`). */
  moreRounds: number;
  missing: string[];
} {
  const input = (approval.input ?? {}) as Record<string, unknown>;
  const num = (v: unknown, d: number): number => (typeof v === 'number' && Number.isFinite(v) ? v : d);
  const text = (v: unknown, d: string): string => (typeof v === 'string' && v !== '' ? v : d);
  const taskId = text(input.taskId, approval.taskId ?? '?');
  return {
    taskId,
    projectId: typeof input.projectId === 'string' && input.projectId !== '' ? input.projectId : null,
    identifier: text(input.identifier, taskId),
    title: text(input.title, approval.summary),
    rounds: num(input.rounds, 0),
    moreRounds: num(input.moreRounds, 5),
    missing: Array.isArray(input.missing) ? input.missing.filter((m): m is string => typeof m === 'string') : [],
  };
}

/** What each answer to a `workflow_budget` request is called on every surface. */
export const WORKFLOW_BUDGET_LABELS: Record<'raise_budget' | 'stop', string> = { raise_budget: 'Raise the budget', stop: 'Stop the run' };

/** A workflow run's caps (null: none) and what it has spent. */
export interface WorkflowBudgetAsk {
  workflowRunId: string;
  /** The workflow's name (its registered name, else its module's). */
  name: string;
  spent: { usd: number; tokens: number };
  budget: { usd: number | null; tokens: number | null };
}

/** The parts of a `workflow_budget` request: its input `{ workflowRunId, name, spent, budget }` as the engine stored it at the pause. */
export function approvalWorkflowBudget(approval: Pick<Approval, 'input' | 'summary'>): WorkflowBudgetAsk {
  const input = (approval.input ?? {}) as Record<string, unknown>;
  const part = (v: unknown): Record<string, unknown> => (v && typeof v === 'object' ? (v as Record<string, unknown>) : {});
  const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);
  const spent = part(input.spent);
  const budget = part(input.budget);
  return {
    workflowRunId: typeof input.workflowRunId === 'string' ? input.workflowRunId : '?',
    name: typeof input.name === 'string' && input.name !== '' ? input.name : approval.summary,
    spent: { usd: num(spent.usd) ?? 0, tokens: num(spent.tokens) ?? 0 },
    budget: { usd: num(budget.usd), tokens: num(budget.tokens) },
  };
}

/** A budget as every surface writes it, and as a `raise_budget` answer records it: `$5`, `200000 tokens`, `$5 and 200000 tokens` (empty: no cap). */
export function budgetText(budget: { usd?: number | null | undefined; tokens?: number | null | undefined }): string {
  const parts: string[] = [];
  if (budget.usd !== undefined && budget.usd !== null) parts.push(`$${budget.usd}`);
  if (budget.tokens !== undefined && budget.tokens !== null) parts.push(`${budget.tokens} tokens`);
  return parts.join(' and ');
}

/** budgetText read back (a `$` amount and/or a whole number of tokens, each positive); undefined when it is not one. */
export function parseBudgetText(text: string): { usd?: number; tokens?: number } | undefined {
  const parts = text.trim().split(/\s+and\s+/i);
  const out: { usd?: number; tokens?: number } = {};
  for (const part of parts) {
    const usd = /^\$(\d+(?:\.\d+)?)$/.exec(part);
    const tokens = /^(\d+) tokens?$/i.exec(part);
    if (usd && out.usd === undefined && Number(usd[1]) > 0) out.usd = Number(usd[1]);
    else if (tokens && out.tokens === undefined && Number(tokens[1]) > 0) out.tokens = Number(tokens[1]);
    else return undefined;
  }
  return out;
}

/** The answers a request of this kind takes (the desk refuses any other); a surface offers these. */
export function approvalAnswers(kind: ApprovalKind): readonly ApprovalDecision[] {
  return ANSWERS[kind] ?? ANSWERS.permission;
}

/** A connection's host and port (an approval of kind `egress`: its input `{ host, port }`). */
export function approvalEgress(approval: Pick<Approval, 'input'>): { host: string; port: number } {
  const input = (approval.input ?? {}) as { host?: unknown; port?: unknown };
  return { host: typeof input.host === 'string' ? input.host : '?', port: typeof input.port === 'number' ? input.port : 0 };
}

/**
 * A question's parts (an approval of kind `question`, asked by `ask_human`): its input is
 * `{ question, choices? }` as the desk stored it (masked). A blank question falls back to the
 * summary; choices that are not text or are blank are left out.
 */
export function approvalQuestion(approval: Pick<Approval, 'input' | 'summary'>): { question: string; choices: string[] } {
  const input = (approval.input ?? {}) as { question?: unknown; choices?: unknown };
  const question = typeof input.question === 'string' && input.question.trim() !== '' ? input.question : approval.summary;
  const choices = Array.isArray(input.choices) ? input.choices.filter((c): c is string => typeof c === 'string' && c.trim() !== '') : [];
  return { question, choices };
}

/** The first words of an outcome, the same on every surface. */
export type ApprovalOutcomeHead =
  | 'Waiting for an answer'
  | 'Allowed once'
  | 'Allowed for the session'
  | 'Allowed always'
  | 'Denied'
  | 'Declined'
  | 'Answered'
  | 'More rounds'
  | 'Taken over'
  | 'Stopped'
  | 'Budget raised'
  | 'Expired'
  | 'Cancelled';

/**
 * What became of a request, in parts a surface frames its own way (an emoji in a chat, lower
 * case inside the TUI's sentence, `Outcome: @agent summary (detail).` in the CLI).
 */
export interface ApprovalOutcome {
  head: ApprovalOutcomeHead;
  /** Who answered (`cli`, `tinyoffice`, `telegram:12345`); left out when nobody did (expired, cancelled). */
  by?: string;
  /**
   * A denial's reason, a question's answer, that a rule was added (allowed always), or why it
   * expired or was cancelled and, for an expired permission, what was done instead.
   */
  detail?: string;
}

type OutcomeFields = Pick<Approval, 'kind' | 'status' | 'decision' | 'decidedBy' | 'reason' | 'answer'>;

const ALLOWED: Partial<Record<ApprovalDecision, ApprovalOutcomeHead>> = { allow_session: 'Allowed for the session', allow_always: 'Allowed always' };

/**
 * `{ head: 'Denied', by: 'cli', detail: 'use staging' }`, `{ head: 'Expired', detail: 'nobody
 * answered within 600 s; denied' }`. The desk's expiry and cancel records carry the who (`expiry`,
 * `restart`, `cancelled`) in `decidedBy`: said in the detail, not as a person who answered.
 */
export function approvalOutcome(a: OutcomeFields): ApprovalOutcome {
  const by = a.decidedBy ? { by: a.decidedBy } : {};
  const reason = a.reason?.trim() ? a.reason.trim() : undefined;
  switch (a.status) {
    case 'pending':
      return { head: 'Waiting for an answer' };
    case 'allowed': {
      const added = a.kind === 'egress' ? "the host was added to the agent's egress list" : 'a rule was added';
      const detail = [a.decision === 'allow_always' ? added : undefined, reason].filter((d) => d !== undefined).join('; ');
      return { head: ALLOWED[a.decision ?? 'allow_once'] ?? 'Allowed once', ...by, ...(detail ? { detail } : {}) };
    }
    case 'denied':
      return { head: a.kind === 'question' ? 'Declined' : 'Denied', ...by, ...(reason ? { detail: reason } : {}) };
    case 'answered':
      // A task's rounds: `More rounds by cli: another 5`, `Taken over by tinyoffice`, `Stopped by telegram:1: not worth it`.
      if (a.decision === 'more_rounds') return { head: 'More rounds', ...by, ...(a.answer ? { detail: `another ${a.answer}` } : {}) };
      if (a.decision === 'take_over') return { head: 'Taken over', ...by, ...(reason ? { detail: reason } : {}) };
      if (a.decision === 'stop') return { head: 'Stopped', ...by, ...(reason ? { detail: reason } : {}) };
      // A workflow run's budget: `Budget raised by cli: to $5`, or (none given) `: the same again` (each cap doubled).
      if (a.decision === 'raise_budget') return { head: 'Budget raised', ...by, detail: a.answer ? `to ${a.answer}` : 'the same again' };
      return { head: 'Answered', ...by, ...(a.answer ? { detail: a.answer } : {}) };
    case 'expired': {
      const why = reason ?? 'nobody answered in time';
      return { head: 'Expired', detail: a.kind === 'question' ? why : `${why}; ${a.decision === 'allow_once' ? 'allowed, as configured' : 'denied'}` };
    }
    case 'cancelled': {
      const why = reason?.replace(/^denied: /, '');
      return { head: 'Cancelled', ...(why ? { detail: why } : {}) };
    }
  }
}

/** The outcome in one line: `Allowed once by cli`, `Denied by tinyoffice: use staging`, `Expired: nobody answered within 600 s; denied`. */
export function approvalOutcomeText(a: OutcomeFields): string {
  const { head, by, detail } = approvalOutcome(a);
  return `${head}${by ? ` by ${by}` : ''}${detail ? `: ${detail}` : ''}`;
}

const SKIP_WORDS: Record<ApprovalBatchResult['skipped'][number]['why'], string> = {
  decided: 'answered or expired meanwhile',
  not_found: 'not found',
  invalid: 'not one this answer fits',
  forbidden: 'not yours to answer',
};

/** One answer for many (`decideApprovals`) in one line: `Allowed once by cli: 11 requests; 1 left as it was (answered or expired meanwhile).` */
export function approvalBatchText(result: { decided: readonly OutcomeFields[]; skipped: readonly Pick<ApprovalBatchResult['skipped'][number], 'why'>[] }): string {
  const n = result.decided.length;
  const first = result.decided[0];
  let head = 'Nothing was answered';
  if (first !== undefined) {
    const { head: words, by } = approvalOutcome(first);
    head = `${words}${by ? ` by ${by}` : ''}: ${n} ${n === 1 ? 'request' : 'requests'}`;
  }
  const left = result.skipped.length;
  if (left === 0) return `${head}.`;
  const why = new Map<string, number>();
  for (const s of result.skipped) why.set(SKIP_WORDS[s.why], (why.get(SKIP_WORDS[s.why]) ?? 0) + 1);
  const reasons = [...why].map(([w, c]) => (why.size === 1 ? w : `${c} ${w}`)).join(', ');
  return `${head}; ${left} left as ${left === 1 ? 'it was' : 'they were'} (${reasons}).`;
}
