'use client';
/**
 * One conversation: the live run tree (parent/child runs, depth, status, duration, tokens and
 * cost per node, handoff and sub-agent edges, failures with reasons), the transcript, and
 * cancel / pause / resume / inject / redirect for running runs. Loaded once; the tab's event
 * stream keeps the tree current. The transcript reloads when a run of this conversation ends
 * (its text comes from the runs' stored input and output). The conversation record reloads after
 * the events that may change whether it waits for the person's decision (lib/decision.ts), which
 * a banner then asks for. Each run shows its live activity (from its progress events): the tool
 * call running now in its row, and under it a disclosure with its plan and its tool calls, each
 * running, done or failed with the start of its output.
 */
import Link from 'next/link';
import { useSearchParams } from 'next/navigation';
import { Suspense, memo, useCallback, useEffect, useRef, useState } from 'react';
import {
  applyRunEvents,
  conversationStatus,
  currentToolCall,
  planLine,
  conversationTarget,
  emptyRunTree,
  isApiError,
  mergeRunRecords,
  runTreeTotals,
  type ConversationView,
  type RunTree,
  type RunToolCall,
  type RunTreeNode,
  type RunSteering,
  type SteerCapability,
  type TranscriptEntry,
} from '@tinyagi/client';
import { api, messageOf } from '@/lib/api';
import { foldGuardNote, mayChangeDecision, noteFromOutbox } from '@/lib/decision';
import { withApprovals } from '@/lib/approvals';
import { getState, setState, useStore } from '@/lib/store';
import { onTreeKey } from '@/lib/tree-keys';
import { useNow } from '@/lib/use-now';
import { useLiveEvents } from '@/lib/use-events';
import { usePageTitle } from '@/components/shell';
import { Avatar, Button, ErrorLine, Panel, StatusPill, duration, money, plural } from '@/components/ui';
import { ApprovalCard } from '@/components/approval-card';
import { DecisionBanner } from './decision-banner';

export default function ConversationPage() {
  return (
    <Suspense fallback={<p>Loading…</p>}>
      <ConversationFromQuery />
    </Suspense>
  );
}

function ConversationFromQuery() {
  const id = useSearchParams().get('id');
  if (!id) {
    return (
      <p>
        No conversation selected.{' '}
        <Link className="underline" href="/conversations">
          Pick one from the list.
        </Link>
      </p>
    );
  }
  return <Conversation key={id} id={id} />;
}

const RUN_END = new Set(['run.completed', 'run.failed', 'run.cancelled', 'run.rejected']);

function Conversation({ id }: { id: string }) {
  const [conversation, setConversation] = useState<ConversationView | null>(null);
  // The tree is immutable (@tinyagi/client's run-tree): an event that changes a run gives a new
  // tree in which that run and its ancestors are new objects, so memoised rows re-render only
  // along that path. `version` tells React the ref moved on.
  // Seeded with the events this tab saw before the page opened (its feed): a run's live activity
  // (tool calls, plan) comes only with events, so a page opened from Chat or the office shows it.
  const [seed] = useState(() =>
    applyRunEvents(
      emptyRunTree(),
      getState().feed.filter((e) => e.conversationId === id),
    ),
  );
  const tree = useRef<RunTree>(seed);
  const lookup = useCallback((runId: string) => tree.current.nodes.get(runId), []);
  const [version, setVersion] = useState(0);
  const [transcript, setTranscript] = useState<TranscriptEntry[]>([]);
  const [error, setError] = useState<string | null>(null);
  const [notFound, setNotFound] = useState(false);

  // The guard's note comes only with events: those this tab saw before the page opened, then live ones.
  const [guardNote, setGuardNote] = useState(() =>
    foldGuardNote(
      null,
      getState().feed.filter((e) => e.conversationId === id),
    ),
  );
  // What the daemon answered to the person's Continue or Stop.
  const [decisionReply, setDecisionReply] = useState<string | null>(null);
  // The tab says which conversation it is ("Fix the login bug · Conversations · TinyOffice").
  usePageTitle(conversation ? conversation.title.trim() || `Conversation with ${conversationTarget(conversation)}` : null);

  const loadTranscript = useCallback(() => {
    api()
      .getTranscript({ params: { id } })
      .then((t) => setTranscript(t.entries))
      .catch(() => {});
  }, [id]);

  // One request at a time; events during one ask for one more after it.
  const loading = useRef<'idle' | 'busy' | 'again'>('idle');
  const loadConversation = useCallback(
    function load(): void {
      if (loading.current !== 'idle') {
        loading.current = 'again';
        return;
      }
      loading.current = 'busy';
      api()
        .getConversation({ params: { id } })
        .then((t) => {
          setConversation(t.conversation);
          // Merged, not replaced: events that arrived before the snapshot are kept, and the snapshot
          // never moves a run back.
          const next = mergeRunRecords(tree.current, t.roots);
          if (next !== tree.current) {
            tree.current = next;
            setVersion((v) => v + 1);
          }
        })
        .catch((err: unknown) => (isApiError(err, 'CONVERSATION_NOT_FOUND') ? setNotFound(true) : setError(messageOf(err))))
        .finally(() => {
          const again = loading.current === 'again';
          loading.current = 'idle';
          if (again) load();
        });
    },
    [id],
  );

  useEffect(() => {
    loadConversation();
    loadTranscript();
    // Its approval requests, answered ones too: each run shows what it asked and how it was answered.
    api()
      .listApprovals({ query: { conversationId: id, limit: 1000 } })
      .then((list) => setState((s) => ({ approvals: withApprovals(s.approvals, list) })))
      .catch(() => {});
  }, [id, loadConversation, loadTranscript]);

  useLiveEvents((events) => {
    const mine = events.filter((e) => e.conversationId === id);
    let ended = false;
    for (const e of mine) {
      // A run's end, or a steering command it took (the transcript lists who sent what).
      if (RUN_END.has(e.type) || (e.type === 'run.steered' && e.data.accepted)) ended = true;
      if (e.type === 'conversation.completed') setConversation((c) => (c ? { ...c, status: e.data.status, stopReason: e.data.reason ?? null, costUsd: e.data.costUsd, hops: e.data.hops } : c));
    }
    const next = applyRunEvents(tree.current, mine);
    if (next !== tree.current) {
      tree.current = next;
      setVersion((v) => v + 1);
    }
    if (ended) loadTranscript();
    if (mine.some(mayChangeDecision)) {
      setGuardNote((note) => foldGuardNote(note, mine));
      loadConversation();
    }
  });

  // Opened after the guard fired: its note is in what the daemon told the person.
  const waiting = conversation?.awaitingDecision === true;
  useEffect(() => {
    if (!waiting || guardNote !== null) return;
    api()
      .listOutbox({ query: { conversationId: id, limit: 500 } })
      .then((entries) => setGuardNote((note) => note ?? noteFromOutbox(entries)))
      .catch(() => {});
  }, [id, waiting, guardNote]);

  const onAnswered = useCallback(
    (reply: string | null) => {
      setConversation((c) => (c ? { ...c, awaitingDecision: false } : c));
      setDecisionReply(reply);
      loadConversation();
    },
    [loadConversation],
  );

  if (notFound) return <p>This conversation does not exist (it may have been purged by retention).</p>;
  const totals = runTreeTotals(tree.current);
  const active = conversation?.status === 'active';
  return (
    <div className="space-y-4">
      {/* Announced when it appears while the page is open; takes no room while empty. */}
      <div aria-live="polite" className="empty:hidden">
        {conversation?.awaitingDecision && <DecisionBanner conversation={conversation} note={guardNote} onAnswered={onAnswered} />}
      </div>
      <Panel title="Conversation" actions={active ? <CancelConversation id={id} onError={setError} /> : null}>
        <ErrorLine error={error} />
        {conversation ? <ConversationSummary conversation={conversation} totals={totals} decisionReply={decisionReply} /> : <p>Loading…</p>}
      </Panel>
      <Panel title="Run tree">
        {tree.current.roots.length === 0 ? (
          <p className="text-sm text-slate-600 dark:text-slate-300">No runs yet.</p>
        ) : (
          <div role="tree" aria-label="Runs" data-testid="run-tree" data-version={version} className="text-sm" onKeyDown={onTreeKey}>
            {tree.current.roots.map((runId, i) => (
              <RunRow key={runId} node={lookup(runId)} lookup={lookup} large={totals.runs > 200} level={0} first={i === 0} onError={setError} />
            ))}
          </div>
        )}
      </Panel>
      <TranscriptPanel transcript={transcript} />
    </div>
  );
}

/** Cancels the whole conversation, after asking: every run still open in it stops. */
function CancelConversation({ id, onError }: { id: string; onError: (error: string) => void }) {
  return (
    <Button
      tone="danger"
      onClick={() => {
        if (!window.confirm('Cancel this conversation? Every run still open in it stops, and its work so far is not answered.')) return;
        api()
          .cancelConversation({ params: { id } })
          .catch((err: unknown) => onError(messageOf(err)));
      }}
    >
      Cancel conversation
    </Button>
  );
}

/** The conversation's title, status, target, sender and totals; why it ended, and the daemon's answer to the person's decision. */
function ConversationSummary({ conversation, totals, decisionReply }: { conversation: ConversationView; totals: ReturnType<typeof runTreeTotals>; decisionReply: string | null }) {
  return (
    <div className="space-y-1">
      <h1 className="text-lg font-semibold">{conversation.title || '(untitled)'}</h1>
      <p className="flex flex-wrap items-center gap-2 text-sm text-slate-600 dark:text-slate-300">
        <span data-testid="conversation-status">
          <StatusPill status={conversationStatus(conversation)} />
        </span>
        <span>
          {conversation.addressed === 'team' ? 'team' : 'agent'} {conversationTarget(conversation)}
        </span>
        <span>
          from {conversation.sender} via {conversation.channel}
        </span>
        <span>
          {plural(totals.runs, 'run')} · depth {totals.maxDepth} · {totals.tokens} tokens · {money(totals.costUsd)}
        </span>
      </p>
      {conversation.stopReason && <p className="text-sm text-amber-800 dark:text-amber-300">Ended: {conversation.stopReason}</p>}
      {decisionReply && (
        <p role="status" data-testid="decision-reply" className="text-sm text-slate-700 dark:text-slate-200">
          {decisionReply}
        </p>
      )}
    </div>
  );
}

/** What was said, in order, indented by depth: who asked or answered whom, and steering commands. */
function TranscriptPanel({ transcript }: { transcript: TranscriptEntry[] }) {
  return (
    <Panel title="Transcript">
      {transcript.length === 0 ? (
        <p className="text-sm text-slate-600 dark:text-slate-300">Nothing said yet.</p>
      ) : (
        <ol className="space-y-2" data-testid="transcript">
          {transcript.map((t, i) => (
            <li key={i} className="rounded border border-slate-200 p-2 text-sm dark:border-slate-800" style={{ marginLeft: `${Math.min(t.depth, 6) * 1}rem` }}>
              <div className="mb-1 text-xs text-slate-600 dark:text-slate-400">
                {t.from} → {t.to} · {t.steering ? `steering (${t.steering.command})` : t.direction === 'in' ? 'asked' : 'answered'} · {new Date(t.ts).toLocaleTimeString()}
              </div>
              <p className="whitespace-pre-wrap break-words">{t.text}</p>
            </li>
          ))}
        </ol>
      )}
    </Panel>
  );
}

const EDGE: Record<string, string> = { mention: 'handoff', spawn: 'sub-agent', chatroom: 'chat room', user: 'message', heartbeat: 'heartbeat', schedule: 'schedule', system: 'system' };

/** Why a run ended when it did not complete: its error, else the guard rule or the cancel reason the event gave. */
function endNote(node: RunTreeNode): string | null {
  if (node.error) return node.error;
  if (!node.reason) return null;
  return node.status === 'rejected' ? `refused by ${node.reason}` : node.status === 'cancelled' ? `cancelled: ${node.reason}` : null;
}

/** One node and its children; memoised on the node object, which is new only when it or a run under it changed. */
const RunRow = memo(function RunRow({
  node,
  lookup,
  large,
  level,
  first = false,
  onError,
}: {
  node: RunTreeNode | undefined;
  lookup: (runId: string) => RunTreeNode | undefined;
  large: boolean;
  level: number;
  first?: boolean;
  onError: (e: string) => void;
}) {
  // A large tree opens two levels deep; the rest expands on demand.
  const [open, setOpen] = useState(() => level < 2 || !large);
  if (!node) return null;
  const hasChildren = node.children.length > 0;
  return (
    // The first root is the tree's tab stop; arrow keys reach the other items (onTreeKey).
    <div
      role="treeitem"
      tabIndex={first ? 0 : -1}
      aria-level={level + 1}
      aria-expanded={hasChildren ? open : undefined}
      aria-selected={false}
      data-run={node.runId}
      data-agent={node.agentId}
      data-status={node.status}
      className="my-1"
    >
      <div className="flex flex-wrap items-center gap-2 rounded px-1 py-1 hover:bg-slate-50 dark:hover:bg-slate-800/50" style={{ paddingLeft: `${Math.min(level, 12) * 1.25}rem` }}>
        {hasChildren ? (
          <button type="button" data-toggle aria-label={open ? `Collapse ${node.agentId}` : `Expand ${node.agentId}`} className="w-5 text-slate-600 dark:text-slate-300" onClick={() => setOpen(!open)}>
            {open ? '▾' : '▸'}
          </button>
        ) : (
          <span className="w-5" />
        )}
        <Avatar id={node.agentId} size="sm" />
        <span className="font-medium">{node.agentId}</span>
        {node.parentRunId && <span className="rounded bg-violet-100 px-1 text-xs text-violet-900 dark:bg-violet-900 dark:text-violet-100">{EDGE[node.cause] ?? node.cause}</span>}
        <StatusPill status={node.status} />
        {node.status === 'running' && <WaitsForAnswer runId={node.runId} />}
        <span className="text-xs text-slate-600 dark:text-slate-400">
          depth {node.depth} · <Elapsed node={node} /> · {node.inputTokens + node.outputTokens} tok · {money(node.costUsd)}
        </span>
        {node.memory && (
          <span className="text-xs text-slate-600 dark:text-slate-400" data-testid="run-memory" title="What went into its context from memory before its turn (docs/memory.md)">
            memory: {plural(node.memory.entryIds.length, 'entry', 'entries')} · {node.memory.tokens}/{node.memory.budget} tok
          </span>
        )}
        {node.node && (
          <span className="text-xs text-slate-600 dark:text-slate-400" data-testid="run-node" title="The node that ran it">
            on {node.node}
          </span>
        )}
        {node.paused && node.status === 'running' && <span className="text-xs font-medium text-amber-800 dark:text-amber-300">paused</span>}
        {node.progress && node.status === 'running' && <span className="truncate text-xs italic text-slate-600 dark:text-slate-300">“{node.progress}”</span>}
        <CurrentTool node={node} />
        {node.status === 'running' || node.status === 'queued' ? (
          // Keyed by status too: a run that starts reads again what steering does (a queued run's notes are about its start).
          <RunActions key={node.status} runId={node.runId} agentId={node.agentId} pausable={node.status === 'running'} paused={node.paused} onError={onError} />
        ) : null}
      </div>
      {node.steering.length > 0 && (
        <ul
          className="text-xs text-slate-700 dark:text-slate-300"
          data-testid="steering"
          aria-label={`Steering of ${node.agentId}'s run`}
          style={{ paddingLeft: `${Math.min(level, 12) * 1.25 + 2}rem` }}
        >
          {node.steering.map((s) => (
            <li key={s.id}>
              <span className="font-medium">{s.by}</span> · {s.command}
              {s.text ? `: “${s.text}”` : ''} · {new Date(s.ts).toLocaleTimeString()}
            </li>
          ))}
        </ul>
      )}
      <RunApprovals runId={node.runId} level={level} />
      {(node.activity.tools.length > 0 || node.activity.plan) && <RunActivityView node={node} level={level} />}
      {endNote(node) && (
        <p className="text-xs text-red-800 dark:text-red-300" style={{ paddingLeft: `${Math.min(level, 12) * 1.25 + 2}rem` }}>
          {endNote(node)}
        </p>
      )}
      {hasChildren && open && (
        // biome-ignore lint/a11y/useSemanticElements: a tree item's children are a role="group" in the WAI-ARIA tree pattern; a <fieldset> would announce a form grouping
        <div role="group">
          {node.children.map((child) => (
            <RunRow key={child} node={lookup(child)} lookup={lookup} large={large} level={level + 1} onError={onError} />
          ))}
        </div>
      )}
    </div>
  );
});

/** Said in the run's row while a request of it waits for the person (its card is under the row). */
function WaitsForAnswer({ runId }: { runId: string }) {
  const waits = useStore((s) => Object.values(s.approvals).some((a) => a.runId === runId && a.status === 'pending'));
  if (!waits) return null;
  return (
    <span data-testid="run-waits" className="rounded-full bg-violet-100 px-2 py-0.5 text-xs font-medium text-violet-900 dark:bg-violet-900 dark:text-violet-100">
      waiting for your answer
    </span>
  );
}

/** What the run asked the person (approval requests, lib/approvals.ts): waiting ones with their answers, answered ones saying how. */
function RunApprovals({ runId, level }: { runId: string; level: number }) {
  const all = useStore((s) => s.approvals);
  const mine = Object.values(all)
    .filter((a) => a.runId === runId)
    .sort((a, b) => a.requestedAt - b.requestedAt);
  if (mine.length === 0) return null;
  return (
    <ol className="my-1 space-y-1" aria-label="Approval requests of this run" data-testid="run-approvals" style={{ paddingLeft: `${Math.min(level, 12) * 1.25 + 2}rem` }}>
      {mine.map((a) => (
        <li key={a.id}>
          <ApprovalCard approval={a} compact />
        </li>
      ))}
    </ol>
  );
}

/** The tool call the run is in now, in its row. */
function CurrentTool({ node }: { node: RunTreeNode }) {
  const call = currentToolCall(node);
  if (!call) return null;
  return (
    <span data-testid="current-tool" className="truncate rounded bg-sky-100 px-1 font-mono text-xs text-sky-900 dark:bg-sky-900 dark:text-sky-100">
      <span aria-hidden="true">⟳ </span>
      <span className="sr-only">running tool </span>
      {call.name}
      {call.title ? `: ${call.title}` : ''}
    </span>
  );
}

const CALLS_SHOWN = 50;

function callState(call: RunToolCall): { mark: string; word: string; tone: string } {
  if (call.endedAt === null) return { mark: '⟳', word: 'running', tone: 'text-sky-800 dark:text-sky-300' };
  return call.ok === false ? { mark: '✗', word: 'failed', tone: 'text-red-800 dark:text-red-300' } : { mark: '✓', word: 'done', tone: 'text-green-800 dark:text-green-300' };
}

/**
 * A run's plan and tool calls (the latest CALLS_SHOWN), in a disclosure: open while the run is
 * live, closed once it ended; Enter or Space on its summary toggles it.
 */
function RunActivityView({ node, level }: { node: RunTreeNode; level: number }) {
  const live = node.status === 'running' || node.status === 'queued';
  const [open, setOpen] = useState(live);
  const { tools, plan, usage, droppedTools } = node.activity;
  const total = tools.length + droppedTools;
  const shown = tools.slice(-CALLS_SHOWN);
  return (
    <details
      open={open}
      onToggle={(e) => setOpen(e.currentTarget.open)}
      data-testid="run-activity"
      className="text-xs text-slate-700 dark:text-slate-300"
      style={{ paddingLeft: `${Math.min(level, 12) * 1.25 + 2}rem` }}
    >
      <summary className="cursor-pointer select-none rounded px-1 hover:bg-slate-50 focus-visible:outline focus-visible:outline-2 focus-visible:outline-sky-600 dark:hover:bg-slate-800/50">
        Activity of {node.agentId}: {plural(total, 'tool call')}
        {plan ? ` · ${planLine(plan)}` : ''}
        {usage.calls > 0 ? ` · ${plural(usage.calls, 'model call')}${usage.cacheReadTokens > 0 ? `, ${usage.cacheReadTokens} tokens from cache` : ''}` : ''}
      </summary>
      {plan && (
        <ol className="my-1 space-y-0.5" aria-label={`Plan of ${node.agentId}'s run`} data-testid="run-plan">
          {plan.map((step, i) => (
            <li key={i} data-status={step.status} className={step.status === 'completed' ? 'text-slate-500 line-through dark:text-slate-400' : step.status === 'in_progress' ? 'font-medium' : ''}>
              <span aria-hidden="true">{step.status === 'completed' ? '✓' : step.status === 'in_progress' ? '▸' : '·'} </span>
              {step.text}
              <span className="sr-only"> ({step.status.replace('_', ' ')})</span>
            </li>
          ))}
        </ol>
      )}
      {shown.length > 0 && (
        <ol className="my-1 space-y-0.5 font-mono" aria-label={`Tool calls of ${node.agentId}'s run`} data-testid="run-tools">
          {total > shown.length && <li className="text-slate-500 dark:text-slate-400">… {total - shown.length} earlier</li>}
          {shown.map((call) => {
            const state = callState(call);
            return (
              <li key={`${call.id}-${call.startedAt}`} data-state={state.word}>
                <span aria-hidden="true" className={state.tone}>
                  {state.mark}{' '}
                </span>
                <span className="sr-only">{state.word}: </span>
                <span className="font-medium">{call.name}</span>
                {call.title ? ` ${call.title}` : ''}
                {call.endedAt !== null && <span className="text-slate-500 dark:text-slate-400"> · {duration(call.endedAt - call.startedAt)}</span>}
                {call.ok === false && call.output ? <span className="block whitespace-pre-wrap break-words pl-4 text-red-800 dark:text-red-300">{call.output.slice(0, 300)}</span> : null}
              </li>
            );
          })}
        </ol>
      )}
    </details>
  );
}

/** How long the run took, or has been running: ticks every second while it runs. */
function Elapsed({ node }: { node: RunTreeNode }) {
  const now = useNow(node.startedAt !== null && node.endedAt === null);
  if (node.startedAt === null) return <>not started</>;
  return <>{duration((node.endedAt ?? now) - node.startedAt)}</>;
}

/**
 * Cancel and steer a live run; Pause or Resume, whichever applies, once it is running. What each
 * command does for the run's provider comes from GET /api/runs/:id/steering before it is used: a
 * command the agent's settings refuse is disabled, and where one cannot act inside the turn (a
 * CLI agent) the row says so under the buttons.
 */
function RunActions({ runId, agentId, pausable, paused, onError }: { runId: string; agentId: string; pausable: boolean; paused: boolean; onError: (e: string) => void }) {
  const [steer, setSteer] = useState<'inject' | 'redirect' | null>(null);
  const [text, setText] = useState('');
  const [note, setNote] = useState<string | null>(null);
  const [can, setCan] = useState<RunSteering | null>(null);
  useEffect(() => {
    api()
      .getRunSteering({ params: { id: runId } })
      .then(setCan)
      .catch(() => setCan(null));
  }, [runId]);
  const capability = (command: SteerCapability['command']) => can?.commands.find((c) => c.command === command);
  const allowed = (command: SteerCapability['command']) => capability(command)?.allowed !== false;
  const turnOnly = can ? (['pause', 'inject', 'redirect'] as const).filter((c) => capability(c)?.allowed && !capability(c)?.midTurn) : [];
  const send = (command: 'pause' | 'resume' | 'inject' | 'redirect', payload?: string) =>
    api()
      .steerRun({ params: { id: runId }, body: { command, ...(payload ? { payload } : {}) } })
      .then((r) => setNote(r.accepted ? `${command}: accepted${r.effect ? ` · ${r.effect}` : ''}` : `${command}: ${r.reason ?? 'refused'}`))
      .catch((err: unknown) => onError(messageOf(err)));
  return (
    <span className="flex flex-wrap items-center gap-1">
      <Button
        tone="danger"
        aria-label={`Cancel ${agentId}'s run`}
        onClick={() =>
          api()
            .cancelRun({ params: { id: runId } })
            .catch((err: unknown) => onError(messageOf(err)))
        }
      >
        Cancel
      </Button>
      {pausable &&
        (paused ? (
          <Button disabled={!allowed('resume')} title={capability('resume')?.note} onClick={() => void send('resume')}>
            Resume
          </Button>
        ) : (
          <Button disabled={!allowed('pause')} title={capability('pause')?.note} onClick={() => void send('pause')}>
            Pause
          </Button>
        ))}
      <Button disabled={!allowed('inject')} title={capability('inject')?.note} onClick={() => setSteer(steer === 'inject' ? null : 'inject')}>
        Inject
      </Button>
      <Button disabled={!allowed('redirect')} title={capability('redirect')?.note} onClick={() => setSteer(steer === 'redirect' ? null : 'redirect')}>
        Redirect
      </Button>
      {turnOnly.length > 0 && (
        <span className="basis-full text-xs text-amber-800 dark:text-amber-300" data-testid="steering-limits">
          {can?.runtime} agent: {turnOnly.join(', ')} take effect when its current turn ends, not inside it
          {turnOnly.includes('pause') ? '; paused, its answer is held until you resume' : ''}.
        </span>
      )}
      {steer && (
        <form
          className="flex gap-1"
          onSubmit={(e) => {
            e.preventDefault();
            if (text.trim() === '') return;
            void send(steer, text.trim()).then(() => {
              setText('');
              setSteer(null);
            });
          }}
        >
          <label className="sr-only" htmlFor={`steer-${runId}`}>
            {steer} text
          </label>
          <input
            id={`steer-${runId}`}
            // biome-ignore lint/a11y/noAutofocus: the field appears only when the user has just pressed Inject or Redirect to type into it
            autoFocus
            className="rounded border border-slate-300 bg-white px-2 py-1 text-sm dark:border-slate-600 dark:bg-slate-900"
            placeholder={steer === 'inject' ? 'Add to what it is doing' : 'New instruction'}
            value={text}
            onChange={(e) => setText(e.target.value)}
          />
          <Button type="submit" tone="primary">
            Send
          </Button>
        </form>
      )}
      {note && (
        <span className="text-xs text-slate-600 dark:text-slate-300" role="status">
          {note}
        </span>
      )}
    </span>
  );
}
