/**
 * The page's live state: loaded once over REST, then kept current by the one event stream of
 * the tab (lib/live.ts). Components read it with useStore(selector); nothing polls.
 */
import { useSyncExternalStore } from 'react';
import {
  CHANNEL_STATES,
  planLine,
  type Agent,
  type Approval,
  type ChannelState,
  type ChannelStatus,
  type ConnectionState,
  type Handoff as HandoffRecord,
  type QueueMessageView,
  type Status,
  type Team,
  type TinyEvent,
} from '@tinyagi/client';
import { approvalOf, withApprovals } from './approvals';
import type { StreamInfo } from './tab-bus';

export type AuthState = 'checking' | 'ok' | 'anonymous' | 'unreachable';

/** What an agent is doing now, as the office shows it. */
export interface AgentActivity {
  working: boolean;
  runId: string | null;
  conversationId: string | null;
  /** The latest progress line (text, tool, status). */
  bubble: string | null;
  turn: number;
  since: number;
  /** The tool call running now (a `tool` event without its result yet), or null. */
  tool: DeskTool | null;
  /** The run's latest plan, or null when it reported none. */
  plan: PlanStep[] | null;
}

type ProgressData = Extract<TinyEvent, { type: 'run.progress' }>['data'];
export type PlanStep = Extract<ProgressData, { type: 'plan' }>['steps'][number];

/** A tool call at the desk: its name, the one-line title (command, file, query) and the runtime's call id. */
export interface DeskTool {
  id: string | null;
  name: string;
  title: string | null;
  kind: string | null;
}

/** A run of the agent failed: shown where the agent is until the person dismisses it. */
export interface AgentFailure {
  runId: string | null;
  conversationId: string | null;
  error: string;
  at: number;
}

export interface Handoff {
  /** The `agent.mention` event's id: a handoff listed over REST and then seen live is one handoff. */
  id: number;
  from: string;
  to: string;
  conversationId: string | null;
  at: number;
}

export interface OfficeState {
  auth: AuthState;
  authError: string | null;
  connection: ConnectionState;
  connectionInfo: StreamInfo;
  /** The stream has been open at least once (a later drop is "reconnecting", not "connecting"). */
  everOpen: boolean;
  status: Status | null;
  agents: Agent[];
  teams: Team[];
  activity: Record<string, AgentActivity>;
  /**
   * Runs paused by steering: GET /api/status's `orchestrator.paused` on load, then accepted
   * `run.steered` pause/resume events; an ended run leaves. Kept by run, not by agent, because a
   * run can be paused while still queued (its `run.started` comes later).
   */
  pausedRuns: readonly string[];
  /** The latest handoffs (earlier ones from GET /api/handoffs, then live ones), oldest first, at most HANDOFFS_KEPT. */
  handoffs: Handoff[];
  /** The last failure of each agent not yet dismissed (a later failure replaces it). */
  failures: Record<string, AgentFailure>;
  /**
   * Approval requests by id (lib/approvals.ts): the pending ones on load, every approval event's
   * record, and those a page loads; the header counts the pending ones.
   */
  approvals: Record<string, Approval>;
  /** The memory proposals waiting for a person (their ids): loaded with the office, then `memory.proposed` adds and `memory.decided` removes; the header counts them. */
  memoryProposals: readonly string[];
  /** The newest events (the live feed), newest last. */
  feed: TinyEvent[];
  /** Bumped on every event: pages that keep their own data (a conversation) refetch nothing, they apply events. */
  lastEventId: number;
}

export const FEED_SIZE = 300;
/** How long a handoff line stays drawn in the office. */
export const HANDOFF_MS = 6000;
/** How many handoffs the office keeps (it lists the newest five). */
export const HANDOFFS_KEPT = 20;

const initial: OfficeState = {
  auth: 'checking',
  authError: null,
  connection: 'connecting',
  connectionInfo: { attempt: 0 },
  everOpen: false,
  status: null,
  agents: [],
  teams: [],
  activity: {},
  pausedRuns: [],
  handoffs: [],
  failures: {},
  approvals: {},
  memoryProposals: [],
  feed: [],
  lastEventId: 0,
};

let state: OfficeState = initial;
const listeners = new Set<() => void>();

export function getState(): OfficeState {
  return state;
}

export function setState(patch: Partial<OfficeState> | ((s: OfficeState) => Partial<OfficeState>)): void {
  state = { ...state, ...(typeof patch === 'function' ? patch(state) : patch) };
  for (const listener of listeners) listener();
}

export function subscribeStore(listener: () => void): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

export function useStore<T>(selector: (s: OfficeState) => T): T {
  return useSyncExternalStore(
    subscribeStore,
    () => selector(state),
    () => selector(initial),
  );
}

const idle = (): AgentActivity => ({ working: false, runId: null, conversationId: null, bubble: null, turn: 0, since: Date.now(), tool: null, plan: null });

/** The orchestrator part of GET /api/status (typed `unknown` in the contract: the daemon's own shape). */
interface OrchestratorStatus {
  running?: Array<{ runId: string; agentId: string; conversationId: string; startedAt: number }>;
  paused?: string[];
}

const orchestratorOf = (status: Status): OrchestratorStatus => (status.orchestrator as OrchestratorStatus | null) ?? {};

/** The running runs of GET /api/status, as activity (the orchestrator's `running` list). */
export function activityFromStatus(status: Status): Record<string, AgentActivity> {
  const activity: Record<string, AgentActivity> = {};
  for (const r of orchestratorOf(status).running ?? [])
    activity[r.agentId] = { working: true, runId: r.runId, conversationId: r.conversationId, bubble: 'working…', turn: 0, since: r.startedAt, tool: null, plan: null };
  return activity;
}

/** The paused runs of GET /api/status (the orchestrator's `paused` list). */
export function pausedFromStatus(status: Status): string[] {
  return orchestratorOf(status).paused ?? [];
}

/** Whether the run an agent is at its desk for is paused (it stays at the desk, but is not working). */
export function isPaused(s: Pick<OfficeState, 'activity' | 'pausedRuns'>, agentId: string): boolean {
  const a = s.activity[agentId];
  return a?.working === true && a.runId !== null && s.pausedRuns.includes(a.runId);
}

const clip = (text: string, max: number): string => (text.length > max ? `${text.slice(0, max)}…` : text);

/** What a tool call does, in words ("editing src/app.ts", "running pnpm test"), from its input's usual fields. */
function describeTool(name: string, input: unknown): string {
  const fields = input !== null && typeof input === 'object' ? (input as Record<string, unknown>) : {};
  const text = (key: string): string | undefined => (typeof fields[key] === 'string' && fields[key] !== '' ? (fields[key] as string) : undefined);
  const agent = text('agent');
  if (name === 'spawn_agent' && agent) return `asking @${agent}${text('task') ? `: ${clip(text('task')!, 80)}` : ''}`;
  const command = text('command') ?? text('cmd');
  if (command) return `running ${clip(command, 80)}`;
  const file = text('file_path') ?? text('path') ?? text('notebook_path');
  if (file) return /edit|write|patch/i.test(name) ? `editing ${file}` : /read|view|open/i.test(name) ? `reading ${file}` : `${name} ${file}`;
  const subject = text('pattern') ?? text('query') ?? text('url') ?? text('description');
  return subject ? `${name} ${clip(subject, 80)}` : `using ${name}`;
}

/** One progress event as a line of what the agent is doing now. */
export function describeProgress(data: ProgressData): string {
  if (data.type === 'text') return clip(data.text, 140);
  if (data.type === 'tool') return data.title ? `${data.name}: ${clip(data.title.replace(/\s+/g, ' ').trim(), 100)}` : describeTool(data.name, data.input);
  if (data.type === 'tool_result') return `${data.name ?? 'tool'} ${data.ok ? 'done' : 'failed'}`;
  if (data.type === 'plan') return planLine(data.steps);
  if (data.type === 'usage') return `model call: ${data.inputTokens} in, ${data.outputTokens} out`;
  return data.message;
}

/** The tool call running after this event: a new call, none once its result came (by id, else the latest), else as it was. */
export function deskTool(current: DeskTool | null, data: ProgressData): DeskTool | null {
  if (data.type === 'tool') return { id: data.id ?? null, name: data.name, title: data.title ?? null, kind: data.kind ?? null };
  if (data.type === 'tool_result' && current && (data.id === undefined || current.id === null || current.id === data.id)) return null;
  return current;
}

/** A handoff as GET /api/handoffs lists it; `at` is when it happened (a line is drawn only if that was just now). */
export const handoffOf = (r: HandoffRecord): Handoff => ({ id: r.id, from: r.fromAgent, to: r.toAgent, conversationId: r.conversationId, at: r.ts });

/** Adds handoffs to the list, each once (by event id), in the order they happened; the newest HANDOFFS_KEPT stay. */
export function withHandoffs(list: Handoff[], more: readonly Handoff[]): Handoff[] {
  const known = new Set(list.map((h) => h.id));
  const added = more.filter((h) => !known.has(h.id));
  return added.length === 0 ? list : [...list, ...added].sort((a, b) => a.id - b.id).slice(-HANDOFFS_KEPT);
}

const ENDED = new Set(['run.completed', 'run.failed', 'run.cancelled', 'run.rejected']);

/** When the person last dismissed each agent's failure (this browser): older dead letters stay seen after a reload. */
const SEEN_KEY = 'tinyoffice-failures-seen';

function seenFailures(): Record<string, number> {
  try {
    return JSON.parse(localStorage.getItem(SEEN_KEY) ?? '{}') as Record<string, number>;
  } catch {
    return {};
  }
}

/** The person has seen the agent's failure. */
export function dismissFailure(agentId: string): void {
  try {
    localStorage.setItem(SEEN_KEY, JSON.stringify({ ...seenFailures(), [agentId]: Date.now() }));
  } catch {
    // Storage blocked: dismissed for this page only.
  }
  setState((s) => {
    const { [agentId]: _seen, ...rest } = s.failures;
    return { failures: rest };
  });
}

/** On load: each agent's newest dead letter since the person last dismissed one, as its failure. */
export function failuresFromDead(dead: readonly QueueMessageView[]): Record<string, AgentFailure> {
  const seen = seenFailures();
  const failures: Record<string, AgentFailure> = {};
  for (const m of dead) {
    const at = m.finishedAt ?? m.updatedAt;
    if (at <= (seen[m.agentId] ?? 0) || (failures[m.agentId]?.at ?? 0) >= at) continue;
    failures[m.agentId] = { runId: m.runId, conversationId: m.conversationId, error: m.lastError ?? 'failed without a reason', at };
  }
  return failures;
}

/** Folds one event into the state (pure: returns the patch). */
export function reduceEvent(s: OfficeState, event: TinyEvent): Partial<OfficeState> {
  const patch: Partial<OfficeState> = { lastEventId: event.id, feed: [...s.feed.slice(-(FEED_SIZE - 1)), event] };
  const agent = event.agentId;
  if (event.type === 'run.started' && agent) {
    patch.activity = { ...s.activity, [agent]: { working: true, runId: event.runId, conversationId: event.conversationId, bubble: 'thinking…', turn: 0, since: event.ts, tool: null, plan: null } };
  } else if (event.type === 'run.progress' && agent) {
    const current = s.activity[agent] ?? idle();
    // Another run of the agent (or one seen mid-way): its tool and plan start afresh.
    const same = current.runId === event.runId;
    patch.activity = {
      ...s.activity,
      [agent]: {
        ...current,
        working: true,
        runId: event.runId,
        conversationId: event.conversationId,
        // A model call's usage is no news to the person: the bubble keeps what the agent does.
        bubble: event.data.type === 'usage' ? current.bubble : describeProgress(event.data),
        turn: event.data.turn,
        tool: deskTool(same ? current.tool : null, event.data),
        plan: event.data.type === 'plan' ? event.data.steps : same ? current.plan : null,
      },
    };
  } else if (ENDED.has(event.type) && agent && s.activity[agent]?.runId === event.runId) {
    patch.activity = { ...s.activity, [agent]: { ...idle(), since: event.ts } };
  }
  if (event.type === 'run.failed' && agent) {
    patch.failures = { ...s.failures, [agent]: { runId: event.runId, conversationId: event.conversationId, error: event.data.error ?? 'failed without a reason', at: event.ts } };
  } else if (event.type === 'run.steered' && event.runId && event.data.accepted && (event.data.command === 'pause' || event.data.command === 'resume')) {
    const others = s.pausedRuns.filter((r) => r !== event.runId);
    patch.pausedRuns = event.data.command === 'pause' ? [...others, event.runId] : others;
  } else if (event.type === 'agent.mention') {
    patch.handoffs = withHandoffs(s.handoffs, [{ id: event.id, from: event.data.fromAgent, to: event.data.toAgent, conversationId: event.conversationId, at: Date.now() }]);
  }
  const approval = approvalOf(event);
  if (approval) patch.approvals = withApprovals(s.approvals, [approval]);
  if (event.type === 'memory.proposed' || event.type === 'memory.decided') patch.memoryProposals = withProposal(s.memoryProposals, event.data.entry);
  if (ENDED.has(event.type) && event.runId && s.pausedRuns.includes(event.runId)) patch.pausedRuns = s.pausedRuns.filter((r) => r !== event.runId);
  if (s.status && (event.type === 'channel.status' || event.type.startsWith('queue.') || event.type === 'message.enqueued' || ENDED.has(event.type) || event.type === 'run.started')) {
    patch.status = applyToStatus(s.status, event);
  }
  return patch;
}

/** The waiting proposals' ids after a record of one: listed while `proposed`, gone once decided. */
export function withProposal(ids: readonly string[], entry: { id: string; status: string }): readonly string[] {
  const listed = ids.includes(entry.id);
  if (entry.status === 'proposed') return listed ? ids : [...ids, entry.id];
  return listed ? ids.filter((id) => id !== entry.id) : ids;
}

/** Keeps the counts the office shows current between loads (an estimate; Control reloads the exact numbers). */
function applyToStatus(status: Status, event: TinyEvent): Status {
  const queue = { ...status.queue };
  if (event.type === 'message.enqueued') queue.pending += 1;
  else if (event.type === 'run.started') {
    queue.pending = Math.max(0, queue.pending - event.data.messageIds.length);
    queue.processing += event.data.messageIds.length;
  } else if (ENDED.has(event.type)) {
    queue.processing = Math.max(0, queue.processing - 1);
    if (event.type === 'run.completed') queue.completed += 1;
  } else if (event.type === 'queue.dead') queue.dead += 1;
  let channels: ChannelStatus[] = status.channels;
  if (event.type === 'channel.status') {
    const state = (CHANNEL_STATES as readonly string[]).includes(event.data.state) ? (event.data.state as ChannelState) : undefined;
    const previous = channels.find((c) => c.name === event.data.channel);
    // A restart keeps its last error until the platform answers; connected clears it.
    const lastError = state === 'connected' ? null : (event.data.error ?? (state === 'reconnecting' ? (previous?.lastError ?? null) : null));
    const next = {
      name: event.data.channel,
      running: event.data.pid != null,
      ...(state !== undefined ? { state } : {}),
      attempt: event.data.attempt ?? 0,
      pid: event.data.pid ?? null,
      restarts: event.data.restarts ?? previous?.restarts ?? 0,
      lastError,
    };
    channels = channels.some((c) => c.name === next.name) ? channels.map((c) => (c.name === next.name ? { ...c, ...next } : c)) : [...channels, next];
  }
  return { ...status, queue, channels, lastEventId: event.id };
}
