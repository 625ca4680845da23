/**
 * The approval desk (docs/approvals.md): every permission request of a running agent passes
 * here (InvokeRequest.askApproval). In order:
 *
 * 1. the agent's rules (`permissions.rules`, core's approvals/rules.ts), judged in the folder the
 *    run works in (a task's worktree, else the agent's workspace), those for a sandboxed agent
 *    only while its sandbox is enforced: deny, ask or allow at
 *    once; with no matching rule the agent's mode decides (`ask`: a person; any other mode lets
 *    the CLI's own mode stand, so the request is allowed here);
 * 2. what a person allowed for this session before (`allow_session`: the rules an
 *    `allow_always` would add, core's approvals/answer-rules.ts, kept for the session);
 * 3. otherwise a durable request (`approvals` table, `approval.requested`), answered from any
 *    surface (`decide`: the first answer wins, in the database, so across nodes too) or expiring
 *    after `permissions.expires_s` (default 600 s) with `permissions.on_expiry` (default deny).
 *
 * While a request waits, the run's inactivity watchdog waits too (`waiting(runId)`); its wall
 * clock keeps counting. A run cancelled while it waits is answered "denied: the run was
 * cancelled" and its request cancelled. Requests left pending by a daemon that stopped are
 * cancelled at the next start ("the session ended"): their CLI processes are gone.
 *
 * Observers (core's observer seam, docs/observers.md) hear `approvalRequested` once a request's
 * row is written and `approvalSettled` once it ended, from the waiter: so only on the node whose
 * run waits on it, once per request, whoever decided (this node's `decide`, another node's seen
 * by the poll, expiry, cancel), and before the run is given the answer.
 */
import { approvalAnswers } from '@tinyagi/client';
import type { ApprovalDecision, ApprovalKind, PermissionRule } from '@tinyagi/client/contract';
import { newId, TinyError, type ApprovalAnswer, type ApprovalAsk, type ObserverList, type Settings, type AgentSettings, type ApprovalRecord } from '@tinyagi/core';
import {
  agentWorkspaceDir,
  Deadline,
  evaluatePermission,
  isOwnRequest,
  maskSecretsInText,
  maskToolInput,
  ownEntry,
  rulesForAnswer,
  type SandboxHost,
  sandboxStatusOf,
  type StoreSet,
} from '../core-internal.ts';
import { abortCause } from '../orchestrator/abort.ts';
import { confinerRuleSets, tightenedSettings, tighterVerdict, type Verdict } from '../guards/confinement.ts';
import { budgetAnswer } from '../workflows/budget-request.ts';

const DEFAULT_APPROVAL_EXPIRES_S = 600;
/** How often a waiter re-reads its request (a decision taken on another node). */
const POLL_MS = 2_000;
/** A request whose session is gone: the daemon stopped, or restarted with it waiting (the CLI process that asked is gone). */
const SESSION_ENDED = 'denied: the session ended';
/** Requests no run waits on (a task's rounds, a workflow run's budget): answered, never allowed; left pending by a restart. */
const RUN_LESS: ReadonlySet<ApprovalKind> = new Set(['task_rounds', 'workflow_budget']);

export interface ApprovalRun {
  id: string;
  agentId: string;
  conversationId: string;
  /** The folder the run works in when it is not the agent's workspace (a task's worktree): its requests are judged from there. */
  workdir?: string | undefined;
  /** The agents whose confinement follows the run (guards/confinement.ts): their rules judge its requests too. */
  confinedBy?: readonly string[] | undefined;
}

/** An `ask_human` question: free text, with suggested answers the surfaces may offer as buttons. */
export interface HumanQuestion {
  question: string;
  choices?: string[] | undefined;
}

export type HumanAnswer = { answered: true; answer: string; decidedBy: string } | { answered: false; reason: string };

/** A connection a sandboxed agent's process wants to make (core's EgressAsk, without the agent: the run says it). */
export interface EgressRequest {
  host: string;
  port: number;
  /** One line for people, made by the proxy: `Connect to example.com:443`. */
  summary: string;
}

export interface ApprovalDeskOptions {
  stores: Pick<StoreSet, 'approvals' | 'events'>;
  getSettings: () => Settings;
  env: NodeJS.ProcessEnv;
  /** The node's sandbox host: rules for sandboxed agents hold while its check enforces the boundary (absent: they do not). */
  sandboxHost?: SandboxHost | undefined;
  /** The orchestrator's observers: told `approvalRequested` and `approvalSettled`. */
  observers?: Pick<ObserverList, 'listening' | 'notify'> | undefined;
  onError?: (err: unknown) => void;
}

interface Waiter {
  runId: string;
  resolve: (record: ApprovalRecord) => void;
}

export class ApprovalDesk {
  readonly #opts: ApprovalDeskOptions;
  readonly #waiters = new Map<string, Waiter>();
  /** `agent\0session` → the rules of its allow_session answers. */
  readonly #sessionAllows = new Map<string, PermissionRule[]>();

  constructor(opts: ApprovalDeskOptions) {
    this.#opts = opts;
  }

  /** True while a request of `runId` waits for a person. */
  waiting(runId: string): boolean {
    for (const w of this.#waiters.values()) if (w.runId === runId) return true;
    return false;
  }

  async ask(run: ApprovalRun, sessionKey: string, ask: ApprovalAsk, signal: AbortSignal): Promise<ApprovalAnswer> {
    // A run a confined run started is judged as the tighter of its agent and its callers (guards/confinement.ts).
    const settings = tightenedSettings(this.#opts.getSettings(), run.agentId, run.confinedBy);
    const agent = ownEntry(settings.agents, run.agentId) ?? {};
    const permissions = agent.permissions ?? {};
    const workspace = run.workdir ?? agentWorkspaceDir(settings, run.agentId, this.#opts.env);
    // Rules for a sandboxed agent (`sandboxed: true`) hold while its boundary does.
    // One time budget for the whole request, whichever rule sets judge it (core's approvals/deadline.ts).
    const context = { sandboxed: sandboxStatusOf(settings, run.agentId, this.#opts.sandboxHost?.machineCheck(this.#opts.env)).state === 'enforced', deadline: new Deadline() };
    const judge = (id: string, judged: AgentSettings): Verdict => {
      // TinyAGI's own protocol (its MCP tools, `tinyagi call` in a shell) acts under the run's token and the team's guards: allowed unless a rule says otherwise.
      const fallback = judged.permission_mode === 'ask' && !isOwnRequest(ask, context.deadline) ? 'ask' : 'allow';
      const verdict = evaluatePermission((judged.permissions?.rules ?? []) as PermissionRule[], ask, workspace, fallback, context);
      if (verdict.action === 'deny') return { action: 'deny', by: id, why: describeRule(verdict.rule) };
      return { action: verdict.action === 'allow' ? 'allow' : 'ask', ...(verdict.action === 'allow' && verdict.rule ? { rule: true } : {}) };
    };
    const own = judge(run.agentId, agent);
    const verdict = tighterVerdict([own, ...confinerRuleSets(settings, run.agentId, run.confinedBy).map((c) => judge(c.id, c.agent))]);
    if (verdict.action === 'deny') {
      const whose = verdict.by === run.agentId ? `@${run.agentId}` : `@${verdict.by}, whose confinement follows this run`;
      return { allow: false, reason: `denied by a permission rule of ${whose} (${verdict.why})`, decidedBy: 'rule' };
    }
    if (verdict.action === 'allow') return { allow: true, decidedBy: own.action === 'allow' && own.rule ? 'rule' : 'mode' };
    const sessionRules = this.#sessionAllows.get(sessionId(run.agentId, sessionKey));
    if (sessionRules && evaluatePermission(sessionRules, ask, workspace, 'ask', context).action === 'allow') return { allow: true, decidedBy: 'session' };
    if (signal.aborted) return { allow: false, reason: abortedText(signal), decidedBy: 'cancelled' };

    const now = Date.now();
    const expiresS = permissions.expires_s ?? DEFAULT_APPROVAL_EXPIRES_S;
    // Every text the runtime supplied is masked before it is stored, shown or sent in an event:
    // an ACP agent's summary is its tool title, which quotes the command (`API_TOKEN=sk-…`).
    const input = maskToolInput(ask.input);
    const tool = maskSecretsInText(ask.tool);
    const record = await this.#opts.stores.approvals.create({
      id: newId('apr'),
      kind: 'permission',
      agentId: run.agentId,
      runId: run.id,
      conversationId: run.conversationId,
      sessionKey,
      tool,
      input,
      summary: ask.summary === undefined ? summarize(tool, input) : maskSecretsInText(ask.summary),
      requestedAt: now,
      expiresAt: now + expiresS * 1000,
    });
    await this.#event('approval.requested', record);
    this.#requested(record);
    const decided = await this.#wait(record, signal, permissions.on_expiry === 'allow' ? 'allow' : 'deny', expiresS);
    if (decided.decision === 'allow_session') {
      const key = sessionId(run.agentId, sessionKey);
      this.#sessionAllows.set(key, [...(this.#sessionAllows.get(key) ?? []), ...rulesForAnswer(record, workspace)]);
    }
    const allow = decided.status === 'allowed';
    return allow ? { allow, decidedBy: decided.decidedBy ?? 'person' } : { allow, reason: denialText(decided), decidedBy: decided.decidedBy ?? 'person' };
  }

  /**
   * The agent asks the person something and waits (`ask_human`, docs/mcp.md): a durable request
   * of kind `question`, answered from any surface like an approval, or declined (`deny`). It
   * expires after the agent's `permissions.expires_s` (the agent is told nobody answered); a
   * cancelled run's question is cancelled.
   */
  async askHuman(run: ApprovalRun, sessionKey: string, question: HumanQuestion, signal: AbortSignal): Promise<HumanAnswer> {
    if (signal.aborted) return { answered: false, reason: 'the run was cancelled' };
    const permissions = ownEntry(this.#opts.getSettings().agents, run.agentId)?.permissions ?? {};
    const expiresS = permissions.expires_s ?? DEFAULT_APPROVAL_EXPIRES_S;
    const now = Date.now();
    const input = maskToolInput({ question: question.question, ...(question.choices?.length ? { choices: question.choices } : {}) });
    const text = maskSecretsInText(question.question).replace(/\s+/g, ' ').trim();
    const record = await this.#opts.stores.approvals.create({
      id: newId('apr'),
      kind: 'question',
      agentId: run.agentId,
      runId: run.id,
      conversationId: run.conversationId,
      sessionKey,
      tool: 'ask_human',
      input,
      summary: text.length > 300 ? `${text.slice(0, 300)}…` : text,
      requestedAt: now,
      expiresAt: now + expiresS * 1000,
    });
    await this.#event('approval.requested', record);
    this.#requested(record);
    const decided = await this.#wait(record, signal, 'deny', expiresS);
    if (decided.status === 'answered' && decided.answer !== null) return { answered: true, answer: decided.answer, decidedBy: decided.decidedBy ?? 'person' };
    const reason =
      decided.status === 'expired'
        ? `nobody answered within ${expiresS} s`
        : decided.status === 'cancelled'
          ? (decided.reason ?? 'the question was cancelled').replace(/^denied: /, '')
          : `${decided.decidedBy ?? 'the person'} declined to answer${decided.reason ? `: ${decided.reason}` : ''}`;
    return { answered: false, reason };
  }

  /**
   * A sandboxed agent's connection to a host off its egress list (core's sandbox/egress-proxy.ts,
   * docs/sandbox.md#egress): a durable request of kind `egress` (input `{ host, port }`) on the
   * run it is attributed to, answered allow once, allow always (the answer's route adds the host
   * to the agent's `egress_allow`) or deny. No rule or session allowance applies: the egress list
   * is the agent's rule. It expires after the agent's `permissions.expires_s`, refused whatever
   * `on_expiry` says (a connection nobody allowed is not made).
   */
  async askEgress(run: ApprovalRun, sessionKey: string, ask: EgressRequest, signal: AbortSignal): Promise<ApprovalAnswer> {
    if (signal.aborted) return { allow: false, reason: abortedText(signal), decidedBy: 'cancelled' };
    const permissions = ownEntry(this.#opts.getSettings().agents, run.agentId)?.permissions ?? {};
    const expiresS = permissions.expires_s ?? DEFAULT_APPROVAL_EXPIRES_S;
    const now = Date.now();
    const record = await this.#opts.stores.approvals.create({
      id: newId('apr'),
      kind: 'egress',
      agentId: run.agentId,
      runId: run.id,
      conversationId: run.conversationId,
      sessionKey,
      tool: 'egress',
      input: { host: ask.host, port: ask.port },
      summary: maskSecretsInText(ask.summary),
      requestedAt: now,
      expiresAt: now + expiresS * 1000,
    });
    await this.#event('approval.requested', record);
    this.#requested(record);
    const decided = await this.#wait(record, signal, 'deny', expiresS);
    const allow = decided.status === 'allowed';
    return allow ? { allow, decidedBy: decided.decidedBy ?? 'person' } : { allow, reason: denialText(decided), decidedBy: decided.decidedBy ?? 'person' };
  }

  /**
   * A person's answer. The first answer wins: a request already answered is APPROVAL_DECIDED,
   * naming who decided. `batchId`: answered together with others in one request (recorded on it).
   */
  async decide(id: string, decision: ApprovalDecision, by: string, reason?: string, answer?: string, batchId?: string): Promise<ApprovalRecord> {
    const existing = await this.#opts.stores.approvals.get(id);
    if (!existing) throw new TinyError('APPROVAL_NOT_FOUND', `No approval request ${id}.`);
    if (existing.status !== 'pending') throw decidedError(existing);
    if (!approvalAnswers(existing.kind).includes(decision)) {
      throw new TinyError(
        'APPROVAL_DECISION_INVALID',
        existing.kind === 'question'
          ? `${id} is a question: answer it ("answer" with its text) or decline it ("deny").`
          : existing.kind === 'egress'
            ? `${id} asks to connect to a host: allow it (allow_once, allow_always) or deny it; a connection has no session to allow it for.`
            : existing.kind === 'task_rounds'
              ? `${id} asks what to do with a task whose rounds ran out: more_rounds (another N rounds), take_over or stop.`
              : existing.kind === 'workflow_budget'
                ? `${id} asks what to do with a workflow run paused at its budget: raise_budget (with a budget, else the same again) or stop.`
                : `${id} asks for permission: allow it (allow_once, allow_session, allow_always) or deny it; "answer" is for questions.`,
      );
    }
    const text = answer?.trim();
    if (decision === 'answer' && !text) throw new TinyError('APPROVAL_DECISION_INVALID', `An answer to ${id} needs its text.`);
    // A task's rounds: `more_rounds` records how many it gives (the number given, else the binding's maxRounds the request carries).
    // A workflow run's budget: `raise_budget` records the budget given (null: the same again).
    const recorded = decision === 'more_rounds' ? roundsAnswer(existing, text) : decision === 'raise_budget' ? budgetAnswer(existing, text) : undefined;
    const decided = await this.#opts.stores.approvals.decide(id, {
      status: decision === 'deny' ? 'denied' : decision === 'answer' || RUN_LESS.has(existing.kind) ? 'answered' : 'allowed',
      decision,
      decidedBy: by,
      reason: reason?.trim() || null,
      answer: decision === 'answer' ? text! : (recorded ?? null),
      decidedAt: Date.now(),
      ...(batchId === undefined ? {} : { batchId }),
    });
    if (!decided) throw decidedError((await this.#opts.stores.approvals.get(id)) ?? existing);
    await this.#event('approval.decided', decided);
    this.#waiters.get(id)?.resolve(decided);
    // A task's rounds and a workflow run's budget have no run waiting on them (a waiter tells the observers of the others): told here, by the node that took the answer.
    if (RUN_LESS.has(decided.kind)) {
      const observers = this.#opts.observers;
      if (observers?.listening('approvalSettled')) observers.notify('approvalSettled', { approval: decided });
    }
    return decided;
  }

  /**
   * At start: requests a stopped daemon left pending are cancelled (their CLI processes are gone).
   * A task's `task_rounds` and a workflow run's `workflow_budget` request have no process behind them: they stay pending for a person.
   */
  async recover(): Promise<number> {
    const pending = await this.#opts.stores.approvals.list({ status: 'pending', limit: 10_000 });
    let cancelled = 0;
    for (const p of pending) {
      if (this.#waiters.has(p.id) || RUN_LESS.has(p.kind)) continue;
      const done = await this.#opts.stores.approvals.decide(p.id, { status: 'cancelled', decision: 'deny', decidedBy: 'restart', reason: SESSION_ENDED, decidedAt: Date.now() });
      if (done) {
        cancelled++;
        await this.#event('approval.decided', done);
      }
    }
    return cancelled;
  }

  async #wait(record: ApprovalRecord, signal: AbortSignal, onExpiry: 'allow' | 'deny', expiresS: number): Promise<ApprovalRecord> {
    const { approvals } = this.#opts.stores;
    return new Promise<ApprovalRecord>((resolve) => {
      let settled = false;
      const finish = (done: ApprovalRecord): void => {
        if (settled) return;
        settled = true;
        clearTimeout(expiry);
        clearInterval(poll);
        signal.removeEventListener('abort', onAbort);
        this.#waiters.delete(record.id);
        // Before the asker hears it: an observer sees the request end before anything the answer causes.
        const observers = this.#opts.observers;
        if (observers?.listening('approvalSettled')) observers.notify('approvalSettled', { approval: done });
        resolve(done);
      };
      const close = async (status: 'expired' | 'cancelled', decision: ApprovalDecision, by: string, reason: string): Promise<void> => {
        try {
          const done = await approvals.decide(record.id, { status, decision, decidedBy: by, reason, decidedAt: Date.now() });
          if (done) {
            await this.#event(status === 'expired' ? 'approval.expired' : 'approval.decided', done);
            finish(done);
          } else {
            // Answered meanwhile (on another node): that answer stands.
            const now = await approvals.get(record.id);
            if (now) finish(now);
          }
        } catch (err) {
          this.#opts.onError?.(err);
          finish({ ...record, status: 'cancelled', decision: 'deny', decidedBy: by, reason });
        }
      };
      const onAbort = (): void => void close('cancelled', 'deny', 'cancelled', abortedText(signal));
      const expiry = setTimeout(
        () => void close('expired', onExpiry === 'allow' ? 'allow_once' : 'deny', 'expiry', `nobody answered within ${expiresS} s`),
        // A run's request always has an expiry (only the run-less kinds have none, and nothing waits on them here).
        Math.max(0, (record.expiresAt ?? record.requestedAt + expiresS * 1000) - Date.now()),
      );
      const poll = setInterval(() => {
        void Promise.resolve(approvals.get(record.id)).then(
          (now) => {
            if (now && now.status !== 'pending') finish(now);
          },
          (err: unknown) => this.#opts.onError?.(err),
        );
      }, POLL_MS);
      poll.unref();
      this.#waiters.set(record.id, { runId: record.runId ?? '', resolve: finish });
      signal.addEventListener('abort', onAbort, { once: true });
    });
  }

  /** Told just before the waiter is registered (no await between): a decision taken as observers hear it finds the waiter. */
  #requested(approval: ApprovalRecord): void {
    const observers = this.#opts.observers;
    if (observers?.listening('approvalRequested')) observers.notify('approvalRequested', { approval });
  }

  async #event(type: 'approval.requested' | 'approval.decided' | 'approval.expired', record: ApprovalRecord): Promise<void> {
    try {
      await this.#opts.stores.events.append({ type, conversationId: record.conversationId, runId: record.runId, agentId: record.agentId, data: { approval: record } });
    } catch (err) {
      this.#opts.onError?.(err);
    }
  }
}

/** How many rounds a `more_rounds` answer gives, as recorded: the number given (1-100), else the request's `moreRounds`. */
function roundsAnswer(request: ApprovalRecord, given: string | undefined): string {
  if (given !== undefined && given !== '') {
    const n = Number(given);
    if (!Number.isInteger(n) || n < 1 || n > 100) throw new TinyError('APPROVAL_DECISION_INVALID', `More rounds for ${request.id} must be a whole number from 1 to 100, not "${given}".`);
    return String(n);
  }
  const dflt = (request.input as { moreRounds?: unknown } | null)?.moreRounds;
  return String(typeof dflt === 'number' && Number.isInteger(dflt) && dflt >= 1 ? dflt : 5);
}

function decidedError(now: ApprovalRecord): TinyError {
  return new TinyError('APPROVAL_DECIDED', `Approval ${now.id} was already answered: ${now.status}${now.decidedBy ? ` by ${now.decidedBy}` : ''}.`);
}

function sessionId(agentId: string, sessionKey: string): string {
  return `${agentId}\u0000${sessionKey}`;
}

function describeRule(rule: PermissionRule | undefined): string {
  if (!rule) return 'its permission mode';
  return (
    [rule.tool && `tool ${rule.tool}`, rule.command && `command ${rule.command}`, rule.path && `path ${rule.path}`, rule.input !== undefined && 'that exact input'].filter(Boolean).join(', ') ||
    'every request'
  );
}

/**
 * Why a request ended with its run's signal: an asker that went away says so (`denied: …`); the
 * daemon stopping ends the session that asked (the message is run again at the next start, as
 * after a restart: the same words); anything else is the run's cancel.
 */
function abortedText(signal: AbortSignal): string {
  if (typeof signal.reason === 'string' && signal.reason.startsWith('denied: ')) return signal.reason;
  return abortCause(signal) === 'shutdown' ? SESSION_ENDED : 'denied: the run was cancelled';
}

function denialText(r: ApprovalRecord): string {
  if (r.status === 'expired') return `denied: ${r.reason ?? 'nobody answered in time'}`;
  if (r.status === 'cancelled') return r.reason ?? 'denied: the request was cancelled';
  return `denied by ${r.decidedBy ?? 'the person'}${r.reason ? `: ${r.reason}` : ''}`;
}

/** `Bash: rm -rf build`, `Edit: src/app.ts`, else the tool and its input, shortened. */
export function summarize(tool: string, input: unknown): string {
  const i = (input && typeof input === 'object' ? input : {}) as Record<string, unknown>;
  const detail = typeof i.command === 'string' ? i.command : Array.isArray(i.command) ? i.command.join(' ') : (i.file_path ?? i.path ?? i.url ?? i.pattern);
  const text = typeof detail === 'string' ? detail : JSON.stringify(input ?? null);
  const line = text.replace(/\s+/g, ' ').trim();
  return `${tool}: ${line.length > 200 ? `${line.slice(0, 200)}…` : line}`;
}
