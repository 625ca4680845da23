'use client';
/**
 * Conversations: newest first, filtered by status (or `waiting`), team and agent on the server and
 * by a search over title and sender here; the filters live in the URL (a filtered view can be
 * shared and reloaded). The agent filter matches any agent that ran in the conversation. A conversation that starts, ends, or is held for or
 * released by the person's decision while the page is open updates the list from the event
 * stream (a reload per batch of such events, no polling).
 */
import Link from 'next/link';
import { useSearchParams } from 'next/navigation';
import { Suspense, useCallback, useEffect, useMemo, useState } from 'react';
import { type ConversationFilter, conversationStatus, conversationTarget, type ConversationView } from '@tinyagi/client';
import { api, messageOf } from '@/lib/api';
import { mayChangeDecision } from '@/lib/decision';
import { useStore } from '@/lib/store';
import { useLiveEvents } from '@/lib/use-events';
import { ErrorLine, Panel, StatusPill, money, plural } from '@/components/ui';

// The client's root entry is types only (no zod in the page); the compiler checks this list.
const CONVERSATION_FILTERS = ['active', 'waiting', 'completed', 'failed', 'stopped', 'cancelled'] as const satisfies readonly ConversationFilter[];

export default function ConversationsPage() {
  return (
    <Suspense fallback={<p>Loading…</p>}>
      <Conversations />
    </Suspense>
  );
}

const isFilter = (value: string | null): value is ConversationFilter => (CONVERSATION_FILTERS as readonly string[]).includes(value ?? '');

function Conversations() {
  const agents = useStore((s) => s.agents);
  const teams = useStore((s) => s.teams);
  const query = useSearchParams();
  const fromUrl = query.get('status');
  const status: ConversationFilter | '' = isFilter(fromUrl) ? fromUrl : '';
  const team = query.get('team') ?? '';
  const agent = query.get('agent') ?? '';
  // Typed text stays local (every key would be a navigation); the URL follows it.
  const [search, setSearch] = useState(() => query.get('q') ?? '');
  /** One filter changed: the URL is the state (replaced, not pushed: a filter is not a page to go back to). */
  const setFilter = (key: 'status' | 'team' | 'agent' | 'q', value: string) => {
    const next = new URLSearchParams(window.location.search);
    if (value === '') next.delete(key);
    else next.set(key, value);
    const qs = next.toString();
    window.history.replaceState(null, '', qs ? `?${qs}` : window.location.pathname);
  };
  const [items, setItems] = useState<ConversationView[] | null>(null);
  const [error, setError] = useState<string | null>(null);

  const load = useCallback(() => {
    api()
      .listConversations({ query: { ...(status ? { status } : {}), ...(team ? { team } : {}), ...(agent ? { agent } : {}), limit: 100 } })
      .then((list) => {
        setItems(list);
        setError(null);
      })
      .catch((err: unknown) => setError(messageOf(err)));
  }, [status, team, agent]);
  useEffect(load, [load]);

  useLiveEvents((events) => {
    // A new conversation, or a guard's hold set or answered (a `waiting` pill, the waiting filter).
    if (events.some((e) => e.type === 'conversation.started' || (e.type !== 'conversation.completed' && mayChangeDecision(e)))) load();
    const ended = events.filter((e) => e.type === 'conversation.completed');
    if (ended.length > 0) {
      setItems(
        (list) =>
          list?.map((c) => {
            const done = ended.find((e) => e.conversationId === c.id);
            return done && done.type === 'conversation.completed' ? { ...c, status: done.data.status, costUsd: done.data.costUsd, stopReason: done.data.reason ?? null } : c;
          }) ?? null,
      );
    }
  });

  const shown = useMemo(() => {
    const needle = search.trim().toLowerCase();
    if (!items || needle === '') return items;
    return items.filter((c) => c.title.toLowerCase().includes(needle) || c.sender.toLowerCase().includes(needle) || c.id.includes(needle));
  }, [items, search]);

  const select = 'rounded border border-slate-300 bg-white px-2 py-1 text-sm dark:border-slate-600 dark:bg-slate-900';
  return (
    <Panel title="Conversations">
      <h1 className="sr-only">Conversations</h1>
      <search className="mb-3 block">
        <form className="flex flex-wrap gap-2" onSubmit={(e) => e.preventDefault()}>
          <label className="sr-only" htmlFor="conv-search">
            Search
          </label>
          <input
            id="conv-search"
            className={`${select} min-w-48 flex-1`}
            placeholder="Search title or sender"
            value={search}
            onChange={(e) => {
              setSearch(e.target.value);
              setFilter('q', e.target.value);
            }}
          />
          <label className="sr-only" htmlFor="conv-status">
            Status
          </label>
          <select id="conv-status" className={select} value={status} onChange={(e) => setFilter('status', e.target.value)}>
            <option value="">any status</option>
            {CONVERSATION_FILTERS.map((s) => (
              <option key={s}>{s}</option>
            ))}
          </select>
          <label className="sr-only" htmlFor="conv-team">
            Team
          </label>
          <select id="conv-team" className={select} value={team} onChange={(e) => setFilter('team', e.target.value)}>
            <option value="">any team</option>
            {teams.map((t) => (
              <option key={t.id} value={t.id}>
                {t.name ?? t.id}
              </option>
            ))}
          </select>
          <label className="sr-only" htmlFor="conv-agent">
            Agent
          </label>
          <select id="conv-agent" className={select} value={agent} onChange={(e) => setFilter('agent', e.target.value)}>
            <option value="">any agent</option>
            {agents.map((a) => (
              <option key={a.id} value={a.id}>
                {a.name ?? a.id}
              </option>
            ))}
          </select>
        </form>
      </search>
      <ErrorLine error={error} />
      {shown === null ? (
        <p className="text-sm text-slate-600 dark:text-slate-300">Loading…</p>
      ) : shown.length === 0 ? (
        <p className="text-sm text-slate-600 dark:text-slate-300">No conversations match. Start one from Chat.</p>
      ) : (
        <ul className="divide-y divide-slate-200 dark:divide-slate-800" data-testid="conversation-list">
          {shown.map((c) => (
            <li key={c.id}>
              <Link href={`/conversations/view?id=${encodeURIComponent(c.id)}`} className="flex flex-wrap items-center gap-x-3 gap-y-1 py-2 hover:bg-slate-50 dark:hover:bg-slate-800/50">
                <StatusPill status={conversationStatus(c)} />
                <span className="min-w-0 flex-1 truncate font-medium">{c.title || '(untitled)'}</span>
                <span className="text-xs text-slate-600 dark:text-slate-400">
                  {conversationTarget(c)} · {c.sender} · {plural(c.hops, 'hop')} · {money(c.costUsd)} · {new Date(c.updatedAt).toLocaleString()}
                </span>
              </Link>
            </li>
          ))}
        </ul>
      )}
    </Panel>
  );
}
