/**
 * The run tree of a conversation, built either from the `runs` table or from events alone
 * (every run event carries run id, parent run id, depth and agent). Both give the same shape,
 * which is how the tests prove the event stream is complete enough for a UI to rebuild the tree.
 */
import type { ConversationRecord, EventOf, RunCause, RunRecord, RunStatus, TinyEvent } from '@tinyagi/core';

export interface RunNode {
  runId: string;
  agentId: string;
  parentRunId: string | null;
  depth: number;
  cause: RunCause;
  status: RunStatus;
  inputTokens: number;
  outputTokens: number;
  costUsd: number;
  error: string | null;
  startedAt: number | null;
  endedAt: number | null;
  children: RunNode[];
}

export interface ConversationTree {
  conversation: ConversationRecord;
  roots: RunNode[];
}

/** Nests nodes by parent; a node whose parent is not in the list is a root. Order is kept. */
export function nestRuns(nodes: RunNode[]): RunNode[] {
  const byId = new Map(nodes.map((n) => [n.runId, n]));
  const roots: RunNode[] = [];
  for (const node of nodes) {
    const parent = node.parentRunId === null ? undefined : byId.get(node.parentRunId);
    if (parent) parent.children.push(node);
    else roots.push(node);
  }
  return roots;
}

export function runNode(run: RunRecord): RunNode {
  return {
    runId: run.id,
    agentId: run.agentId,
    parentRunId: run.parentRunId,
    depth: run.depth,
    cause: run.cause,
    status: run.status,
    inputTokens: run.inputTokens,
    outputTokens: run.outputTokens,
    costUsd: run.costUsd,
    error: run.error,
    startedAt: run.startedAt,
    endedAt: run.endedAt,
    children: [],
  };
}

const STATUS_BY_EVENT = {
  'run.queued': 'queued',
  'run.started': 'running',
  'run.completed': 'completed',
  'run.failed': 'failed',
  'run.cancelled': 'cancelled',
  'run.rejected': 'rejected',
} as const satisfies Partial<Record<TinyEvent['type'], RunStatus>>;

type RunLifecycleEvent = EventOf<keyof typeof STATUS_BY_EVENT>;

function isRunLifecycle(event: TinyEvent): event is RunLifecycleEvent {
  return Object.hasOwn(STATUS_BY_EVENT, event.type);
}

/** Folds run lifecycle events (oldest first) into the tree. */
export function runTreeFromEvents(events: readonly TinyEvent[]): RunNode[] {
  const nodes = new Map<string, RunNode>();
  for (const event of events) {
    if (!isRunLifecycle(event) || event.runId === null) continue;
    const status: RunStatus = STATUS_BY_EVENT[event.type];
    let node = nodes.get(event.runId);
    if (!node) {
      node = {
        runId: event.runId,
        agentId: event.agentId ?? '',
        parentRunId: event.parentRunId,
        depth: event.depth ?? 0,
        cause: event.data.cause as RunCause,
        status,
        inputTokens: 0,
        outputTokens: 0,
        costUsd: 0,
        error: null,
        startedAt: null,
        endedAt: null,
        children: [],
      };
      nodes.set(event.runId, node);
    }
    node.status = status;
    if (status === 'running') node.startedAt ??= event.ts;
    if (event.type !== 'run.queued' && event.type !== 'run.started') {
      node.endedAt = event.ts;
      node.inputTokens = event.data.inputTokens ?? node.inputTokens;
      node.outputTokens = event.data.outputTokens ?? node.outputTokens;
      node.costUsd = event.data.costUsd ?? node.costUsd;
      node.error = event.data.error ?? node.error;
    }
  }
  return nestRuns([...nodes.values()]);
}
