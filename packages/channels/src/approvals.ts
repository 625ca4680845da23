/**
 * Approvals and questions in the chat apps (docs/approvals.md, "In the chat apps"): when an agent
 * of a conversation that came in through this channel asks (`approval.requested`), the host posts
 * a prompt into that conversation's chat; a person answers there; once the request is decided
 * anywhere (here, another chat, the API, the CLI, TinyOffice) or expires, the prompt is settled.
 *
 * - Where: the chat of the conversation (ConversationRoutes, learned when the host hands a
 *   message over). A request whose conversation's chat is not known yet waits for it.
 * - How: adapters with buttons (`adapter.approvals`: Telegram's inline keyboard, Discord, Slack)
 *   post the prompt with one button per answer (`<approval id>:<token>` comes back as a click);
 *   the others (WhatsApp) get a plain message answered by a numbered reply. Everywhere,
 *   `/answer <text>` answers the chat's latest question in one's own words and
 *   `/deny <reason>` denies (or declines) the chat's latest request with a reason.
 * - Who: the daemon decides (a channel token answers only for its own conversations, for a
 *   paired sender of its channel who matches the agent's `permissions.approvers`); the host
 *   sends `by: <channel>:<sender id>` and tells the presser the outcome: refused, why; too late,
 *   who decided.
 * - Settling: the prompt's text becomes its outcome and its buttons go (a plain prompt gets the
 *   outcome as a new message). Posting, recording (approvals.json) and settling, also after a
 *   crash or restart, are the prompt board's (prompt-board.ts), as for memory proposals.
 * - A burst: a request that asks what a prompt still waiting in its chat asks joins that prompt,
 *   which then answers all of them at once (approval-bursts.ts). The events are handled one at a
 *   time, in order, so a request finds the prompt the one before it posted.
 */
import {
  approvalAnswers,
  approvalBatchText,
  approvalOutcome,
  approvalOutcomeText,
  approvalQuestion,
  approvalTaskRounds,
  isApiError,
  parseBudgetText,
  TASK_ROUNDS_LABELS,
  WORKFLOW_BUDGET_LABELS,
  type ApiClient,
  type TinyEvent,
} from '@tinyagi/client';
import type { Approval, ApprovalDecision } from '@tinyagi/client/contract';
import type { ApprovalClick, ApprovalPrompt, ApprovalPromptAction, InboundMessage } from './adapter.ts';
import { ApprovalBursts, BURST_ACTIONS, type Burst } from './approval-bursts.ts';
import { PromptBoard, type PostedPrompt, type PromptHostOptions } from './prompt-board.ts';
import { errorText } from './retry.ts';

/** The events approval prompts follow (the channel token sees those of its own conversations). */
export const APPROVAL_EVENT_TYPES = ['approval.requested', 'approval.decided', 'approval.expired'] as const;

export interface ApprovalPromptsOptions extends PromptHostOptions {
  api: ApiClient;
}

interface Posted extends PostedPrompt {
  kind: Approval['kind'];
  agentId: string;
  summary: string;
  /** What it asks (the daemon's `groupKey`): a request asking the same joins its message. */
  groupKey?: string;
  expiresAt?: number | null;
  /** A question's choices (their buttons' tokens are `c<index>`, their numbers index + 1). */
  choices: string[];
}

const PERMISSION_ACTIONS: Array<ApprovalPromptAction & { decision: ApprovalDecision; number: string }> = [
  { label: 'Allow once', token: 'o', decision: 'allow_once', style: 'primary', number: '1' },
  { label: 'Allow for this session', token: 's', decision: 'allow_session', number: '2' },
  { label: 'Allow always', token: 'a', decision: 'allow_always', number: '3' },
  { label: 'Deny', token: 'd', decision: 'deny', style: 'danger', number: '4' },
  // A task whose rounds ran out (task_rounds): its own three answers, numbered 1-3 (`1 <n>`: n more rounds).
  { label: TASK_ROUNDS_LABELS.more_rounds, token: 'm', decision: 'more_rounds', style: 'primary', number: '1' },
  { label: TASK_ROUNDS_LABELS.take_over, token: 't', decision: 'take_over', number: '2' },
  { label: TASK_ROUNDS_LABELS.stop, token: 'x', decision: 'stop', style: 'danger', number: '3' },
];
/** A workflow run paused at its budget (workflow_budget): its two answers, numbered 1-2 (`1 <budget>`: that budget). */
const BUDGET_ACTIONS: typeof PERMISSION_ACTIONS = [
  { label: WORKFLOW_BUDGET_LABELS.raise_budget, token: 'r', decision: 'raise_budget', style: 'primary', number: '1' },
  { label: WORKFLOW_BUDGET_LABELS.stop, token: 'x', decision: 'stop', style: 'danger', number: '2' },
];
/** The buttons (and numbers) a permission-like request offers: those its kind takes (approvalAnswers). */
function actionsFor(kind: Approval['kind']): typeof PERMISSION_ACTIONS {
  if (kind === 'workflow_budget') return BUDGET_ACTIONS;
  const answers = approvalAnswers(kind);
  return PERMISSION_ACTIONS.filter((a) => answers.includes(a.decision));
}
const MAX_CHOICES = 10;

/** `14:05 UTC` and how long from now. */
function expiryText(expiresAt: number, now = Date.now()): string {
  const at = `${new Date(expiresAt).toISOString().slice(11, 16)} UTC`;
  const minutes = Math.max(0, Math.round((expiresAt - now) / 60_000));
  return `${at} (${minutes < 1 ? 'in less than a minute' : minutes === 1 ? 'in 1 minute' : `in ${minutes} minutes`})`;
}

/** Text shown as it is written: as code when it has no backtick (commands keep their `*` and `_`). */
function literal(text: string): string {
  const flat = text.length > 1500 ? `${text.slice(0, 1499)}…` : text;
  return flat.includes('`') || flat.includes('\n') ? flat : `\`${flat}\``;
}

/** A question's text and the choices a chat offers (at most MAX_CHOICES: buttons c0-c9, numbers 1-10). */
function questionOf(approval: Pick<Approval, 'input' | 'summary'>): { question: string; choices: string[] } {
  const { question, choices } = approvalQuestion(approval);
  return { question, choices: choices.slice(0, MAX_CHOICES) };
}

/** The prompt a chat gets (Markdown, like a reply): who asks, what, until when, and how to answer. */
export function promptFor(approval: Approval, buttons: boolean, now = Date.now()): ApprovalPrompt & { choices: string[] } {
  const expires = approval.expiresAt === null ? 'It waits until someone answers.' : `Expires at ${expiryText(approval.expiresAt, now)}.`;
  if (approval.kind === 'task_rounds') return taskRoundsPrompt(approval, buttons, expires);
  if (approval.kind === 'workflow_budget') return budgetPrompt(approval, buttons, expires);
  if (approval.kind === 'question') {
    const { question, choices } = questionOf(approval);
    const lines = [`❓ **@${approval.agentId} asks:**`, question, ''];
    if (buttons) {
      lines.push(`${choices.length > 0 ? 'Pick an answer, or reply' : 'Reply'} \`/answer <your answer>\` to answer in your own words, \`/deny <reason>\` to decline.`);
    } else {
      if (choices.length > 0) lines.push('Reply with the number of an answer:', ...choices.map((c, i) => `${i + 1}. ${c}`));
      lines.push(`${choices.length > 0 ? 'Or reply' : 'Reply'} \`/answer <your answer>\` to answer in your own words, \`/deny <reason>\` to decline.`);
    }
    lines.push(expires);
    const actions: ApprovalPromptAction[] = [
      ...choices.map((c, i) => ({ label: c.length > 60 ? `${c.slice(0, 59)}…` : c, token: `c${i}` })),
      { label: 'Decline', token: 'd', style: 'danger' as const },
    ];
    return { id: approval.id, kind: 'question', text: lines.join('\n'), actions, choices };
  }
  // A connection (egress) has no session: its prompt offers once, always and deny, each with the number it has everywhere.
  const offered = actionsFor(approval.kind);
  const egress = approval.kind === 'egress';
  const lines = [egress ? `🌐 **@${approval.agentId} asks to connect to a host off its list:**` : `🔐 **@${approval.agentId} asks for permission:**`, literal(approval.summary), ''];
  lines.push(
    buttons
      ? 'Answer with a button, or reply `/deny <reason>` to deny with a reason.'
      : `Reply ${offered.map((a) => (a.decision === 'deny' ? `\`${a.number} <reason>\` to deny` : `\`${a.number}\` to ${a.label.toLowerCase()}`)).join(', ')}.`,
  );
  if (egress) lines.push("Allow always adds the host to the agent's egress list.");
  lines.push(expires);
  return { id: approval.id, kind: 'permission', text: lines.join('\n'), actions: offered.map(({ label, token, style }) => ({ label, token, ...(style ? { style } : {}) })), choices: [] };
}

/** A task whose rounds ran out (docs/git-tasks.md): what still fails, and the three answers. */
function taskRoundsPrompt(approval: Approval, buttons: boolean, expires: string): ApprovalPrompt & { choices: string[] } {
  const t = approvalTaskRounds(approval);
  const more = TASK_ROUNDS_LABELS.more_rounds.replace('{n}', String(t.moreRounds));
  const lines = [
    `🔁 **Task ${t.identifier} of @${approval.agentId} is still not done after ${t.rounds} ${t.rounds === 1 ? 'round' : 'rounds'}:** ${t.title}`,
    ...t.missing.slice(0, 5).map((m) => `• ${m.length > 300 ? `${m.slice(0, 299)}…` : m}`),
    '',
    buttons
      ? `${more}: the task goes back to @${approval.agentId} with what failed. Take over: you take the task (In progress, assigned to nobody). Stop: back to Todo. The worktree is kept.`
      : `Reply \`1\` for ${more.toLowerCase()} (\`1 <n>\` for n), \`2\` to take over, \`3\` to stop. The worktree is kept.`,
    expires,
  ];
  const actions = actionsFor('task_rounds').map(({ label, token, style }) => ({ label: label.replace('{n}', String(t.moreRounds)), token, ...(style ? { style } : {}) }));
  return { id: approval.id, kind: 'permission', text: lines.join('\n'), actions, choices: [] };
}

/** A workflow run paused at its budget (docs/workflows.md#budgets): what it spent, and the two answers. */
function budgetPrompt(approval: Approval, buttons: boolean, expires: string): ApprovalPrompt & { choices: string[] } {
  const starter = approval.agentId === 'person' ? '' : ` (started by @${approval.agentId})`;
  const lines = [
    `⏸ **${approval.summary}**${starter}`,
    '',
    buttons
      ? 'Raise the budget: the run goes on with the same again (each cap doubled). Stop the run: it is cancelled.'
      : 'Reply `1` to raise the budget by the same again (each cap doubled), `1 <usd>` or `1 <n> tokens` to raise it to that, `2` to stop the run (it is cancelled).',
    expires,
  ];
  return { id: approval.id, kind: 'permission', text: lines.join('\n'), actions: BUDGET_ACTIONS.map(({ label, token, style }) => ({ label, token, ...(style ? { style } : {}) })), choices: [] };
}

/** `1 <budget>`'s budget: `$5`, `5` (US dollars), `200000 tokens` or both; undefined when it is none. */
function budgetReply(text: string): { budgetUsd?: number; budgetTokens?: number } | undefined {
  const given = parseBudgetText(/^\d+(?:\.\d+)?$/.test(text) ? `$${text}` : text);
  if (given === undefined) return undefined;
  return { ...(given.usd === undefined ? {} : { budgetUsd: given.usd }), ...(given.tokens === undefined ? {} : { budgetTokens: given.tokens }) };
}

const OUTCOME_EMOJI: Record<Approval['status'], string> = { pending: '⏳', allowed: '✅', answered: '💬', denied: '⛔', expired: '⌛', cancelled: '✖' };

/** What a settled prompt says: the outcome in the words of every surface (approvalOutcomeText), and what was asked. */
export function outcomeFor(approval: Approval): string {
  if (approval.kind === 'task_rounds') {
    const t = approvalTaskRounds(approval);
    return `${OUTCOME_EMOJI[approval.status]} ${approvalOutcomeText(approval)}\nTask ${t.identifier} of @${approval.agentId}: ${t.title}`;
  }
  if (approval.kind === 'workflow_budget') return `${OUTCOME_EMOJI[approval.status]} ${approvalOutcomeText(approval)}\n${approval.summary}`;
  const what = approval.kind === 'question' ? questionOf(approval).question : literal(approval.summary);
  return `${OUTCOME_EMOJI[approval.status]} ${approvalOutcomeText(approval)}\n@${approval.agentId} asked: ${what}`;
}

/** The note to the person whose answer went through: the outcome without naming them (`Allowed once.`, `Answered: staging.`). */
function noteFor(approval: Approval): string {
  const { head, detail } = approvalOutcome(approval);
  return `${head}${detail ? `: ${detail}` : ''}.`;
}

export class ApprovalPrompts {
  readonly #o: ApprovalPromptsOptions;
  readonly #board: PromptBoard<Approval, Posted>;
  readonly #bursts: ApprovalBursts;
  /** The approval events, one after another. */
  #events: Promise<void> = Promise.resolve();
  /** Requests that may join a burst, by conversation, until that conversation's chat is known. */
  readonly #parked = new Map<string, Approval[]>();

  constructor(options: ApprovalPromptsOptions) {
    this.#o = options;
    // A request that came before its conversation's chat is asked again once the chat is known: it may join a burst there.
    options.routes.onSet((conversationId) => {
      const parked = this.#parked.get(conversationId);
      this.#parked.delete(conversationId);
      for (const a of parked ?? []) this.#inOrder(() => this.#requested(a));
    });
    const api = options.api;
    const bursts = new ApprovalBursts(options);
    this.#bursts = bursts;
    this.#board = new PromptBoard<Approval, Posted>(options, {
      noun: 'approval',
      file: 'approvals.json',
      idOf: (a) => a.id,
      isOpen: (a) => a.status === 'pending',
      expired: (a) => a.expiresAt !== null && a.expiresAt <= Date.now(),
      // A run-less request without a conversation (a task's `task_rounds` may have none; a workflow run's `workflow_budget` never has one) has no chat.
      conversationOf: (a) => a.conversationId,
      prompt: (a, buttons) => promptFor(a, buttons),
      record: (a, posted, prompt) => ({
        ...posted,
        kind: a.kind,
        agentId: a.agentId,
        summary: a.summary,
        ...(a.groupKey === undefined ? {} : { groupKey: a.groupKey }),
        expiresAt: a.expiresAt,
        choices: (prompt as ReturnType<typeof promptFor>).choices,
      }),
      revive: (raw) => ({ ...raw, choices: Array.isArray(raw.choices) ? raw.choices : [] }),
      outcome: outcomeFor,
      fetch: (id) => api.getApproval({ params: { id } }),
      notFound: 'APPROVAL_NOT_FOUND',
      listOpen: () => api.listApprovals({ query: { status: 'pending', channel: options.channel, limit: 200 } }),
      held: (id) => bursts.holds(id),
    });
  }

  stop(): void {
    this.#board.stop();
    this.#bursts.stop();
  }

  onEvent(event: TinyEvent): void {
    if (this.#board.stopped) return;
    if (event.type === 'approval.requested') this.#inOrder(() => this.#requested(event.data.approval));
    else if (event.type === 'approval.decided' || event.type === 'approval.expired') this.#inOrder(() => this.#settle(event.data.approval));
  }

  #inOrder(step: () => Promise<void>): void {
    this.#events = this.#events.then(step).catch((err: unknown) => this.#o.log('warn', `approval event: ${errorText(err)}`));
  }

  /** A new request: it joins a prompt of its chat that asks the same (a burst), else it is posted. */
  async #requested(a: Approval): Promise<void> {
    const route = a.conversationId === null ? undefined : this.#o.routes.get(a.conversationId);
    const groupable = (a.kind === 'permission' || a.kind === 'egress') && a.groupKey !== undefined && a.status === 'pending';
    if (route === undefined && a.conversationId !== null && groupable && this.#bursts.enabled) {
      this.#parked.set(a.conversationId, [...(this.#parked.get(a.conversationId) ?? []).filter((p) => p.id !== a.id), a]);
      return;
    }
    if (route !== undefined && groupable && this.#bursts.enabled && this.#board.get(a.id) === undefined && !this.#bursts.holds(a.id)) {
      await this.#board.settled();
      const burst = this.#bursts.find(route, a.kind, a.groupKey!);
      if (burst !== undefined) return this.#bursts.join(burst, a);
      const host = this.#board.openIn(route).find((p) => p.kind === a.kind && p.groupKey === a.groupKey && p.id !== a.id);
      if (host?.messageId !== undefined && this.#board.detach(host.id) !== undefined) {
        const kind = host.kind as 'permission' | 'egress';
        return this.#bursts.form({ id: host.id, agentId: host.agentId, summary: host.summary, expiresAt: host.expiresAt ?? null, route, messageId: host.messageId, kind, key: a.groupKey! }, a);
      }
    }
    await this.#board.post(a);
  }

  async #settle(a: Approval): Promise<void> {
    if (a.conversationId !== null && this.#parked.has(a.conversationId)) {
      const kept = this.#parked.get(a.conversationId)!.filter((p) => p.id !== a.id);
      if (kept.length > 0) this.#parked.set(a.conversationId, kept);
      else this.#parked.delete(a.conversationId);
    }
    if (!(await this.#bursts.settle(a))) await this.#board.settle(a);
  }

  /**
   * Each (re)connect: the recorded prompts decided meanwhile are settled, and the pending
   * requests of this channel's conversations that have no prompt yet are posted.
   */
  async catchUp(): Promise<void> {
    await this.#bursts.catchUp((id) => this.#o.api.getApproval({ params: { id } }));
    await this.#board.catchUp();
  }

  /** A button of a prompt was pressed. */
  async click(click: ApprovalClick): Promise<void> {
    const burst = this.#bursts.get(click.approvalId);
    if (burst !== undefined && click.token in BURST_ACTIONS) return this.#decideBurst(burst, click);
    let posted = this.#board.get(click.approvalId);
    if (posted === undefined) {
      // Not ours (any more): the request as it is now says what the button meant.
      try {
        const approval = await this.#o.api.getApproval({ params: { id: click.approvalId } });
        if (approval.status !== 'pending') {
          await click.notify(`Already answered: ${outcomeFor(approval).split('\n')[0]!}`);
          return;
        }
        posted = { id: approval.id, kind: approval.kind, route: click.route, agentId: approval.agentId, summary: approval.summary, choices: questionOf(approval).choices, postedAt: 0 };
      } catch (err) {
        await click.notify(isApiError(err, 'SCOPE_FORBIDDEN') || isApiError(err, 'APPROVAL_NOT_FOUND') ? 'This request is not known here.' : `Could not answer: ${errorText(err)}`);
        return;
      }
    }
    const choice = /^c(\d+)$/.exec(click.token);
    let decision: { decision: ApprovalDecision; answer?: string } | undefined;
    if (click.token === 'd') decision = { decision: 'deny' };
    else if (posted.kind === 'question' && choice !== null && posted.choices[Number(choice[1])] !== undefined) {
      const answer = posted.choices[Number(choice[1])]!;
      decision = { decision: 'answer', answer };
    } else if (posted.kind !== 'question') {
      const action = actionsFor(posted.kind).find((a) => a.token === click.token);
      if (action) decision = { decision: action.decision };
    }
    if (decision === undefined) {
      await click.notify('This button is not known.');
      return;
    }
    await this.#decide(posted, { ...decision, senderId: click.senderId, sender: click.sender }, (text) => click.notify(text), true);
  }

  /** "Allow all N once" / "Deny all N" of a burst: every request it still holds, each decided on its own; the presser is told how it went. */
  async #decideBurst(burst: Burst, click: ApprovalClick): Promise<void> {
    const by = `${this.#o.channel}:${click.senderId}`;
    const ids = burst.members.map((m) => m.id);
    if (ids.length === 0) {
      await click.notify('Already answered.');
      return;
    }
    try {
      const decision = BURST_ACTIONS[click.token as keyof typeof BURST_ACTIONS];
      const result = await this.#o.api.decideApprovals({ body: { ids, decision, by, channel: this.#o.channel } });
      await click.notify(approvalBatchText(result));
      for (const a of [...result.decided, ...result.skipped.flatMap((s) => (s.approval ? [s.approval] : []))]) this.#inOrder(() => this.#settle(a));
    } catch (err) {
      if (isApiError(err, 'SCOPE_FORBIDDEN') || isApiError(err, 'SENDER_NOT_PAIRED')) {
        this.#o.log('info', `${by} may not answer the burst of ${burst.id}: ${err.message}`);
        await click.notify(`You may not answer these: ${err.message}`);
        return;
      }
      this.#o.log('warn', `answer to the burst of ${burst.id} by ${by} failed: ${errorText(err)}`);
      await click.notify(`Your answer did not go through (${errorText(err)}); please try again.`);
    }
  }

  /**
   * A chat message that answers the chat's latest request: `/answer <text>`, `/deny [reason]`,
   * or (a plain prompt) its number. True when it was one (handled, not for the agents).
   */
  async reply(message: InboundMessage): Promise<boolean> {
    const text = message.text.trim();
    const command = /^\/(answer|deny)(?:@\w+)?(?:\s+([\s\S]*))?$/i.exec(text);
    const latest = this.#board.latestIn(message.route);
    const tell = async (t: string): Promise<void> => {
      await this.#o.say(message.route, t).catch((err: unknown) => this.#o.log('warn', `approval reply note to ${message.route}: ${errorText(err)}`));
    };
    const who = { senderId: message.senderId, sender: message.sender };
    if (command !== null) {
      const verb = command[1]!.toLowerCase();
      const rest = command[2]?.trim() ?? '';
      if (latest === undefined) {
        await tell('Nothing waits for an answer in this chat.');
        return true;
      }
      if (verb === 'answer') {
        if (latest.kind !== 'question') {
          const numbers = actionsFor(latest.kind).map((a) => (a.decision === 'deny' ? `${a.number} <reason>` : a.number));
          const listed = `${numbers.slice(0, -1).join(', ')} or ${numbers.at(-1)}`;
          const how = latest.messageId === undefined ? listed : 'its buttons';
          await tell(
            latest.kind === 'task_rounds'
              ? `A task of @${latest.agentId} waits for a person, not a question: answer it with ${how}.`
              : latest.kind === 'workflow_budget'
                ? `A workflow run paused at its budget waits for a person, not a question: answer it with ${how}.`
                : `@${latest.agentId} asks for permission, not a question: answer it with ${how}, or /deny <reason>.`,
          );
          return true;
        }
        if (rest === '') {
          await tell('Write your answer after /answer: `/answer <your answer>`.');
          return true;
        }
        await this.#decide(latest, { ...who, decision: 'answer', answer: rest }, tell, latest.messageId !== undefined);
        return true;
      }
      if (latest.kind === 'task_rounds') {
        await tell(`A task of @${latest.agentId} waits for a person: answer it with ${latest.messageId === undefined ? '`1` (`1 <n>`), `2` or `3`' : 'its buttons'}.`);
        return true;
      }
      if (latest.kind === 'workflow_budget') {
        await tell(`A workflow run paused at its budget waits for a person: answer it with ${latest.messageId === undefined ? '`1` (`1 <usd>`) or `2`' : 'its buttons'}.`);
        return true;
      }
      await this.#decide(latest, { ...who, decision: 'deny', ...(rest !== '' ? { reason: rest } : {}) }, tell, latest.messageId !== undefined);
      return true;
    }
    // Numbered replies answer a plain prompt (a platform without buttons) only.
    if (latest === undefined || latest.messageId !== undefined) return false;
    const numbered = /^(\d{1,2})(?:[\s.:,-]+([\s\S]*))?$/.exec(text);
    if (numbered === null) return false;
    const n = Number(numbered[1]);
    const rest = numbered[2]?.trim() ?? '';
    if (latest.kind !== 'question') {
      const action = actionsFor(latest.kind).find((a) => a.number === String(n));
      // `1 <n>`: n more rounds of a task; `1 <budget>`: a workflow run's new budget; only a denial takes other words.
      const rounds = action?.decision === 'more_rounds' && /^\d{1,3}$/.test(rest) ? Number(rest) : undefined;
      const budget = action?.decision === 'raise_budget' && rest !== '' ? budgetReply(rest) : undefined;
      if (action === undefined || (action.decision !== 'deny' && rest !== '' && rounds === undefined && budget === undefined)) return false;
      await this.#decide(latest, { ...who, decision: action.decision, ...budget, ...(rounds !== undefined ? { rounds } : rest !== '' && budget === undefined ? { reason: rest } : {}) }, tell, false);
      return true;
    }
    const answer = latest.choices[n - 1];
    if (answer === undefined || rest !== '') return false;
    await this.#decide(latest, { ...who, decision: 'answer', answer }, tell, false);
    return true;
  }

  /**
   * Sends a person's answer. The daemon checks who may answer; the person is told when it
   * refused and who was first when it was too late (`tellSuccess`: also when it went through —
   * a plain prompt's chat hears the outcome from the settle instead).
   */
  async #decide(
    posted: Posted,
    d: { decision: ApprovalDecision; answer?: string; reason?: string; rounds?: number; budgetUsd?: number; budgetTokens?: number; senderId: string; sender: string },
    notify: (text: string) => Promise<void>,
    tellSuccess: boolean,
  ): Promise<void> {
    const by = `${this.#o.channel}:${d.senderId}`;
    try {
      const decided = await this.#o.api.decideApproval({
        params: { id: posted.id },
        body: {
          decision: d.decision,
          by,
          ...(d.answer !== undefined ? { answer: d.answer } : {}),
          ...(d.reason !== undefined ? { reason: d.reason } : {}),
          ...(d.rounds !== undefined ? { rounds: d.rounds } : {}),
          ...(d.budgetUsd !== undefined ? { budgetUsd: d.budgetUsd } : {}),
          ...(d.budgetTokens !== undefined ? { budgetTokens: d.budgetTokens } : {}),
        },
      });
      if (tellSuccess) await notify(noteFor(decided));
      await this.#board.settle(decided);
    } catch (err) {
      if (isApiError(err, 'APPROVAL_DECIDED')) {
        await notify(err.message);
        try {
          await this.#board.settle(await this.#o.api.getApproval({ params: { id: posted.id } }));
        } catch (inner) {
          this.#o.log('warn', `could not read approval ${posted.id}: ${errorText(inner)}`);
        }
        return;
      }
      if (isApiError(err, 'SCOPE_FORBIDDEN') || isApiError(err, 'SENDER_NOT_PAIRED')) {
        this.#o.log('info', `${by} may not answer ${posted.id}: ${err.message}`);
        await notify(`You may not answer this: ${err.message}`);
        return;
      }
      this.#o.log('warn', `answer to ${posted.id} by ${by} failed: ${errorText(err)}`);
      await notify(`Your answer did not go through (${errorText(err)}); please try again.`);
    }
  }
}
