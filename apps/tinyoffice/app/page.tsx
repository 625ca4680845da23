'use client';
/**
 * The office: agents at desks while they work (with a speech bubble of their latest progress),
 * in the lounge when idle; an agent whose run is paused stays at its desk and says so; an
 * agent whose run failed says why (and links the conversation) until the person dismisses it; dashed
 * lines for handoffs in flight; queue and channel status; click an agent for its live activity.
 * A working agent's desk also shows the tool call it is running and its plan (done/total and the
 * step in progress); its detail lists the plan's steps.
 */
import Link from 'next/link';
import { memo, useEffect, useLayoutEffect, useRef, useState } from 'react';
import { HANDOFF_MS, describeProgress, dismissFailure, isPaused, useStore, type Handoff, type OfficeState } from '@/lib/store';
import { planLine } from '@tinyagi/client';
import { useNow } from '@/lib/use-now';
import { failedAt } from '@/lib/agent-state';
import { Avatar, Panel, duration } from '@/components/ui';
import { ChannelError, ChannelState } from '@/components/channel-state';

/**
 * The agents at their desks and how many of them are paused, as one string: the page re-renders
 * when an agent sits down, gets up or pauses, not on every progress line (each tile follows its
 * own agent; with 50 live runs a page-wide render per event batch cost frames of 100 ms, B27).
 */
const desksKey = (s: OfficeState): string => {
  const working = s.agents.filter((a) => s.activity[a.id]?.working).map((a) => a.id);
  return `${working.filter((id) => isPaused(s, id)).length} ${working.join(' ')}`;
};

/** Each agent's pending request's summary (the first listed), computed once per approvals record, not once per tile. */
const waiting = new WeakMap<OfficeState['approvals'], Map<string, string>>();
function waitsForOf(approvals: OfficeState['approvals'], agentId: string): string | null {
  let byAgent = waiting.get(approvals);
  if (!byAgent) {
    byAgent = new Map();
    for (const r of Object.values(approvals)) if (r.status === 'pending' && !byAgent.has(r.agentId)) byAgent.set(r.agentId, r.summary);
    waiting.set(approvals, byAgent);
  }
  return byAgent.get(agentId) ?? null;
}

export default function OfficePage() {
  const agents = useStore((s) => s.agents);
  const [pausedCount, ...working] = useStore(desksKey).split(' ');
  const [selected, setSelected] = useState<string | null>(null);
  const atWork = new Set(working);
  const atDesks = agents.filter((a) => atWork.has(a.id));
  const idle = agents.filter((a) => !atWork.has(a.id));
  const paused = Number(pausedCount);
  const failures = useStore((s) => s.failures);
  const failed = idle.filter((a) => failures[a.id]).length;
  const sceneRef = useRef<HTMLDivElement>(null);

  return (
    <div className="grid gap-4 lg:grid-cols-[1fr_20rem]">
      <h1 className="sr-only">Office</h1>
      <div ref={sceneRef} className="relative space-y-4">
        <Panel title={`Desks · ${atDesks.length - paused} working${paused > 0 ? ` · ${paused} paused` : ''}`}>
          {agents.length === 0 ? (
            <p className="text-sm text-slate-600 dark:text-slate-300">
              No agents yet. Add one with <code className="font-mono">tinyagi agent add</code>.
            </p>
          ) : atDesks.length === 0 ? (
            <p className="text-sm text-slate-600 dark:text-slate-300">Nobody is working. Send a message from Chat to get someone started.</p>
          ) : (
            <ul className="grid gap-3 sm:grid-cols-2 xl:grid-cols-3" data-testid="desks">
              {atDesks.map((a) => (
                <AgentTile key={a.id} id={a.id} name={a.name ?? a.id} onSelect={setSelected} selected={selected === a.id} />
              ))}
            </ul>
          )}
        </Panel>
        <Panel title={`Lounge · ${idle.length - failed} idle${failed > 0 ? ` · ${failed} failed` : ''}`}>
          <ul className="flex flex-wrap gap-3" data-testid="lounge">
            {idle.map((a) => (
              <AgentTile key={a.id} id={a.id} name={a.name ?? a.id} onSelect={setSelected} selected={selected === a.id} />
            ))}
          </ul>
        </Panel>
        <HandoffLines sceneRef={sceneRef} />
      </div>
      <aside className="space-y-4">
        {selected ? <AgentDetail id={selected} onClose={() => setSelected(null)} /> : null}
        <QueuePanel />
        <HandoffList />
        <ChannelsPanel />
      </aside>
    </div>
  );
}

const AgentTile = memo(function AgentTile({ id, name, selected, onSelect }: { id: string; name: string; selected: boolean; onSelect: (id: string) => void }) {
  const a = useStore((s) => s.activity[id]);
  const paused = useStore((s) => isPaused(s, id));
  const failure = useStore((s) => s.failures[id]);
  // What it waits on the person for (an approval request, answered on the Approvals page).
  const waitsFor = useStore((s) => waitsForOf(s.approvals, id));
  const tone = paused ? 'bg-amber-50 dark:bg-amber-950' : a?.working ? 'bg-sky-50 dark:bg-sky-950' : failure ? 'bg-red-50 dark:bg-red-950' : 'bg-slate-50 dark:bg-slate-800/50';
  const border = selected ? 'border-sky-500 ring-2 ring-sky-500/40' : failure ? 'border-red-400 dark:border-red-700' : 'border-slate-200 dark:border-slate-700';
  return (
    <li className="min-w-40">
      <button
        type="button"
        data-agent={id}
        data-working={a?.working ? 'true' : 'false'}
        data-paused={paused ? 'true' : 'false'}
        data-failed={failure ? 'true' : 'false'}
        aria-pressed={selected}
        onClick={() => onSelect(id)}
        className={`flex w-full items-start gap-3 rounded-lg border p-3 text-left transition-shadow ${failure ? 'rounded-b-none' : ''} ${border} ${tone}`}
      >
        <Avatar id={id} />
        <span className="min-w-0 flex-1">
          <span className="block font-medium">{name}</span>
          {paused ? (
            // The last progress line is kept: it is the bubble again once the run is resumed.
            <span data-testid="bubble" className="mt-1 block rounded-lg rounded-tl-none bg-white px-2 py-1 text-xs text-amber-900 shadow-sm dark:bg-slate-900 dark:text-amber-200">
              <span className="font-medium">Paused</span> · resume it from the run tree
            </span>
          ) : waitsFor !== null ? (
            <span data-testid="bubble" className="mt-1 block rounded-lg rounded-tl-none bg-white px-2 py-1 text-xs font-medium text-violet-900 shadow-sm dark:bg-slate-900 dark:text-violet-200">
              Waits for your answer
            </span>
          ) : a?.working ? (
            // Two lines, always: a desk keeps its height as its lines come and go, and 50 desks do not jump at every event.
            <span data-testid="bubble" className="mt-1 line-clamp-2 min-h-10 rounded-lg rounded-tl-none bg-white px-2 py-1 text-xs text-slate-700 shadow-sm dark:bg-slate-900 dark:text-slate-200">
              {a.bubble ?? 'working…'}
              {a.turn > 0 && <span className="ml-1 text-slate-500 dark:text-slate-400">· turn {a.turn}</span>}
            </span>
          ) : null}
          {!paused && a?.working && a.tool ? (
            <span data-testid="desk-tool" className="mt-1 block truncate font-mono text-xs text-sky-900 dark:text-sky-200">
              <span aria-hidden="true">⟳ </span>
              <span className="sr-only">Running tool </span>
              {a.tool.name}
              {a.tool.title ? `: ${a.tool.title}` : ''}
            </span>
          ) : !paused && waitsFor === null && a?.working ? (
            // The tool line's place, kept between two calls.
            <span aria-hidden="true" className="mt-1 block font-mono text-xs">
              {'\u00a0'}
            </span>
          ) : null}
          {waitsFor !== null && (
            <span data-testid="desk-waits" className="mt-1 block line-clamp-2 break-all font-mono text-xs text-violet-900 dark:text-violet-200">
              {waitsFor}
            </span>
          )}
          {a?.working && a.plan && a.plan.length > 0 ? (
            <span data-testid="desk-plan" className="mt-1 block truncate text-xs text-amber-900 dark:text-amber-200">
              {planLine(a.plan)}
            </span>
          ) : null}
          {paused || a?.working ? null : <span className="block text-xs text-slate-600 dark:text-slate-400">{failure ? 'failed' : 'idle'}</span>}
        </span>
      </button>
      {failure && (
        <div
          role="alert"
          data-testid="failure"
          className="rounded-b-lg border border-t-0 border-red-400 bg-red-50 px-3 py-2 text-xs text-red-900 dark:border-red-700 dark:bg-red-950 dark:text-red-100"
        >
          <p className="whitespace-pre-wrap break-words">
            <span className="font-medium">Last run failed</span> at {new Date(failure.at).toLocaleTimeString()}: {failure.error}
          </p>
          <span className="mt-1 flex flex-wrap gap-3">
            {failure.conversationId && (
              <Link className="underline" href={`/conversations/view?id=${encodeURIComponent(failure.conversationId)}`}>
                Open the conversation
              </Link>
            )}
            <button type="button" className="underline" aria-label={`Dismiss ${name}'s failure`} onClick={() => dismissFailure(id)}>
              Dismiss
            </button>
          </span>
        </div>
      )}
    </li>
  );
});

/** Draws each live handoff as an animated dashed line between the two agents' tiles. */
function HandoffLines({ sceneRef }: { sceneRef: React.RefObject<HTMLDivElement | null> }) {
  const handoffs = useStore((s) => s.handoffs);
  // The tiles move when an agent sits down or gets up, not with its progress lines.
  const desks = useStore(desksKey);
  const [now, setNow] = useState(() => Date.now());
  const [lines, setLines] = useState<Array<{ id: number; x1: number; y1: number; x2: number; y2: number }>>([]);
  const live = handoffs.filter((h) => now - h.at < HANDOFF_MS);
  useEffect(() => {
    if (live.length === 0) return;
    // Lines expire: one timer for the oldest, not a poll.
    const oldest = Math.min(...live.map((h) => h.at));
    const timer = setTimeout(() => setNow(Date.now()), Math.max(50, oldest + HANDOFF_MS - Date.now()));
    return () => clearTimeout(timer);
  }, [live]);
  useEffect(() => {
    setNow(Date.now());
  }, [handoffs]);
  useLayoutEffect(() => {
    const scene = sceneRef.current;
    // No line to draw: no layout read, and no state set (an empty list again is still a render).
    if (live.length === 0) {
      setLines((drawn) => (drawn.length === 0 ? drawn : []));
      return;
    }
    if (!scene) return;
    const box = scene.getBoundingClientRect();
    const centre = (id: string) => {
      const el = scene.querySelector(`[data-agent="${CSS.escape(id)}"]`);
      if (!el) return undefined;
      const r = el.getBoundingClientRect();
      return { x: r.left - box.left + 20, y: r.top - box.top + r.height / 2 };
    };
    setLines(
      live.flatMap((h) => {
        const a = centre(h.from);
        const b = centre(h.to);
        return a && b ? [{ id: h.id, x1: a.x, y1: a.y, x2: b.x, y2: b.y }] : [];
      }),
    );
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [now, handoffs, desks]);
  if (lines.length === 0) return null;
  return (
    <svg aria-hidden className="pointer-events-none absolute inset-0 h-full w-full overflow-visible">
      {lines.map((l) => (
        <line key={l.id} x1={l.x1} y1={l.y1} x2={l.x2} y2={l.y2} strokeWidth={2} className="handoff-line stroke-violet-500" />
      ))}
    </svg>
  );
}

function HandoffList() {
  const handoffs = useStore((s) => s.handoffs);
  const recent = handoffs.slice(-5).reverse();
  return (
    <Panel title="Handoffs">
      {recent.length === 0 ? (
        <p className="text-sm text-slate-600 dark:text-slate-300">No handoffs yet.</p>
      ) : (
        <ul className="space-y-1 text-sm" data-testid="handoffs">
          {recent.map((h: Handoff) => (
            <li key={h.id} className="flex justify-between gap-2">
              {h.conversationId ? (
                <Link className="underline-offset-2 hover:underline" href={`/conversations/view?id=${encodeURIComponent(h.conversationId)}`}>
                  {h.from} → {h.to}
                </Link>
              ) : (
                `${h.from} → ${h.to}`
              )}
              {/* Earlier handoffs are listed too: when tells one from the next. */}
              <time className="tabular-nums text-slate-600 dark:text-slate-300" dateTime={new Date(h.at).toISOString()}>
                {new Date(h.at).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit' })}
              </time>
            </li>
          ))}
        </ul>
      )}
    </Panel>
  );
}

function QueuePanel() {
  const status = useStore((s) => s.status);
  if (!status) return null;
  const q = status.queue;
  return (
    <Panel title="Queue">
      <dl className="grid grid-cols-4 gap-2 text-center text-sm" data-testid="queue">
        {(
          [
            ['pending', q.pending],
            ['running', q.processing],
            ['done', q.completed],
            ['dead', q.dead],
          ] as const
        ).map(([label, value]) => (
          <div key={label} className="rounded bg-slate-100 p-2 dark:bg-slate-800">
            <dt className="text-xs text-slate-600 dark:text-slate-300">{label}</dt>
            <dd className="text-lg font-semibold tabular-nums">{value}</dd>
          </div>
        ))}
      </dl>
    </Panel>
  );
}

function ChannelsPanel() {
  const channels = useStore((s) => s.status?.channels ?? []);
  return (
    <Panel title="Channels">
      {channels.length === 0 ? (
        <p className="text-sm text-slate-600 dark:text-slate-300">No channels enabled. TinyOffice and the CLI still work.</p>
      ) : (
        <ul className="space-y-1 text-sm">
          {channels.map((c) => (
            <li key={c.name} className="flex flex-wrap justify-between gap-x-2">
              <span>{c.name}</span>
              <ChannelState channel={c} testId={`office-channel-state-${c.name}`} />
              <ChannelError channel={c} className="basis-full" />
            </li>
          ))}
        </ul>
      )}
    </Panel>
  );
}

function AgentDetail({ id, onClose }: { id: string; onClose: () => void }) {
  const a = useStore((s) => s.activity[id]);
  const paused = useStore((s) => isPaused(s, id));
  const failure = useStore((s) => s.failures[id]);
  const feed = useStore((s) => s.feed);
  const now = useNow(a?.working === true);
  const recent = feed
    .filter((e) => e.agentId === id)
    .slice(-12)
    .reverse();
  return (
    <Panel
      title={`Agent ${id}`}
      actions={
        <button type="button" className="text-sm underline" onClick={onClose}>
          Close
        </button>
      }
    >
      <p className="mb-2 text-sm" data-testid="agent-state">
        {a?.working ? (
          <>
            {paused ? 'Paused' : `Working for ${duration(now - a.since)}`}
            {a.conversationId && (
              <>
                {' '}
                on{' '}
                <Link className="underline" href={`/conversations/view?id=${encodeURIComponent(a.conversationId)}`}>
                  this conversation
                </Link>
              </>
            )}
            {paused && ` (its run started ${duration(now - a.since)} ago; resume it there)`}
          </>
        ) : failure ? (
          `Its last run failed at ${failedAt(failure)}: ${failure.error}`
        ) : (
          'Idle'
        )}
      </p>
      {a?.working && a.tool && (
        <p className="mb-2 font-mono text-xs" data-testid="agent-tool">
          Running {a.tool.name}
          {a.tool.title ? `: ${a.tool.title}` : ''}
        </p>
      )}
      {a?.working && a.plan && a.plan.length > 0 && (
        <ol className="mb-2 space-y-0.5 text-xs" aria-label={`${id}'s plan`} data-testid="agent-plan">
          {a.plan.map((step, i) => (
            <li key={i} data-status={step.status} className={step.status === 'completed' ? 'text-slate-500 line-through dark:text-slate-400' : step.status === 'in_progress' ? 'font-medium' : ''}>
              <span aria-hidden="true">{step.status === 'completed' ? '✓' : step.status === 'in_progress' ? '▸' : '·'} </span>
              {step.text}
              <span className="sr-only"> ({step.status.replace('_', ' ')})</span>
            </li>
          ))}
        </ol>
      )}
      {recent.length === 0 ? (
        <p className="text-sm text-slate-600 dark:text-slate-300">No activity since this page opened.</p>
      ) : (
        // biome-ignore lint/a11y/noNoninteractiveTabindex: a scroll container must be reachable by keyboard to scroll it (WCAG 2.1.1)
        <ol className="max-h-64 space-y-1 overflow-auto text-xs" tabIndex={0} aria-label={`Recent events of ${id}`}>
          {recent.map((e) => (
            <li key={e.id} className="font-mono">
              <span className="text-slate-500 dark:text-slate-400">{new Date(e.ts).toLocaleTimeString()}</span> {e.type}
              {e.type === 'run.progress' ? `: ${describeProgress(e.data).slice(0, 80)}` : ''}
            </li>
          ))}
        </ol>
      )}
    </Panel>
  );
}
