/**
 * The run tree of one conversation, in one place for every surface: built from the API's run
 * records (`GET /api/conversations/:id`, or the `runs` rows the server nests) and kept current by
 * the conversation's live events. Pure and dependency-free (types only), so it costs the browser
 * bundle a few hundred bytes and no zod.
 *
 * Before this module there were three copies, and they disagreed:
 * - teams (`nestRuns` + `runTreeFromEvents`): server side, nested objects, rebuilt from scratch
 *   each call; a run.started after run.completed would set the status back to running.
 * - TinyOffice (`lib/run-tree.ts`): a Map mutated in place with a `rev` per node; every event
 *   overwrote the status (a replayed or late event could turn a finished run back to running),
 *   a progress event of an unknown run created a node with cause `user`, the REST snapshot
 *   replaced the tree (events between subscribe and load were lost), and `error` mixed the
 *   stored error with the cancel reason and the limit that refused it.
 * - The visualizer's reducer: immutable records keyed by id plus an insertion order, capped at 200
 *   runs, with `paused` as a status, sub-agent names from `subagent.*` events, and a snapshot
 *   merge where only an ended status overrode what events said.
 *
 * The contract here:
 * - Immutable: `applyRunEvent` returns the same tree object when the event changes nothing, else
 *   a new tree that shares every unchanged node. A changed node's ancestors are new objects too,
 *   so a row memoised on its node re-renders exactly along the changed path.
 * - Idempotent and order-tolerant: a run's status only moves forward (queued < running < ended;
 *   the first ended status is final), `startedAt` is set once, totals come with the ended status,
 *   and the non-monotone live fields (progress line, paused) remember the id of the event that set
 *   them and ignore older ones. So an event applied twice changes nothing, and a snapshot merged
 *   over events (or events replayed over a snapshot) never moves a run backwards.
 * - Out of order: a run whose parent is not known yet is a root until the parent appears, then it
 *   moves under it. Children are kept in the order they became known, which is creation order when
 *   events arrive in id order (as the stream delivers them) and may differ otherwise.
 * - A run is created by its lifecycle events (run.queued/started/ended/rejected), `agent.mention`
 *   (the handoff's child run) and `subagent.*`; `run.progress` and `run.steered` only change a
 *   known run (they do not carry the run's cause).
 * - Event timestamps are the events' (`ts`), which can differ by a few milliseconds from the row's.
 * - Live activity (`activity`: tool calls with their results, the latest plan, per-call usage) is
 *   built from `run.progress` events only, in event id order: an event at or below the last one
 *   applied to the run is ignored (so a replay changes nothing). Bounded: the last
 *   RUN_ACTIVITY_MAX_TOOLS calls per run, each output cut to RUN_ACTIVITY_OUTPUT_CHARS.
 */
import type { RunNode, RunSteerEntry } from './contract/conversations.ts';
import type { TinyEvent } from './contract/event-map.ts';

type RunStatus = RunNode['status'];
type ProgressData = Extract<TinyEvent, { type: 'run.progress' }>['data'];
type ToolProgress = Extract<ProgressData, { type: 'tool' }>;
type PlanProgress = Extract<ProgressData, { type: 'plan' }>;

/** The most tool calls a run's activity keeps (the latest ones). */
export const RUN_ACTIVITY_MAX_TOOLS = 200;
/** The most characters of a tool's output kept (its start). */
export const RUN_ACTIVITY_OUTPUT_CHARS = 500;

/** One tool call of a run, with its result once it came. */
export interface RunToolCall {
  /** The runtime's call id, or `#<event id>` when it gave none. */
  id: string;
  name: string;
  kind: NonNullable<ToolProgress['kind']> | null;
  /** One line for people (the command, the file, the query), or null. */
  title: string | null;
  turn: number;
  /** When the call and its result were reported (event `ts`); `endedAt` null while it runs. */
  startedAt: number;
  endedAt: number | null;
  /** The result's verdict; null until it came. */
  ok: boolean | null;
  /** The start of the tool's output (at most RUN_ACTIVITY_OUTPUT_CHARS), or null. */
  output: string | null;
}

export type RunPlanStep = PlanProgress['steps'][number];

/** Model calls the runtime reported one by one (`usage` progress), summed. */
export interface RunCallUsage {
  calls: number;
  inputTokens: number;
  outputTokens: number;
  cacheReadTokens: number;
  /** The model of the latest call that named one. */
  model: string | null;
}

/** What a run did, live: its tool calls (oldest first, the latest RUN_ACTIVITY_MAX_TOOLS), plan and usage. */
export interface RunActivity {
  tools: readonly RunToolCall[];
  /** Calls dropped from the front of `tools` to keep it bounded. */
  droppedTools: number;
  /** The latest plan the agent reported, or null. */
  plan: readonly RunPlanStep[] | null;
  usage: RunCallUsage;
  /** The id of the last progress event applied (older and repeated ones are ignored). */
  lastEventId: number;
}

export const EMPTY_RUN_ACTIVITY: RunActivity = Object.freeze({
  tools: Object.freeze([]) as readonly RunToolCall[],
  droppedTools: 0,
  plan: null,
  usage: Object.freeze({ calls: 0, inputTokens: 0, outputTokens: 0, cacheReadTokens: 0, model: null }),
  lastEventId: 0,
});

export interface RunTreeNode extends Omit<RunNode, 'children' | 'steering'> {
  /** Child run ids, in the order they became known. */
  children: readonly string[];
  /** Accepted steering commands (who sent what), oldest first: from the API's tree and live `run.steered` events. */
  steering: readonly RunSteerEntry[];
  /** The latest progress line while it runs (live only; null once ended). */
  progress: string | null;
  /** Paused by steering (live only). */
  paused: boolean;
  /** Why it was cancelled or which limit refused it (live only: events carry it, rows do not). */
  reason: string | null;
  /** The name its `subagent.*` events gave a sub-agent run (live only; the daemon names it after its agent). */
  name: string | null;
  /** Tool calls, plan and per-call usage from the run's progress events (live only). */
  activity: RunActivity;
  /** Ids of the events that set `progress` and `paused` (older ones are ignored). */
  progressEventId: number;
  steerEventId: number;
}

export interface RunTree {
  readonly nodes: ReadonlyMap<string, RunTreeNode>;
  readonly roots: readonly string[];
}

export interface RunTreeOptions {
  /** The most runs kept: a runaway tree keeps its first ones (the root and its branches). */
  maxRuns?: number;
}

const RANK: Record<RunStatus, number> = { queued: 0, running: 1, completed: 2, failed: 2, cancelled: 2, rejected: 2 };

export const isRunEnded = (status: RunStatus): boolean => RANK[status] === 2;

export function emptyRunTree(): RunTree {
  return { nodes: new Map(), roots: [] };
}

/** A copy-on-write view of a tree for one batch of changes. */
class Draft {
  nodes: Map<string, RunTreeNode> | undefined;
  roots: string[] | undefined;
  readonly #base: RunTree;
  readonly #max: number;
  /** Nodes already copied in this batch (safe to mutate, children array included). */
  readonly #own = new Set<string>();
  /** Roots whose parent is not known yet, by that parent's id (built on the first add of a batch). */
  #orphans: Map<string, string[]> | undefined;

  constructor(base: RunTree, options: RunTreeOptions) {
    this.#base = base;
    this.#max = options.maxRuns ?? Number.POSITIVE_INFINITY;
  }

  get(id: string): RunTreeNode | undefined {
    return (this.nodes ?? this.#base.nodes).get(id);
  }

  get size(): number {
    return (this.nodes ?? this.#base.nodes).size;
  }

  /** A mutable copy of the node (and new objects for its ancestors, so memoised rows re-render). */
  edit(id: string): RunTreeNode {
    this.nodes ??= new Map(this.#base.nodes);
    for (let at: string | null = id, first = true; at !== null; first = false) {
      const node: RunTreeNode | undefined = this.nodes.get(at);
      if (!node) break;
      if (!this.#own.has(at)) {
        this.nodes.set(at, { ...node, children: [...node.children] });
        this.#own.add(at);
      } else if (!first) break; // its ancestors were copied with it
      at = node.parentRunId;
    }
    return this.nodes.get(id)!;
  }

  /** Adds a run; false when the tree is full. */
  add(node: RunTreeNode): boolean {
    if (this.size >= this.#max) return false;
    this.nodes ??= new Map(this.#base.nodes);
    this.roots ??= [...this.#base.roots];
    if (!this.#orphans) {
      this.#orphans = new Map();
      for (const r of this.roots) this.#orphan(this.nodes.get(r)!);
    }
    this.nodes.set(node.runId, node);
    this.#own.add(node.runId);
    // Runs that arrived before this one, their parent, move under it (never its own parent: no cycle).
    const adopted = (this.#orphans.get(node.runId) ?? []).filter((r) => r !== node.parentRunId);
    if (adopted.length > 0) {
      this.#orphans.delete(node.runId);
      this.roots = this.roots.filter((r) => !adopted.includes(r));
      node.children = [...node.children, ...adopted];
    }
    if (node.parentRunId !== null && this.nodes.has(node.parentRunId)) (this.edit(node.parentRunId).children as string[]).push(node.runId);
    else {
      this.roots.push(node.runId);
      this.#orphan(node);
    }
    return true;
  }

  #orphan(root: RunTreeNode): void {
    if (root.parentRunId === null || this.nodes!.has(root.parentRunId)) return;
    const waiting = this.#orphans!.get(root.parentRunId);
    if (waiting) waiting.push(root.runId);
    else this.#orphans!.set(root.parentRunId, [root.runId]);
  }

  result(): RunTree {
    return this.nodes ? { nodes: this.nodes, roots: this.roots ?? this.#base.roots } : this.#base;
  }
}

function blankNode(fields: Pick<RunTreeNode, 'runId' | 'agentId' | 'parentRunId' | 'depth' | 'cause'>): RunTreeNode {
  return {
    ...fields,
    status: 'queued',
    inputTokens: 0,
    outputTokens: 0,
    costUsd: 0,
    error: null,
    startedAt: null,
    endedAt: null,
    children: [],
    steering: [],
    progress: null,
    paused: false,
    reason: null,
    name: null,
    activity: EMPTY_RUN_ACTIVITY,
    progressEventId: 0,
    steerEventId: 0,
  };
}

/** The record fields of a node as the API has them (the ones a snapshot may update). */
type Recorded = Pick<RunNode, 'status' | 'inputTokens' | 'outputTokens' | 'costUsd' | 'error' | 'startedAt' | 'endedAt'>;

function mergeRecord(draft: Draft, record: RunNode): void {
  const known = draft.get(record.runId);
  if (!known) {
    const { children: _, steering, ...fields } = record;
    draft.add({ ...blankNode(fields), ...fields, children: [], steering: steering ?? [] });
    return;
  }
  const steering = withSteering(known.steering, record.steering ?? []);
  if (steering !== known.steering) draft.edit(record.runId).steering = steering;
  // Events do not say which node ran a run; the record does (several nodes).
  if (record.node && record.node !== known.node) draft.edit(record.runId).node = record.node;
  // A snapshot never moves a run backwards; at the same rank it is at least as new as the events.
  if (RANK[record.status] < RANK[known.status]) {
    if (known.startedAt === null && record.startedAt !== null) draft.edit(record.runId).startedAt = record.startedAt;
    return;
  }
  const patch: Recorded = {
    status: record.status,
    inputTokens: record.inputTokens,
    outputTokens: record.outputTokens,
    costUsd: record.costUsd,
    error: record.error,
    startedAt: known.startedAt ?? record.startedAt,
    endedAt: record.endedAt,
  };
  if ((Object.keys(patch) as Array<keyof Recorded>).every((k) => patch[k] === known[k])) return;
  const node = Object.assign(draft.edit(record.runId), patch);
  if (isRunEnded(node.status)) {
    node.progress = null;
    node.paused = false;
  }
}

function eachRecord(records: readonly RunNode[], visit: (r: RunNode) => void): void {
  for (const r of records) {
    visit(r);
    eachRecord(r.children, visit);
  }
}

/**
 * Merges run records into the tree: nested roots as `GET /api/conversations/:id` returns them, or a
 * flat list in creation order (each with empty `children`). A record may add a run or move one
 * forward; it never moves a known run back (a stale snapshot is harmless).
 */
export function mergeRunRecords(tree: RunTree, records: readonly RunNode[], options: RunTreeOptions = {}): RunTree {
  const draft = new Draft(tree, options);
  eachRecord(records, (r) => mergeRecord(draft, r));
  return draft.result();
}

/** The tree of these run records (nested or flat, see mergeRunRecords). */
export function runTreeFromRecords(records: readonly RunNode[], options: RunTreeOptions = {}): RunTree {
  return mergeRunRecords(emptyRunTree(), records, options);
}

/** The tree in the API's shape: nested records, roots first (live-only fields dropped). */
export function runTreeRecords(tree: RunTree): RunNode[] {
  const toRecord = (id: string): RunNode => {
    const { children, steering, progress: _p, paused: _pa, reason: _r, name: _n, activity: _a, progressEventId: _pe, steerEventId: _se, ...fields } = tree.nodes.get(id)!;
    return { ...fields, ...(steering.length > 0 ? { steering: [...steering] } : {}), children: children.map(toRecord) };
  };
  return tree.roots.map(toRecord);
}

/** The runs in display order (each run followed by its children) with their nesting level. */
export function flattenRunTree(tree: RunTree): Array<{ run: RunTreeNode; level: number }> {
  const out: Array<{ run: RunTreeNode; level: number }> = [];
  const walk = (ids: readonly string[], level: number): void => {
    for (const id of ids) {
      const run = tree.nodes.get(id)!;
      out.push({ run, level });
      walk(run.children, level + 1);
    }
  };
  walk(tree.roots, 0);
  return out;
}

export interface RunTreeTotals {
  runs: number;
  /** Queued or running. */
  active: number;
  /** Failed or rejected. */
  failed: number;
  maxDepth: number;
  tokens: number;
  costUsd: number;
}

export function runTreeTotals(tree: RunTree): RunTreeTotals {
  const totals: RunTreeTotals = { runs: tree.nodes.size, active: 0, failed: 0, maxDepth: 0, tokens: 0, costUsd: 0 };
  for (const n of tree.nodes.values()) {
    if (!isRunEnded(n.status)) totals.active += 1;
    if (n.status === 'failed' || n.status === 'rejected') totals.failed += 1;
    totals.maxDepth = Math.max(totals.maxDepth, n.depth);
    totals.tokens += n.inputTokens + n.outputTokens;
    totals.costUsd += n.costUsd;
  }
  return totals;
}

/** One short line for a progress event (what a running run is doing). */
export function runProgressLine(data: ProgressData): string {
  switch (data.type) {
    case 'text':
      return data.text.replace(/\s+/g, ' ').trim().slice(0, 120);
    case 'tool':
      return data.title ? `${data.name}: ${data.title.replace(/\s+/g, ' ').trim().slice(0, 100)}` : `using ${data.name}`;
    case 'tool_result':
      return `${data.name ?? 'tool'} ${data.ok ? 'done' : 'failed'}`;
    case 'status':
      return data.message;
    case 'plan':
      return planLine(data.steps);
    case 'usage':
      return `model call: ${data.inputTokens} in, ${data.outputTokens} out${data.model ? ` (${data.model})` : ''}`;
  }
}

/** The run an event creates when it is new: from its envelope, or the handoff's / spawn's child. */
function ensure(draft: Draft, event: TinyEvent): RunTreeNode | undefined {
  let fields: Pick<RunTreeNode, 'runId' | 'agentId' | 'parentRunId' | 'depth' | 'cause'> | undefined;
  switch (event.type) {
    case 'agent.mention':
      // The handoff's child (its run.queued comes first, in the same commit): depth counts sub-agent nesting only.
      fields = { runId: event.data.childRunId, agentId: event.data.toAgent, parentRunId: event.runId, depth: 0, cause: 'mention' };
      break;
    case 'subagent.started':
    case 'subagent.completed':
    case 'subagent.failed':
      if (event.runId) fields = { runId: event.runId, agentId: event.agentId ?? event.data.name, parentRunId: event.data.parentRunId, depth: event.data.depth, cause: 'spawn' };
      break;
    case 'run.queued':
    case 'run.started':
    case 'run.completed':
    case 'run.failed':
    case 'run.cancelled':
    case 'run.rejected':
      if (event.runId) fields = { runId: event.runId, agentId: event.agentId ?? '?', parentRunId: event.parentRunId, depth: event.depth ?? 0, cause: event.data.cause };
      break;
    default:
      if (event.runId) return draft.get(event.runId);
  }
  if (!fields) return undefined;
  const known = draft.get(fields.runId);
  if (known) return known;
  return draft.add(blankNode(fields)) ? draft.get(fields.runId) : undefined;
}

interface Ending {
  status: RunStatus;
  inputTokens?: number | undefined;
  outputTokens?: number | undefined;
  costUsd?: number | undefined;
  error?: string | undefined;
  reason?: string | undefined;
}

function ending(event: TinyEvent): Ending | undefined {
  switch (event.type) {
    case 'run.completed':
    case 'run.failed':
    case 'run.cancelled': {
      const { inputTokens, outputTokens, costUsd, error, reason, limitName } = event.data;
      return { status: event.type === 'run.completed' ? 'completed' : event.type === 'run.failed' ? 'failed' : 'cancelled', inputTokens, outputTokens, costUsd, error, reason: reason ?? limitName };
    }
    case 'run.rejected': {
      const { inputTokens, outputTokens, costUsd, error, limitName } = event.data;
      return { status: 'rejected', inputTokens, outputTokens, costUsd, error, reason: limitName };
    }
    case 'subagent.completed':
    case 'subagent.failed': {
      // The run's own end event carries the same totals; a cancelled sub-agent ends in subagent.failed.
      const { status, inputTokens, outputTokens, costUsd, error } = event.data;
      const known = (Object.hasOwn(RANK, status) ? status : event.type === 'subagent.failed' ? 'failed' : 'completed') as RunStatus;
      return { status: isRunEnded(known) ? known : 'failed', inputTokens, outputTokens, costUsd, error };
    }
    default:
      return undefined;
  }
}

function applyOne(draft: Draft, event: TinyEvent): void {
  const node = ensure(draft, event);
  if (!node) return;
  const id = node.runId;
  if ((event.type === 'subagent.started' || event.type === 'subagent.completed' || event.type === 'subagent.failed') && node.name === null) draft.edit(id).name = event.data.name;
  const started = event.type === 'run.started' || event.type === 'subagent.started';
  if (started && RANK[node.status] < 1) draft.edit(id).status = 'running';
  if (started && node.startedAt === null) draft.edit(id).startedAt = event.ts;
  const end = ending(event);
  if (end && !isRunEnded(node.status)) {
    const n = draft.edit(id);
    n.status = end.status;
    n.endedAt = event.ts;
    n.inputTokens = end.inputTokens ?? n.inputTokens;
    n.outputTokens = end.outputTokens ?? n.outputTokens;
    n.costUsd = end.costUsd ?? n.costUsd;
    n.error = end.error ?? n.error;
    n.reason = end.reason ?? null;
    n.progress = null;
    n.paused = false;
  }
  if (event.type === 'run.progress' && event.id > node.activity.lastEventId) {
    const activity = withActivity(node.activity, event.data, event.id, event.ts);
    if (activity !== node.activity) draft.edit(id).activity = activity;
  }
  if (event.type === 'run.progress' && event.id > node.progressEventId && !isRunEnded(node.status)) {
    const n = draft.edit(id);
    n.progress = runProgressLine(event.data);
    n.progressEventId = event.id;
  }
  if (event.type === 'run.steered') {
    const entry = steerEntry(event);
    const steering = entry ? withSteering(node.steering, [entry]) : node.steering;
    if (steering !== node.steering) draft.edit(id).steering = steering;
  }
  if (event.type === 'run.steered' && event.data.accepted && (event.data.command === 'pause' || event.data.command === 'resume') && event.id > node.steerEventId && !isRunEnded(node.status)) {
    const n = draft.edit(id);
    n.paused = event.data.command === 'pause';
    n.steerEventId = event.id;
  }
}

/**
 * The activity with one progress event applied (a new object; the same one when the event adds
 * nothing). A result is matched to its call by id; without an id, to the latest open call of
 * the same name (else the latest open call). A result with no call known becomes a call of its own.
 */
export function withActivity(activity: RunActivity, data: ProgressData, eventId: number, ts: number): RunActivity {
  switch (data.type) {
    case 'tool': {
      // The same call reported again (a runtime that updates a call as it streams): updated in place.
      const again = data.id === undefined ? -1 : findLast(activity.tools, (c) => c.id === data.id && c.endedAt === null);
      if (again >= 0) {
        const known = activity.tools[again]!;
        const tools = [...activity.tools];
        tools[again] = { ...known, name: data.name, kind: data.kind ?? known.kind, title: data.title ? oneLine(data.title, 200) : known.title };
        return { ...activity, tools, lastEventId: eventId };
      }
      const call: RunToolCall = {
        id: data.id ?? `#${eventId}`,
        name: data.name,
        kind: data.kind ?? null,
        title: data.title ? oneLine(data.title, 200) : null,
        turn: data.turn,
        startedAt: ts,
        endedAt: null,
        ok: null,
        output: null,
      };
      const tools = [...activity.tools, call];
      const drop = Math.max(0, tools.length - RUN_ACTIVITY_MAX_TOOLS);
      return { ...activity, tools: drop > 0 ? tools.slice(drop) : tools, droppedTools: activity.droppedTools + drop, lastEventId: eventId };
    }
    case 'tool_result': {
      const open = (c: RunToolCall): boolean => c.endedAt === null;
      const at =
        data.id !== undefined
          ? findLast(activity.tools, (c) => c.id === data.id && open(c))
          : ((named) => (named >= 0 ? named : findLast(activity.tools, open)))(findLast(activity.tools, (c) => open(c) && c.name === data.name));
      const output = data.output === undefined ? null : data.output.slice(0, RUN_ACTIVITY_OUTPUT_CHARS);
      const tools = [...activity.tools];
      if (at >= 0) tools[at] = { ...tools[at]!, endedAt: ts, ok: data.ok, output };
      else {
        tools.push({ id: data.id ?? `#${eventId}`, name: data.name ?? 'tool', kind: null, title: null, turn: data.turn, startedAt: ts, endedAt: ts, ok: data.ok, output });
        if (tools.length > RUN_ACTIVITY_MAX_TOOLS) return { ...activity, tools: tools.slice(1), droppedTools: activity.droppedTools + 1, lastEventId: eventId };
      }
      return { ...activity, tools, lastEventId: eventId };
    }
    case 'plan':
      return { ...activity, plan: data.steps.map((s) => ({ text: s.text, status: s.status })), lastEventId: eventId };
    case 'usage': {
      const u = activity.usage;
      return {
        ...activity,
        usage: {
          calls: u.calls + 1,
          inputTokens: u.inputTokens + data.inputTokens,
          outputTokens: u.outputTokens + data.outputTokens,
          cacheReadTokens: u.cacheReadTokens + (data.cacheReadTokens ?? 0),
          model: data.model ?? u.model,
        },
        lastEventId: eventId,
      };
    }
    default:
      return activity;
  }
}

function findLast<T>(list: readonly T[], test: (item: T) => boolean): number {
  for (let i = list.length - 1; i >= 0; i--) if (test(list[i]!)) return i;
  return -1;
}

function oneLine(text: string, max: number): string {
  return text.replace(/\s+/g, ' ').trim().slice(0, max);
}

/** The call running now (the latest without a result) while the run is not ended, or null. */
export function currentToolCall(run: Pick<RunTreeNode, 'status' | 'activity'>): RunToolCall | null {
  if (isRunEnded(run.status)) return null;
  const at = findLast(run.activity.tools, (c) => c.endedAt === null);
  return at >= 0 ? run.activity.tools[at]! : null;
}

/** One line for a tool call: `name: title` (or `name`), with its state (`running`, `ok`, `failed`). */
export function toolCallLine(call: RunToolCall): string {
  const what = call.title ? `${call.name}: ${call.title}` : call.name;
  return `${what} (${call.ok === null ? (call.endedAt === null ? 'running' : 'done') : call.ok ? 'ok' : 'failed'})`;
}

/** The plan's one-line summary: `done/total` and the step in progress (or the next pending one). */
export function planLine(steps: readonly RunPlanStep[]): string {
  const current = steps.find((s) => s.status === 'in_progress') ?? steps.find((s) => s.status === 'pending');
  const done = steps.filter((s) => s.status === 'completed').length;
  return `plan ${done}/${steps.length}${current ? `: ${current.text.slice(0, 100)}` : ''}`;
}

type SteeredEvent = Extract<TinyEvent, { type: 'run.steered' }>;

// The contract's STEER_COMMANDS, spelled here: importing it would bring zod into a browser bundle.
const STEER_COMMANDS: ReadonlySet<string> = new Set<RunSteerEntry['command']>(['inject', 'redirect', 'pause', 'resume', 'cancel']);

/** The steering entry of an accepted command (who sent it: `operator` on events from before `by` existed). */
export function steerEntry(event: SteeredEvent): RunSteerEntry | undefined {
  const { command, accepted, by, text, effect } = event.data;
  if (!accepted || !STEER_COMMANDS.has(command)) return undefined;
  return { id: event.id, ts: event.ts, command: command as RunSteerEntry['command'], by: by ?? 'operator', ...(text ? { text } : {}), ...(effect ? { effect } : {}) };
}

/** `list` with the entries it lacks (by event id), in id order; the same array when none is new. */
function withSteering(list: readonly RunSteerEntry[], more: readonly RunSteerEntry[]): readonly RunSteerEntry[] {
  const fresh = more.filter((e) => !list.some((known) => known.id === e.id));
  return fresh.length === 0 ? list : [...list, ...fresh].sort((a, b) => a.id - b.id);
}

/** Applies events of the conversation (any order, duplicates allowed); the same tree when nothing changed. */
export function applyRunEvents(tree: RunTree, events: readonly TinyEvent[], options: RunTreeOptions = {}): RunTree {
  const draft = new Draft(tree, options);
  for (const event of events) applyOne(draft, event);
  return draft.result();
}

export function applyRunEvent(tree: RunTree, event: TinyEvent, options: RunTreeOptions = {}): RunTree {
  return applyRunEvents(tree, [event], options);
}
