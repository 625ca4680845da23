/**
 * The dashboard's state and its pure reducer: daemon events and REST snapshots in, a new state
 * out. No I/O, no timers, no React: the store (store.ts) owns time and the render rate, the
 * source (source.ts) owns the daemon. Every collection is bounded, so memory stays flat however
 * long the dashboard runs.
 */
import {
  type Approval,
  approvalOutcomeText,
  applyRunEvent,
  emptyRunTree,
  flattenRunTree,
  mergeRunRecords,
  type Agent,
  type AgentSandboxStatusView,
  type ChannelStatus,
  type QuotaHoldInfo,
  type ConnectionInfo,
  type ConnectionState,
  type ConversationTree,
  type ConversationView,
  type EventType,
  type Handoff as HandoffRecord,
  type RunActivity,
  type RunSteering,
  type RunNode,
  type RunTree,
  type RunTreeNode,
  runProgressLine,
  type Team,
  undeliveredText,
  type TinyEvent,
  type WorkflowRun,
  type WorkflowRunDetail,
} from '@tinyagi/client';
import { cycleWorkflowRun, initialWorkflows, toggleWorkflows, withWorkflowChanged, withWorkflowList, withWorkflowRead, withWorkflowStep, type WorkflowsState } from './workflow-runs.ts';

export const LIMITS = {
  activity: 200,
  handoffs: 20,
  conversations: 50,
  /** Runs kept per conversation (a runaway tree keeps its first ones: the root and its branches). */
  runsPerConversation: 200,
  /** Enqueue times remembered while waiting for pickup. */
  pendingPickups: 256,
  /** Pending approval requests kept (oldest first; the daemon keeps them all). */
  approvals: 100,
} as const;

export type AgentStatus = 'idle' | 'working' | 'waiting' | 'error';

export interface AgentCard {
  id: string;
  name?: string;
  provider?: string;
  model?: string;
  status: AgentStatus;
  /** When the status last changed (ms since epoch). */
  since: number;
  /** The last progress line of its current run (a tool, a status, the start of a text). */
  progress?: string;
  runId?: string;
  error?: string;
  /** Whether its sandbox boundary holds (GET /api/agents `sandboxStatus`, docs/sandbox.md); absent when its sandbox is off. */
  sandbox?: AgentSandboxStatusView;
}

export type RunStatus = RunNode['status'] | 'paused';

/** A run as the dashboard shows it (from @tinyagi/client's run tree). */
export interface RunRow {
  runId: string;
  agentId: string;
  parentRunId: string | null;
  depth: number;
  status: RunStatus;
  inputTokens: number;
  outputTokens: number;
  costUsd: number;
  error?: string;
  /** A sub-agent's name, when the run was spawned as one. */
  subagent?: string;
  startedAt?: number;
  /** Its tool calls, plan and per-call usage so far (live: from its progress events). */
  activity: RunActivity;
}

export interface ConversationRow {
  id: string;
  teamId: string | null;
  title: string;
  /** What to call it until its title is known: its team or agent, channel and sender (never its raw id). */
  label: string;
  status: ConversationView['status'];
  /** How it ended when it did not simply complete (e.g. "cancelled by the TUI"). */
  stopReason: string | null;
  updatedAt: number;
  /** Its runs (@tinyagi/client's run tree: built from events and the REST snapshot, bounded by LIMITS.runsPerConversation). */
  tree: RunTree;
  /** Every event of it was seen (it started while watching): no REST tree needed. */
  watchedFromStart: boolean;
  costUsd: number;
  inputTokens: number;
  outputTokens: number;
}

export interface Handoff {
  /** The `agent.mention` event's id (a handoff loaded at start and seen live is one handoff). */
  id: number;
  ts: number;
  from: string;
  to: string;
  hop: number;
  teamId: string | null;
  conversationId: string | null;
}

export interface ActivityLine {
  id: number;
  /** The event it tells of, where one line per event matters (handoffs: loaded at start, then live). */
  eventId?: number;
  ts: number;
  level: 'info' | 'warn' | 'error';
  text: string;
}

export interface ChannelHealth {
  name: string;
  /** One of the channel states (docs/channels.md#channel-states): connecting, connected, reconnecting, stopped, disabled, not_installed. */
  state: string;
  restarts: number;
  /** While reconnecting: which attempt. */
  attempt?: number;
  error?: string;
}

/** A held account as the dashboard shows it (docs/quotas.md). */
export interface QuotaBanner {
  account: string;
  label: string;
  resetsAt: number;
  limit: string | null;
  agents: string[];
}

export interface DashboardState {
  /** `retryAt`: when the next try starts (ms since epoch), for the countdown. */
  connection: { state: ConnectionState; attempt: number; retryInMs?: number; retryAt?: number; error?: string };
  teams: Team[];
  /** null: every team. */
  team: string | null;
  agents: Record<string, AgentCard>;
  agentOrder: string[];
  conversations: ConversationRow[];
  /**
   * The selected conversation. Null only until there is one to show: the newest is then taken and
   * kept (another conversation's updates never move the view; `c`/`C` do).
   */
  conversationId: string | null;
  /** The selected run of the selected conversation (null: its newest running run). */
  runId: string | null;
  handoffs: Handoff[];
  queue: { pending: number; processing: number; dead: number };
  pickup: { lastMs?: number; avgMs?: number; samples: number };
  /** [messageId, enqueued at], oldest first: what waits for pickup (bounded). */
  pendingPickups: Array<[string, number]>;
  channels: Record<string, ChannelHealth>;
  /** Accounts held until their rate limit resets (GET /api/quotas, `runtime.quota` events), by account. */
  quotas: Record<string, QuotaBanner>;
  activity: ActivityLine[];
  lastEventId: number;
  eventsSeen: number;
  help: boolean;
  /** A one-line notice (the result of a key action). */
  notice?: { text: string; level: 'info' | 'error' };
  /** What steering can do for the selected live run (GET /api/runs/:id/steering), said before a key is pressed. */
  steering?: RunSteering;
  /** Approval requests waiting for a person (GET /api/approvals?status=pending, then `approval.*` events), oldest first. */
  approvals: Approval[];
  /** The approvals panel (key `a`): open, which request is selected, and the reason or answer being typed. */
  approvalsPanel: { open: boolean; index: number; input?: ApprovalInput };
  /** Workflow runs (GET /api/workflows/runs, then `workflow.*` events) and the Workflows panel (key `w`). */
  workflows: WorkflowsState;
}

/** A line typed in the approvals panel: a denial's reason or a question's answer, for one request. */
export interface ApprovalInput {
  id: string;
  mode: 'reason' | 'answer';
  text: string;
}

export type Action =
  | { type: 'event'; event: TinyEvent }
  /** `at`: when the state changed (the countdown to the next try counts from it). */
  | { type: 'connection'; state: ConnectionState; info: ConnectionInfo; at?: number }
  | {
      type: 'snapshot';
      agents?: Agent[];
      teams?: Team[];
      channels?: ChannelStatus[];
      queue?: { pending: number; processing: number; dead: number };
      conversations?: ConversationView[];
      quotas?: QuotaHoldInfo[];
      /** The runs in flight (GET /api/status's `orchestrator.running`): their agents work since their run started, before any of its events arrives. */
      running?: RunningRun[];
    }
  | { type: 'tree'; tree: ConversationTree }
  /** Earlier handoffs (GET /api/handoffs at start): Handoffs and Activity begin with them. */
  | { type: 'history'; handoffs: HandoffRecord[] }
  | { type: 'steering'; steering: RunSteering }
  /** The pending requests (the REST snapshot, at start and after a reconnect); `since`: when it was asked for (ms). */
  | { type: 'approvals'; approvals: Approval[]; since?: number }
  /** A request answered (our own answer's response; the event says it too). */
  | { type: 'approval-settled'; approval: Approval }
  | { type: 'toggle-approvals'; open?: boolean }
  | { type: 'cycle-approval'; step: 1 | -1 }
  | { type: 'approval-input'; input: ApprovalInput | undefined }
  /** The workflow runs the daemon lists (at start and after a reconnect). */
  | { type: 'workflow-runs'; runs: WorkflowRun[] }
  /** One workflow run read with its steps (GET /api/workflows/runs/:id). */
  | { type: 'workflow-run'; detail: WorkflowRunDetail }
  | { type: 'toggle-workflows'; open?: boolean }
  | { type: 'cycle-workflow-run'; step: 1 | -1 }
  | { type: 'select-team'; team: string | null }
  | { type: 'cycle-team'; step: 1 | -1 }
  | { type: 'cycle-conversation'; step: 1 | -1 }
  | { type: 'cycle-run'; step: 1 | -1 }
  | { type: 'toggle-help'; open?: boolean }
  | { type: 'notice'; text: string; level: 'info' | 'error' };

export function initialState(team: string | null = null): DashboardState {
  return {
    connection: { state: 'connecting', attempt: 0 },
    teams: [],
    team,
    agents: {},
    agentOrder: [],
    conversations: [],
    conversationId: null,
    runId: null,
    handoffs: [],
    queue: { pending: 0, processing: 0, dead: 0 },
    pickup: { samples: 0 },
    pendingPickups: [],
    channels: {},
    quotas: {},
    activity: [],
    lastEventId: 0,
    eventsSeen: 0,
    help: false,
    approvals: [],
    approvalsPanel: { open: false, index: 0 },
    workflows: initialWorkflows(),
  };
}

/** The request the approvals panel points at. */
export function selectedApproval(state: DashboardState): Approval | undefined {
  const { approvals, approvalsPanel } = state;
  return approvals[Math.min(approvalsPanel.index, approvals.length - 1)];
}

/** Adds a pending request once (oldest first, bounded). */
function withPendingApproval(state: DashboardState, a: Approval): DashboardState {
  if (a.status !== 'pending' || state.approvals.some((x) => x.id === a.id)) return state;
  return { ...state, approvals: pushBounded(state.approvals, a, LIMITS.approvals) };
}

/** What became of a request, in the words of every surface, lower case inside a line: `allowed once by tinyoffice`, `expired: nobody answered within 600 s; denied`. */
export function approvalOutcome(a: Approval): string {
  const text = approvalOutcomeText(a);
  return text.charAt(0).toLowerCase() + text.slice(1);
}

/** A request is no longer pending: off the list; a reason or answer being typed for it is dropped, saying why. */
function withSettledApproval(state: DashboardState, a: Approval): DashboardState {
  const index = state.approvals.findIndex((x) => x.id === a.id);
  if (index < 0) return state;
  const approvals = [...state.approvals.slice(0, index), ...state.approvals.slice(index + 1)];
  const panel = state.approvalsPanel;
  const typing = panel.input?.id === a.id;
  return {
    ...state,
    approvals,
    approvalsPanel: {
      open: panel.open,
      index: Math.max(0, Math.min(panel.index > index ? panel.index - 1 : panel.index, approvals.length - 1)),
      ...(panel.input && !typing ? { input: panel.input } : {}),
    },
    ...(typing ? { notice: { text: `Your ${panel.input!.mode} was not sent: ${a.id} no longer waits (${approvalOutcome(a)}).`, level: 'error' as const } } : {}),
  };
}

const pushBounded = <T>(list: T[], item: T, max: number): T[] => (list.length >= max ? [...list.slice(list.length - max + 1), item] : [...list, item]);

function upsertAgent(state: DashboardState, id: string, patch: Partial<AgentCard>, now: number): DashboardState {
  const current = state.agents[id];
  const next: AgentCard = { id, status: 'idle', since: now, ...current, ...patch };
  if (current && patch.status !== undefined && patch.status !== current.status && patch.since === undefined) next.since = now;
  return { ...state, agents: { ...state.agents, [id]: next }, agentOrder: current ? state.agentOrder : [...state.agentOrder, id] };
}

export interface RunningRun {
  runId: string;
  agentId: string;
  startedAt: number;
}

/**
 * A run in flight when the dashboard opened: its agent works since the run started (not since its
 * first event here: with 50 runs at work every agent said "working 10s"). Only for an agent no
 * event has told about yet, or about this very run: a later event knows better.
 */
function withRunningRun(state: DashboardState, r: RunningRun): DashboardState {
  const card = state.agents[r.agentId];
  if (card?.runId === r.runId) return card.since > r.startedAt ? upsertAgent(state, r.agentId, { since: r.startedAt }, r.startedAt) : state;
  if (card && card.since !== 0) return state;
  return upsertAgent(state, r.agentId, { status: 'working', runId: r.runId, since: r.startedAt }, r.startedAt);
}

/** An agent's sandbox status as the API gave it: kept unless it is off (or absent), else dropped. */
function withSandbox(state: DashboardState, id: string, status: AgentSandboxStatusView | undefined): DashboardState {
  const card = state.agents[id];
  if (!card) return state;
  const { sandbox: _previous, ...rest } = card;
  const next: AgentCard = status && status.state !== 'off' ? { ...rest, sandbox: status } : rest;
  return { ...state, agents: { ...state.agents, [id]: next } };
}

function activity(state: DashboardState, ts: number, text: string, level: ActivityLine['level'] = 'info', eventId?: number): DashboardState {
  return { ...state, activity: pushBounded(state.activity, { id: state.eventsSeen, ts, level, text, ...(eventId !== undefined ? { eventId } : {}) }, LIMITS.activity) };
}

const handoffText = (h: { from: string; to: string; hop: number }): string => `@${h.from} → @${h.to} (hop ${h.hop})`;

/** Earlier handoffs go before what the stream brought, each once; the lists stay bounded (newest kept). */
function withHistory(state: DashboardState, records: readonly HandoffRecord[]): DashboardState {
  const known = new Set(state.handoffs.map((h) => h.id));
  const older = records.filter((r) => !known.has(r.id)).map((r): Handoff => ({ id: r.id, ts: r.ts, from: r.fromAgent, to: r.toAgent, hop: r.hop, teamId: r.teamId, conversationId: r.conversationId }));
  if (older.length === 0) return state;
  const byTime = <T extends { ts: number }>(list: T[], max: number): T[] => list.sort((a, b) => a.ts - b.ts).slice(-max);
  const lines = older.map((h): ActivityLine => ({ id: -h.id, eventId: h.id, ts: h.ts, level: 'info', text: handoffText(h) }));
  return { ...state, handoffs: byTime([...older, ...state.handoffs], LIMITS.handoffs), activity: byTime([...lines, ...state.activity], LIMITS.activity) };
}

function emptyConversation(id: string, teamId: string | null, title: string, ts: number, label = ''): ConversationRow {
  return { id, teamId, title, label, status: 'active', stopReason: null, updatedAt: ts, tree: emptyRunTree(), watchedFromStart: false, costUsd: 0, inputTokens: 0, outputTokens: 0 };
}

/** A conversation's name from what an event says of it: `#team` or `@agent`, then channel and sender. */
function labelOf(teamId: string | null | undefined, agentId: string | null | undefined, channel?: string, sender?: string): string {
  return [teamId ? `#${teamId}` : agentId ? `@${agentId}` : '', channel, sender].filter(Boolean).join(' · ');
}

/** Applies `update` to a conversation, creating it when new; keeps the list newest first and bounded. */
function withConversation(
  state: DashboardState,
  id: string,
  ts: number,
  update: (c: ConversationRow) => ConversationRow,
  seed?: { teamId: string | null; title: string; label?: string },
): DashboardState {
  const index = state.conversations.findIndex((c) => c.id === id);
  const current = index >= 0 ? state.conversations[index]! : emptyConversation(id, seed?.teamId ?? null, seed?.title ?? '', ts, seed?.label);
  const updated = { ...update(current), updatedAt: Math.max(current.updatedAt, ts) };
  const rest = index >= 0 ? [...state.conversations.slice(0, index), ...state.conversations.slice(index + 1)] : state.conversations;
  let conversations = [updated, ...rest].sort((a, b) => b.updatedAt - a.updatedAt);
  if (conversations.length > LIMITS.conversations) {
    // Never drop the selected conversation.
    const keep = conversations.slice(0, LIMITS.conversations);
    const selected = state.conversationId ? conversations.find((c) => c.id === state.conversationId) : undefined;
    conversations = selected && !keep.includes(selected) ? [...keep.slice(0, -1), selected] : keep;
  }
  return { ...state, conversations };
}

const TREE_OPTIONS = { maxRuns: LIMITS.runsPerConversation };

/** The events that change a conversation's run tree (progress lines show on the agent cards; the run's activity, tool calls and plan, in the tree). */
const TREE_EVENTS: ReadonlySet<EventType> = new Set<EventType>([
  'run.queued',
  'run.started',
  'run.completed',
  'run.failed',
  'run.cancelled',
  'run.rejected',
  'run.steered',
  'run.progress',
  'agent.mention',
  'subagent.started',
  'subagent.completed',
  'subagent.failed',
]);

/** Applies a run event to its conversation's tree (creating the conversation when new). */
function withRunEvent(state: DashboardState, event: TinyEvent): DashboardState {
  const conv = event.conversationId;
  if (!conv || !TREE_EVENTS.has(event.type)) return state;
  // A steering answer about a run this conversation does not show changes nothing.
  if ((event.type === 'run.steered' || event.type === 'run.progress') && !state.conversations.find((c) => c.id === conv)?.tree.nodes.has(event.runId ?? '')) return state;
  return withConversation(
    state,
    conv,
    event.ts,
    (c) => {
      const tree = applyRunEvent(c.tree, event, TREE_OPTIONS);
      return tree === c.tree ? c : { ...c, tree };
    },
    { teamId: null, title: '', label: labelOf(null, event.agentId) },
  );
}

const at = (agentId: string | null): string => (agentId ? `@${agentId}` : '?');

type EventOf<T extends EventType> = Extract<TinyEvent, { type: T }>;

/** One daemon event. */
function applyEvent(input: DashboardState, event: TinyEvent): DashboardState {
  if (event.id <= input.lastEventId) return input; // the client delivers once; a replayed snapshot may not
  let state: DashboardState = withRunEvent({ ...input, lastEventId: event.id, eventsSeen: input.eventsSeen + 1 }, event);
  const ts = event.ts;
  const conv = event.conversationId;
  const run = event.runId;
  const agent = event.agentId;
  switch (event.type) {
    case 'conversation.started':
      if (conv) {
        const label = labelOf(event.data.teamId, agent, event.data.channel, event.data.sender);
        state = withConversation(state, conv, ts, (c) => ({ ...c, status: 'active', label, watchedFromStart: c.tree.nodes.size === 0 }), { teamId: event.data.teamId, title: '', label });
      }
      return activity(state, ts, `conversation started (${event.data.channel}, ${event.data.sender})`);
    case 'conversation.completed': {
      const { status, costUsd, inputTokens, outputTokens, reason } = event.data;
      if (conv) state = withConversation(state, conv, ts, (c) => ({ ...c, status, stopReason: reason ?? null, costUsd, inputTokens, outputTokens }));
      return activity(state, ts, `conversation ${status}${reason ? `: ${reason}` : ''}`, status === 'completed' ? 'info' : status === 'cancelled' ? 'warn' : 'error');
    }
    case 'message.received':
      // The first message names the conversation (as its REST title does).
      if (conv && (state.conversations.find((c) => c.id === conv)?.title ?? '') === '') {
        const title = event.data.preview.replace(/\s+/g, ' ').slice(0, 80);
        state = withConversation(state, conv, ts, (c) => ({ ...c, title }), { teamId: event.data.teamId, title, label: labelOf(event.data.teamId, agent, event.data.channel, event.data.sender) });
      }
      return state;
    case 'message.enqueued': {
      const pendingPickups = pushBounded(state.pendingPickups, [event.data.messageId, ts] as [string, number], LIMITS.pendingPickups);
      state = { ...state, pendingPickups, queue: { ...state.queue, pending: state.queue.pending + 1 } };
      if (agent && state.agents[agent]?.status === 'idle') state = upsertAgent(state, agent, { status: 'waiting' }, ts);
      return state;
    }
    case 'run.queued':
      if (agent && state.agents[agent]?.status !== 'working') state = upsertAgent(state, agent, { status: 'waiting', runId: run ?? undefined }, ts);
      return state;
    case 'run.started':
      return withRunStarted(state, event);
    case 'run.progress':
      if (agent) state = upsertAgent(state, agent, { status: 'working', runId: run ?? undefined, progress: runProgressLine(event.data) }, ts);
      return state;
    case 'run.completed':
    case 'run.failed':
    case 'run.cancelled':
      return withRunSettled(state, event);
    case 'run.rejected':
      return activity(state, ts, `${at(agent)} rejected${event.data.limitName ? ` (${event.data.limitName})` : ''}`, 'warn');
    case 'run.steered': {
      const { command, accepted } = event.data;
      if (conv && run && accepted && (command === 'pause' || command === 'resume')) {
        if (agent) state = upsertAgent(state, agent, { status: command === 'pause' ? 'waiting' : 'working', progress: command === 'pause' ? 'paused' : 'resumed' }, ts);
      }
      const by = event.data.by ? ` by ${event.data.by}` : '';
      const text = event.data.text ? `: ${event.data.text.replace(/\s+/g, ' ').slice(0, 80)}` : '';
      return activity(state, ts, `${at(agent)} ${command}${by} ${accepted ? `accepted${text}` : `refused${event.data.reason ? ` (${event.data.reason})` : ''}`}`, accepted ? 'info' : 'warn');
    }
    case 'agent.mention': {
      const { fromAgent, toAgent, hop, teamId } = event.data;
      // Loaded at start already (GET /api/handoffs): once is enough.
      if (state.handoffs.some((h) => h.id === event.id)) return state;
      state = { ...state, handoffs: pushBounded(state.handoffs, { id: event.id, ts, from: fromAgent, to: toAgent, hop, teamId, conversationId: conv }, LIMITS.handoffs) };
      if (state.agents[toAgent]?.status !== 'working') state = upsertAgent(state, toAgent, { status: 'waiting', progress: `handoff from @${fromAgent}` }, ts);
      return activity(state, ts, handoffText({ from: fromAgent, to: toAgent, hop }), 'info', event.id);
    }
    case 'handoff.undelivered':
      return activity(state, ts, undeliveredText(event.data), 'warn');
    case 'task.auto_merge_refused':
      return activity(state, ts, `${event.data.identifier}: auto-merge refused (${event.data.code}): ${event.data.message}`, 'warn');
    case 'subagent.started':
      return activity(state, ts, `sub-agent ${event.data.name} started (depth ${event.data.depth}/${event.data.maxDepth})`);
    case 'subagent.completed':
    case 'subagent.failed': {
      const failed = event.type === 'subagent.failed';
      const { name, error } = event.data;
      return activity(state, ts, `sub-agent ${name} ${failed ? `failed${error ? `: ${error}` : ''}` : 'completed'}`, failed ? 'error' : 'info');
    }
    case 'subagent.rejected':
      return activity(state, ts, `sub-agent ${event.data.name} refused: ${event.data.message}`, 'warn');
    case 'guard.rejected':
    case 'budget.exceeded':
      return activity(state, ts, `${event.type === 'guard.rejected' ? 'guard' : 'budget'}: ${event.data.message}`, 'warn');
    case 'budget.warning':
      return activity(state, ts, `budget ${event.data.limitName} at ${Math.round(event.data.fraction * 100)}%`, 'warn');
    case 'queue.retry':
      return activity(state, ts, `retry ${event.data.attempts}/${event.data.maxAttempts} (${event.data.failure}): ${event.data.error}`, 'warn');
    case 'queue.dead':
      state = { ...state, queue: { ...state.queue, dead: state.queue.dead + 1, pending: Math.max(0, state.queue.pending - 1) } };
      return activity(state, ts, `dead letter ${event.data.messageId} (${event.data.failure}): ${event.data.reason}`, 'error');
    case 'channel.status':
      return withChannelStatus(state, event);
    case 'runtime.quota':
      return withQuota(state, event);
    case 'outbox.failed':
      return activity(state, ts, `delivery to ${event.data.channel} failed: ${event.data.error}`, 'warn');
    case 'approval.requested': {
      const a = event.data.approval;
      state = withPendingApproval(state, a);
      const asks = a.kind === 'question' ? 'asks' : a.kind === 'egress' ? 'asks:' : a.kind === 'task_rounds' ? 'has a task waiting for a person:' : 'asks to run';
      // A workflow run's budget says its run in its summary; its starter may be a person.
      return activity(state, ts, `${a.kind === 'workflow_budget' ? '' : `@${a.agentId} ${asks} `}${a.summary} (a: approvals)`, 'warn');
    }
    case 'approval.decided':
    case 'approval.expired': {
      const a = event.data.approval;
      return activity(withSettledApproval(state, a), ts, `@${a.agentId} ${a.summary}: ${approvalOutcome(a)}`, a.status === 'allowed' || a.status === 'answered' ? 'info' : 'warn');
    }
    case 'workflow.changed':
      return withWorkflowChangedEvent(state, event);
    case 'workflow.step': {
      const { runId, stepId, status, error } = event.data;
      state = { ...state, workflows: withWorkflowStep(state.workflows, event.data, ts) };
      if (status !== 'failed') return state;
      return activity(state, ts, `workflow ${workflowName(state, runId)}: step ${stepId}${agent ? ` (@${agent})` : ''} failed${error ? `: ${error}` : ''}`, 'error');
    }
    case 'chatroom.message':
      return activity(state, ts, `#${event.data.teamId} @${event.data.from}: ${event.data.text.replace(/\s+/g, ' ').slice(0, 120)}`);
    case 'settings.changed':
      return activity(state, ts, `settings changed (${event.data.source})`);
    case 'system.notice':
      return activity(state, ts, event.data.message ?? event.data.error ?? 'notice', event.data.level ?? 'info');
    // Nodes asking each other for a task's step (docs/git-tasks.md, "Several nodes"): internal; the task's own events say what happened.
    case 'node.asked':
    case 'node.answered':
      return state;
    default:
      return state;
  }
}

const workflowName = (state: DashboardState, runId: string): string => state.workflows.runs.find((r) => r.id === runId)?.name || runId;

/** A workflow run started, paused, resumed or ended: its row, and a line saying so (why, when it did not complete). */
function withWorkflowChangedEvent(input: DashboardState, event: EventOf<'workflow.changed'>): DashboardState {
  const { runId, name, status, reason } = event.data;
  const before = input.workflows.runs.find((r) => r.id === runId)?.status;
  const state = { ...input, workflows: withWorkflowChanged(input.workflows, event.data, event.ts) };
  const what = status === 'running' ? (before === 'paused' || before === 'failed' ? 'resumed' : 'started (w: workflows)') : status;
  return activity(state, event.ts, `workflow ${name} ${what}${reason ? `: ${reason}` : ''}`, status === 'failed' ? 'error' : status === 'paused' || status === 'cancelled' ? 'warn' : 'info');
}

/** A run started: the messages it picked up leave the pending list (their pick-up latency measured), its agent works. */
function withRunStarted(input: DashboardState, event: EventOf<'run.started'>): DashboardState {
  const { ts, runId: run, agentId: agent, conversationId: conv } = event;
  let state = input;
  let pickup = state.pickup;
  let pendingPickups = state.pendingPickups;
  let picked = 0;
  for (const id of event.data.messageIds) {
    const index = pendingPickups.findIndex(([m]) => m === id);
    if (index < 0) continue;
    const enqueued = pendingPickups[index]![1];
    pendingPickups = [...pendingPickups.slice(0, index), ...pendingPickups.slice(index + 1)];
    picked += 1;
    const ms = Math.max(0, ts - enqueued);
    const samples = pickup.samples + 1;
    pickup = { lastMs: ms, avgMs: pickup.avgMs === undefined ? ms : pickup.avgMs + (ms - pickup.avgMs) / Math.min(samples, 50), samples };
  }
  state = { ...state, pickup, pendingPickups, queue: { ...state.queue, pending: Math.max(0, state.queue.pending - picked), processing: state.queue.processing + 1 } };
  // A handoff's run.queued and agent.mention name the sender; run.started may not.
  const from = event.data.from ?? (agent ? state.handoffs.findLast((h) => h.to === agent && h.conversationId === conv)?.from : undefined);
  if (agent) state = upsertAgent(state, agent, { status: 'working', runId: run ?? undefined, progress: from ? `handoff from @${from}` : 'started', error: undefined }, ts);
  return activity(state, ts, `${at(agent)} started${from ? ` (handoff from @${from})` : ''}`);
}

/** A run ended: the queue's processing count drops and its agent's card settles, if the card shows that run. */
function withRunSettled(input: DashboardState, event: EventOf<'run.completed' | 'run.failed' | 'run.cancelled'>): DashboardState {
  const { ts, runId: run, agentId: agent } = event;
  const status = event.type === 'run.completed' ? 'completed' : event.type === 'run.failed' ? 'failed' : 'cancelled';
  const { outputTokens, error, reason } = event.data;
  let state: DashboardState = { ...input, queue: { ...input.queue, processing: Math.max(0, input.queue.processing - 1) } };
  if (agent) {
    const card = state.agents[agent];
    // Another run of the same agent may still be going: only the run it shows settles it.
    if (!card || card.runId === run || card.runId === undefined) {
      state = upsertAgent(
        state,
        agent,
        status === 'failed'
          ? { status: 'error', error: error ?? 'failed', progress: error ?? 'failed' }
          : { status: 'idle', progress: status === 'completed' ? `done (${outputTokens} tok)` : `cancelled${reason ? ` (${reason})` : ''}` },
        ts,
      );
    }
  }
  return activity(state, ts, `${at(agent)} ${status}${error ? `: ${error}` : ''}`, status === 'failed' ? 'error' : status === 'cancelled' ? 'warn' : 'info');
}

/** A channel's connection state: its health card, and a line when it changes. */
function withChannelStatus(input: DashboardState, event: EventOf<'channel.status'>): DashboardState {
  const { channel, state: chState, restarts, error, attempt } = event.data;
  const previous = input.channels[channel];
  // A restart keeps its last error until the platform answers; connected clears it.
  const lastError = chState === 'connected' ? undefined : (error ?? (chState === 'reconnecting' ? previous?.error : undefined));
  const health: ChannelHealth = {
    name: channel,
    state: chState,
    restarts: restarts ?? previous?.restarts ?? 0,
    ...(attempt !== undefined ? { attempt } : {}),
    ...(lastError ? { error: lastError } : {}),
  };
  const state = { ...input, channels: { ...input.channels, [channel]: health } };
  return activity(state, event.ts, `channel ${channel}: ${event.data.previous} → ${chState}${error ? ` (${error})` : ''}`, chState === 'connected' || chState === 'connecting' ? 'info' : 'warn');
}

/** A runtime account's rate limit: held (exhausted), over (released) or close (warning). */
function withQuota(input: DashboardState, event: EventOf<'runtime.quota'>): DashboardState {
  const ts = event.ts;
  const { account, label, status, resetsAt, limit, agents } = event.data;
  const quotas = { ...input.quotas };
  if (status === 'exhausted' && resetsAt !== null) quotas[account] = { account, label, resetsAt, limit, agents };
  else if (status === 'released') delete quotas[account];
  const state = { ...input, quotas };
  const who = agents.length > 0 ? ` (${agents.map((a) => `@${a}`).join(' ')})` : '';
  if (status === 'exhausted')
    return activity(state, ts, `rate limit: ${label}${who} held until ${resetsAt === null ? '?' : new Date(resetsAt).toTimeString().slice(0, 5)}${limit ? ` (${limit})` : ''}`, 'warn');
  if (status === 'released') return activity(state, ts, `rate limit over: ${label}${who} runs again`);
  return status === 'warning' ? activity(state, ts, `rate limit close: ${label}${limit ? ` (${limit})` : ''}`, 'warn') : state;
}

function runRow(n: RunTreeNode): RunRow {
  const error = n.error ?? n.reason;
  const subagent = n.name ?? (n.cause === 'spawn' ? n.agentId : null);
  return {
    runId: n.runId,
    agentId: n.agentId,
    parentRunId: n.parentRunId,
    depth: n.depth,
    status: n.paused && n.status === 'running' ? 'paused' : n.status,
    inputTokens: n.inputTokens,
    outputTokens: n.outputTokens,
    costUsd: n.costUsd,
    ...(error ? { error } : {}),
    ...(subagent ? { subagent } : {}),
    ...(n.startedAt !== null ? { startedAt: n.startedAt } : {}),
    activity: n.activity,
  };
}

/** The runs in the order they became known (keys cycle through them in this order). */
function runsOf(c: ConversationRow | undefined): RunRow[] {
  return c ? [...c.tree.nodes.values()].map(runRow) : [];
}

/** The conversations of the selected team (all when no team is selected). */
export function visibleConversations(state: DashboardState): ConversationRow[] {
  return state.team === null ? state.conversations : state.conversations.filter((c) => c.teamId === state.team);
}

export function selectedConversation(state: DashboardState): ConversationRow | undefined {
  const list = visibleConversations(state);
  return (state.conversationId ? list.find((c) => c.id === state.conversationId) : undefined) ?? list[0];
}

/** The run keys act on: the chosen one, else the newest running (or paused) run. */
export function selectedRun(state: DashboardState): RunRow | undefined {
  const runs = runsOf(selectedConversation(state));
  if (state.runId) {
    const chosen = runs.find((r) => r.runId === state.runId);
    if (chosen) return chosen;
  }
  return [...runs].reverse().find((r) => r.status === 'running' || r.status === 'paused') ?? runs.at(-1);
}

/** The agents shown: the selected team's members (in team order) or every agent. */
export function visibleAgents(state: DashboardState): AgentCard[] {
  const team = state.team === null ? undefined : state.teams.find((t) => t.id === state.team);
  const ids = team?.agents ?? state.agentOrder;
  return ids.map((id) => state.agents[id] ?? { id, status: 'idle' as const, since: 0 });
}

export function leaders(state: DashboardState): Set<string> {
  return new Set(state.teams.filter((t) => state.team === null || t.id === state.team).flatMap((t) => (t.leader_agent ? [t.leader_agent] : [])));
}

function cycle<T>(list: readonly T[], current: T | undefined, step: 1 | -1): T | undefined {
  if (list.length === 0) return undefined;
  const index = current === undefined ? -1 : list.indexOf(current);
  return list[(index + step + list.length) % list.length];
}

function conversationFromView(c: ConversationView, existing?: ConversationRow): ConversationRow {
  return {
    ...(existing ?? emptyConversation(c.id, c.teamId, c.title, c.updatedAt)),
    teamId: c.teamId,
    title: c.title || existing?.title || '',
    label: labelOf(c.teamId, c.rootAgentId, c.channel, c.sender),
    status: c.status,
    stopReason: c.stopReason,
    updatedAt: Math.max(c.updatedAt, existing?.updatedAt ?? 0),
    costUsd: c.costUsd,
    inputTokens: c.inputTokens,
    outputTokens: c.outputTokens,
  };
}

export function reduce(state: DashboardState, action: Action): DashboardState {
  const next = reduceAction(state, action);
  // Nothing chosen yet: the newest conversation is taken and kept from now on.
  if (next.conversationId !== null) return next;
  const shown = selectedConversation(next);
  return shown ? { ...next, conversationId: shown.id } : next;
}

function reduceAction(state: DashboardState, action: Action): DashboardState {
  switch (action.type) {
    case 'event':
      return applyEvent(state, action.event);
    case 'connection':
      return {
        ...state,
        connection: {
          state: action.state,
          attempt: action.info.attempt,
          ...(action.info.retryInMs !== undefined ? { retryInMs: action.info.retryInMs, ...(action.at !== undefined ? { retryAt: action.at + action.info.retryInMs } : {}) } : {}),
          ...(action.info.error ? { error: action.info.error.message } : {}),
        },
      };
    case 'snapshot': {
      let next = { ...state };
      for (const r of action.running ?? []) next = withRunningRun(next, r);
      if (action.teams) next.teams = action.teams;
      if (action.queue) next.queue = action.queue;
      if (action.quotas) next.quotas = Object.fromEntries(action.quotas.map((q) => [q.account, { account: q.account, label: q.label, resetsAt: q.resetsAt, limit: q.limit, agents: q.agents }]));
      if (action.channels)
        next.channels = Object.fromEntries(
          action.channels.map((c) => [
            c.name,
            {
              name: c.name,
              state: c.state ?? (c.running ? 'connecting' : 'stopped'),
              restarts: c.restarts ?? 0,
              ...(c.attempt ? { attempt: c.attempt } : {}),
              ...(c.lastError ? { error: c.lastError } : {}),
            },
          ]),
        );
      if (action.agents) {
        for (const a of action.agents) {
          next = upsertAgent(
            next,
            a.id,
            { ...(a.name ? { name: a.name } : {}), ...(a.provider ? { provider: a.provider } : {}), ...(a.model ? { model: a.model } : {}) },
            next.agents[a.id]?.since ?? 0,
          );
          next = withSandbox(next, a.id, a.sandboxStatus);
        }
      }
      if (action.conversations) {
        const byId = new Map(next.conversations.map((c) => [c.id, c]));
        for (const c of action.conversations) byId.set(c.id, conversationFromView(c, byId.get(c.id)));
        next.conversations = [...byId.values()].sort((a, b) => b.updatedAt - a.updatedAt).slice(0, LIMITS.conversations);
      }
      return next;
    }
    case 'tree': {
      const { conversation, roots } = action.tree;
      // The snapshot adds the runs the events have not shown and never moves a known one back.
      return withConversation(state, conversation.id, conversation.updatedAt, (c) => {
        const updated = conversationFromView(conversation, c);
        return { ...updated, tree: mergeRunRecords(updated.tree, roots, TREE_OPTIONS) };
      });
    }
    case 'history':
      return withHistory(state, action.handoffs);
    case 'steering':
      return { ...state, steering: action.steering };
    case 'approvals': {
      // The snapshot is the truth for what waits; a request the events brought after it was asked for stays.
      const known = new Set(action.approvals.map((a) => a.id));
      const since = action.since ?? Number.POSITIVE_INFINITY;
      const merged = [...action.approvals.filter((a) => a.status === 'pending'), ...state.approvals.filter((a) => !known.has(a.id) && a.requestedAt >= since)];
      const approvals = merged.sort((a, b) => a.requestedAt - b.requestedAt).slice(-LIMITS.approvals);
      const input = state.approvalsPanel.input;
      return {
        ...state,
        approvals,
        approvalsPanel: {
          open: state.approvalsPanel.open,
          index: Math.max(0, Math.min(state.approvalsPanel.index, approvals.length - 1)),
          ...(input && approvals.some((a) => a.id === input.id) ? { input } : {}),
        },
      };
    }
    case 'approval-settled':
      return withSettledApproval(state, action.approval);
    case 'toggle-approvals': {
      const open = action.open ?? !state.approvalsPanel.open;
      return { ...state, help: false, approvalsPanel: { open, index: state.approvalsPanel.index }, workflows: open ? toggleWorkflows(state.workflows, false) : state.workflows };
    }
    case 'cycle-approval': {
      const n = state.approvals.length;
      if (n === 0) return state;
      return { ...state, approvalsPanel: { open: true, index: (state.approvalsPanel.index + action.step + n) % n } };
    }
    case 'approval-input': {
      const { input, ...panel } = state.approvalsPanel;
      return { ...state, approvalsPanel: action.input ? { ...panel, input: action.input } : panel };
    }
    case 'workflow-runs':
      return { ...state, workflows: withWorkflowList(state.workflows, action.runs) };
    case 'workflow-run':
      return { ...state, workflows: withWorkflowRead(state.workflows, action.detail) };
    case 'toggle-workflows': {
      const open = action.open ?? !state.workflows.panel.open;
      const approvalsPanel = open ? { open: false, index: state.approvalsPanel.index } : state.approvalsPanel;
      return { ...state, help: false, approvalsPanel, workflows: toggleWorkflows(state.workflows, open) };
    }
    case 'cycle-workflow-run':
      return { ...state, workflows: cycleWorkflowRun(state.workflows, action.step) };
    case 'select-team':
      return { ...state, team: action.team, conversationId: null, runId: null };
    case 'cycle-team': {
      const ids: Array<string | null> = [null, ...state.teams.map((t) => t.id)];
      const team = cycle(ids, state.team, action.step) ?? null;
      return { ...state, team, conversationId: null, runId: null };
    }
    case 'cycle-conversation': {
      const list = visibleConversations(state).map((c) => c.id);
      return { ...state, conversationId: cycle(list, selectedConversation(state)?.id, action.step) ?? null, runId: null };
    }
    case 'cycle-run': {
      const runs = runsOf(selectedConversation(state)).map((r) => r.runId);
      return { ...state, runId: cycle(runs, selectedRun(state)?.runId, action.step) ?? null };
    }
    case 'toggle-help':
      return { ...state, help: action.open ?? !state.help };
    case 'notice':
      return { ...state, notice: { text: action.text, level: action.level } };
  }
}

/**
 * The run tree of a conversation in display order: each run followed by its children, with its
 * nesting level (a handoff is a child of the run that mentioned the teammate but keeps depth 0;
 * depth counts sub-agent nesting only).
 */
export function runTree(c: ConversationRow | undefined): Array<RunRow & { level: number }> {
  return c ? flattenRunTree(c.tree).map(({ run, level }) => ({ ...runRow(run), level })) : [];
}
