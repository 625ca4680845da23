/**
 * A conversation's run tree as the detail page keeps it: loaded once (GET /api/conversations/:id),
 * then changed in place by the conversation's events (a new run, a status, totals at the end).
 * Nodes live in a Map keyed by run id; `version` tells React that something changed, so a
 * 1,365-run tree is not copied on every event.
 */
import type { RunNode, TinyEvent } from '@tinyagi/client';

export interface TreeNode {
  runId: string;
  agentId: string;
  parentRunId: string | null;
  depth: number;
  cause: string;
  status: RunNode['status'];
  inputTokens: number;
  outputTokens: number;
  costUsd: number;
  error: string | null;
  startedAt: number | null;
  endedAt: number | null;
  children: string[];
  /** The latest progress line while it runs. */
  progress: string | null;
  /** Bumped when this node or anything under it changes: a row re-renders only along that path. */
  rev: number;
}

export interface RunTree {
  nodes: Map<string, TreeNode>;
  roots: string[];
}

export function treeFromRoots(roots: RunNode[]): RunTree {
  const nodes = new Map<string, TreeNode>();
  const visit = (n: RunNode): string => {
    const { children, ...rest } = n;
    nodes.set(n.runId, { ...rest, children: [], progress: null, rev: 0 });
    nodes.get(n.runId)!.children = children.map(visit);
    return n.runId;
  };
  return { nodes, roots: roots.map(visit) };
}

const ENDED: Record<string, TreeNode['status']> = {
  'run.completed': 'completed',
  'run.failed': 'failed',
  'run.cancelled': 'cancelled',
  'run.rejected': 'rejected',
};

function ensure(tree: RunTree, event: TinyEvent): TreeNode | undefined {
  if (!event.runId) return undefined;
  let node = tree.nodes.get(event.runId);
  if (!node) {
    const cause = 'cause' in event.data && typeof event.data.cause === 'string' ? event.data.cause : 'user';
    node = {
      runId: event.runId,
      agentId: event.agentId ?? '?',
      parentRunId: event.parentRunId,
      depth: event.depth ?? 0,
      cause,
      status: 'queued',
      inputTokens: 0,
      outputTokens: 0,
      costUsd: 0,
      error: null,
      startedAt: null,
      endedAt: null,
      children: [],
      progress: null,
      rev: 0,
    };
    tree.nodes.set(node.runId, node);
    const parent = event.parentRunId ? tree.nodes.get(event.parentRunId) : undefined;
    if (parent) parent.children.push(node.runId);
    else tree.roots.push(node.runId);
  }
  return node;
}

/** Applies one event of the conversation; true when the tree changed. */
export function applyRunEvent(tree: RunTree, event: TinyEvent): boolean {
  const changed = applyToNode(tree, event);
  if (changed && event.runId) {
    // The path up to the root re-renders; the rest of a large tree keeps its memoised rows.
    for (let node = tree.nodes.get(event.runId); node; node = node.parentRunId ? tree.nodes.get(node.parentRunId) : undefined) node.rev += 1;
  }
  return changed;
}

function applyToNode(tree: RunTree, event: TinyEvent): boolean {
  switch (event.type) {
    case 'run.queued': {
      ensure(tree, event);
      return true;
    }
    case 'run.started': {
      const node = ensure(tree, event);
      if (!node) return false;
      node.status = 'running';
      node.startedAt = event.ts;
      return true;
    }
    case 'run.progress': {
      const node = ensure(tree, event);
      if (!node) return false;
      const d = event.data;
      node.progress = d.type === 'text' ? d.text.slice(0, 120) : d.type === 'tool' ? `using ${d.name}` : d.type === 'status' ? d.message : `${d.name ?? 'tool'} ${d.ok ? 'done' : 'failed'}`;
      return true;
    }
    case 'run.completed':
    case 'run.failed':
    case 'run.cancelled':
    case 'run.rejected': {
      const node = ensure(tree, event);
      if (!node) return false;
      const d = event.data;
      node.status = ENDED[event.type]!;
      node.endedAt = event.ts;
      node.inputTokens = d.inputTokens ?? node.inputTokens;
      node.outputTokens = d.outputTokens ?? node.outputTokens;
      node.costUsd = d.costUsd ?? node.costUsd;
      const reason = 'reason' in d && d.reason ? `${d.reason}` : null;
      node.error = d.error ?? (d.rule ? `refused by ${d.rule}` : null) ?? (reason ? `cancelled: ${reason}` : null);
      node.progress = null;
      return true;
    }
    default:
      return false;
  }
}

/** Totals over the tree (for the header). */
export function treeTotals(tree: RunTree): { runs: number; running: number; failed: number; maxDepth: number; tokens: number; costUsd: number } {
  let running = 0;
  let failed = 0;
  let maxDepth = 0;
  let tokens = 0;
  let costUsd = 0;
  for (const n of tree.nodes.values()) {
    if (n.status === 'running' || n.status === 'queued') running += 1;
    if (n.status === 'failed' || n.status === 'rejected') failed += 1;
    maxDepth = Math.max(maxDepth, n.depth);
    tokens += n.inputTokens + n.outputTokens;
    costUsd += n.costUsd;
  }
  return { runs: tree.nodes.size, running, failed, maxDepth, tokens, costUsd };
}
