'use client';
/**
 * Memory (docs/memory.md): what the agents remember beyond one conversation, per agent, team or
 * project (`?scope=agent&id=coder`; none: every scope). The proposals the agents made wait on top
 * for a decision; below, the accepted entries with a search, and on demand the history (rejected
 * and retired). The lists load with the page and again on every `memory.proposed` and
 * `memory.decided` event (a proposal made or decided anywhere), or with Reload.
 */
import { useSearchParams } from 'next/navigation';
import { Suspense, useCallback, useEffect, useMemo, useRef, useState } from 'react';
import type { MemoryRecord, MemoryScope } from '@tinyagi/client';
import { api, messageOf } from '@/lib/api';
import { MEMORY_STATUS_TEXT, memoryHref, scopeFromQuery, scopeName, scopeReaders, withRecords } from '@/lib/memory';
import { useStore } from '@/lib/store';
import { useLiveEvents } from '@/lib/use-events';
import { EntryCard, ProposalCard } from '@/components/memory-card';
import { usePageTitle } from '@/components/shell';
import { Button, ErrorLine, plural } from '@/components/ui';

const LIMIT = 200;

export default function MemoryPage() {
  return (
    <Suspense fallback={<p>Loading…</p>}>
      <Memory />
    </Suspense>
  );
}

interface Lists {
  proposals: MemoryRecord[];
  entries: MemoryRecord[];
  /** Entries a proposal replaces or forgets that are not in `entries` (another scope's, or history). */
  targets: Record<string, MemoryRecord>;
}

function useMemoryLists(scope: MemoryScope | null, q: string) {
  const [lists, setLists] = useState<Lists | null>(null);
  const [error, setError] = useState<string | null>(null);
  const where = useMemo(() => (scope ? { scope: scope.kind, id: scope.id } : {}), [scope]);
  // Only the newest read is shown: one for another scope or search, or overtaken by an event's, is dropped.
  const latest = useRef(0);
  const load = useCallback(async () => {
    const mine = ++latest.current;
    try {
      const [proposals, entries] = await Promise.all([
        api().listMemory({ query: { ...where, status: 'proposed', limit: LIMIT } }),
        api().listMemory({ query: { ...where, status: 'accepted', limit: LIMIT, ...(q ? { q } : {}) } }),
      ]);
      const known = new Set(entries.map((e) => e.id));
      const missing = [...new Set(proposals.map((p) => p.targetId).filter((id): id is string => id !== null && !known.has(id)))];
      const found = await Promise.all(
        missing.map((id) =>
          api()
            .getMemoryRecord({ params: { id } })
            .catch(() => null),
        ),
      );
      if (mine !== latest.current) return;
      setLists({ proposals, entries: entries.filter((e) => e.action === 'remember'), targets: Object.fromEntries(found.filter((t) => t !== null).map((t) => [t.id, t])) });
      setError(null);
    } catch (err) {
      if (mine === latest.current) setError(messageOf(err));
    }
  }, [where, q]);
  useEffect(() => {
    void load();
  }, [load]);
  return { lists, setLists, error, load };
}

function Memory() {
  const query = useSearchParams();
  const scope = useMemo(() => scopeFromQuery(query.get('scope'), query.get('id')), [query]);
  const agents = useStore((s) => s.agents);
  const teams = useStore((s) => s.teams);
  const [projects, setProjects] = useState<Record<string, string>>({});
  const [search, setSearch] = useState('');
  const [q, setQ] = useState('');
  const [note, setNote] = useState<string | null>(null);
  const [showHistory, setShowHistory] = useState(false);
  const [historyTick, setHistoryTick] = useState(0);
  const { lists, setLists, error, load } = useMemoryLists(scope, q);
  usePageTitle(scope ? scopeName(scope, projects) : null);

  useEffect(() => {
    api()
      .listProjects()
      .then((list) => setProjects(Object.fromEntries(list.map((p) => [p.id, p.name]))))
      .catch(() => undefined);
  }, []);
  // A proposal made or decided anywhere (an agent, the CLI, a chat, another tab): the lists are read again.
  useLiveEvents((events) => {
    if (events.some((e) => e.type === 'memory.proposed' || e.type === 'memory.decided')) void load();
  });

  const changed = (records: MemoryRecord[], message?: string) => {
    setNote(message ?? null);
    setLists((l) => {
      if (!l) return l;
      const decided = new Set(records.filter((r) => r.status !== 'proposed').map((r) => r.id));
      const accepted = records.filter((r) => r.status === 'accepted' && r.action === 'remember');
      const gone = new Set(records.filter((r) => r.status !== 'accepted').map((r) => r.id));
      return {
        proposals: l.proposals.filter((p) => !decided.has(p.id)),
        entries: withRecords(l.entries, accepted).filter((e) => !gone.has(e.id)),
        targets: { ...l.targets, ...Object.fromEntries(records.map((r) => [r.id, r])) },
      };
    });
    if (records.some((r) => r.status !== 'accepted' && r.status !== 'proposed')) setHistoryTick((t) => t + 1);
  };
  const byId = useMemo(() => Object.fromEntries([...(lists?.entries ?? []), ...Object.values(lists?.targets ?? {})].map((e) => [e.id, e])), [lists]);

  return (
    <div className="space-y-4">
      <div className="flex flex-wrap items-center gap-3">
        <h1 className="text-xl font-semibold">Memory</h1>
        <ScopePicker scope={scope} agents={agents.map((a) => a.id)} teams={teams.map((t) => t.id)} projects={projects} />
        <Button className="ml-auto" onClick={() => void load()}>
          Reload
        </Button>
      </div>
      <p className="text-sm text-slate-600 dark:text-slate-300" data-testid="memory-scope">
        {scope ? scopeReaders(scope, projects) : 'Every scope: each agent’s own memory, each team’s and each project’s.'} Agents propose what to remember; you decide. An accepted entry goes into an
        agent’s context when it is relevant to a message (a pinned one in every turn); the rest never do. You can also decide from the CLI (<code className="font-mono">tinyagi memory</code>) or a
        chat: the first decision wins.
      </p>
      <ErrorLine error={error} />
      {note && (
        <p role="status" className="rounded border border-amber-300 bg-amber-50 px-2 py-1 text-sm text-amber-950 dark:border-amber-800 dark:bg-amber-950 dark:text-amber-100">
          {note}
        </p>
      )}
      {lists === null ? (
        !error && <p>Loading…</p>
      ) : (
        <>
          <section aria-labelledby="proposals-title" className="space-y-2">
            <h2 id="proposals-title" className="text-sm font-semibold uppercase tracking-wide text-slate-600 dark:text-slate-300">
              Proposals
            </h2>
            <p id="memory-proposals-summary" tabIndex={-1} className="text-sm text-slate-600 focus:outline-none dark:text-slate-300" aria-live="polite" data-testid="memory-proposals-summary">
              {lists.proposals.length === 0
                ? 'No proposal waits for your decision.'
                : `${plural(lists.proposals.length, 'proposal')} ${lists.proposals.length === 1 ? 'waits' : 'wait'} for your decision; agents are not given a proposal until it is accepted.`}
            </p>
            <ol aria-label="Proposals" className="space-y-3">
              {lists.proposals.map((p) => (
                <li key={p.id}>
                  <ProposalCard proposal={p} target={p.targetId ? (byId[p.targetId] ?? null) : null} projects={projects} onDecided={changed} />
                </li>
              ))}
            </ol>
          </section>
          <Entries entries={lists.entries} projects={projects} search={search} onSearch={setSearch} q={q} onQuery={setQ} onChanged={(r) => changed([r])} />
          <label className="flex items-center gap-2 text-sm">
            <input type="checkbox" checked={showHistory} onChange={(e) => setShowHistory(e.target.checked)} />
            Show history (rejected and retired)
          </label>
          {showHistory && <History scope={scope} projects={projects} tick={historyTick} />}
        </>
      )}
    </div>
  );
}

/** The scope the page shows; a change is a navigation (the URL is the state). */
function ScopePicker({ scope, agents, teams, projects }: { scope: MemoryScope | null; agents: string[]; teams: string[]; projects: Record<string, string> }) {
  const value = scope ? `${scope.kind}:${scope.id}` : '';
  return (
    <>
      <label htmlFor="memory-scope" className="sr-only">
        Whose memory
      </label>
      <select
        id="memory-scope"
        className="rounded border border-slate-300 bg-white px-2 py-1 text-sm dark:border-slate-600 dark:bg-slate-900"
        value={value}
        onChange={(e) => {
          const [kind, ...rest] = e.target.value.split(':');
          const next = scopeFromQuery(kind ?? null, rest.join(':'));
          window.history.replaceState(null, '', next ? memoryHref(next) : '/memory');
        }}
      >
        <option value="">All scopes</option>
        <optgroup label="Agents">
          {agents.map((a) => (
            <option key={a} value={`agent:${a}`}>
              @{a}
            </option>
          ))}
        </optgroup>
        <optgroup label="Teams">
          {teams.map((t) => (
            <option key={t} value={`team:${t}`}>
              team {t}
            </option>
          ))}
        </optgroup>
        {Object.keys(projects).length > 0 && (
          <optgroup label="Projects">
            {Object.entries(projects).map(([id, name]) => (
              <option key={id} value={`project:${id}`}>
                project {name}
              </option>
            ))}
          </optgroup>
        )}
      </select>
    </>
  );
}

function Entries({
  entries,
  projects,
  search,
  onSearch,
  q,
  onQuery,
  onChanged,
}: {
  entries: MemoryRecord[];
  projects: Record<string, string>;
  search: string;
  onSearch: (text: string) => void;
  q: string;
  onQuery: (q: string) => void;
  onChanged: (record: MemoryRecord) => void;
}) {
  return (
    <section aria-labelledby="entries-title" className="space-y-2">
      <div className="flex flex-wrap items-center gap-2">
        <h2 id="entries-title" className="text-sm font-semibold uppercase tracking-wide text-slate-600 dark:text-slate-300">
          Accepted entries
        </h2>
        <form
          aria-label="Search memory"
          className="flex w-full gap-2 sm:ml-auto sm:w-auto"
          onSubmit={(e) => {
            e.preventDefault();
            onQuery(search.trim());
          }}
        >
          <label htmlFor="memory-search" className="sr-only">
            Search the accepted entries
          </label>
          <input
            id="memory-search"
            type="search"
            className="min-w-0 flex-1 rounded border sm:w-64 sm:flex-none border-slate-300 bg-white px-2 py-1 text-sm dark:border-slate-600 dark:bg-slate-900"
            placeholder="Search entries (words)"
            value={search}
            onChange={(e) => {
              onSearch(e.target.value);
              if (e.target.value === '') onQuery('');
            }}
          />
          <button type="submit" className="rounded border border-slate-300 px-2 py-1 text-sm hover:bg-slate-100 dark:border-slate-600 dark:hover:bg-slate-800">
            Search
          </button>
        </form>
      </div>
      <p className="text-sm text-slate-600 dark:text-slate-300" data-testid="memory-entries-summary">
        {q
          ? entries.length === 0
            ? `No accepted entry matches “${q}”.`
            : `${entriesText(entries.length)} ${entries.length === 1 ? 'matches' : 'match'} “${q}”, most relevant first.`
          : entries.length === 0
            ? 'No accepted entries yet: nothing from memory goes into an agent’s context.'
            : `${entriesText(entries.length)}, newest first. Agents are given an entry when it is relevant to a message, a pinned one in every turn.`}
      </p>
      <ol aria-label="Accepted entries" className="space-y-2">
        {entries.map((e) => (
          <li key={e.id}>
            <EntryCard entry={e} projects={projects} onChanged={onChanged} />
          </li>
        ))}
      </ol>
    </section>
  );
}

const entriesText = (n: number): string => `${n} ${n === 1 ? 'entry' : 'entries'}`;

/** Rejected proposals and retired entries, newest first: never given to an agent. */
function History({ scope, projects, tick }: { scope: MemoryScope | null; projects: Record<string, string>; tick: number }) {
  const [items, setItems] = useState<MemoryRecord[] | null>(null);
  const [retiredBy, setRetiredBy] = useState<Record<string, MemoryRecord>>({});
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    let live = true;
    const where = scope ? { scope: scope.kind, id: scope.id } : {};
    Promise.all([
      api().listMemory({ query: { ...where, status: 'rejected', limit: LIMIT } }),
      api().listMemory({ query: { ...where, status: 'retired', limit: LIMIT } }),
      api().listMemory({ query: { ...where, status: 'accepted', limit: LIMIT } }),
    ])
      .then(([rejected, retired, accepted]) => {
        if (!live) return;
        setItems([...rejected, ...retired].sort((a, b) => b.updatedAt - a.updatedAt));
        // An accepted proposal that names an entry replaced it (remember) or retired it (forget), in the same decision (same time).
        setRetiredBy(Object.fromEntries(accepted.filter((a) => a.targetId !== null).map((a) => [a.targetId!, a])));
      })
      .catch((err: unknown) => live && setError(messageOf(err)));
    return () => {
      live = false;
    };
  }, [scope, tick]);
  return (
    <section aria-labelledby="history-title" className="space-y-2">
      <h2 id="history-title" className="text-sm font-semibold uppercase tracking-wide text-slate-600 dark:text-slate-300">
        History
      </h2>
      <ErrorLine error={error} />
      <p className="text-sm text-slate-600 dark:text-slate-300">
        Rejected: {MEMORY_STATUS_TEXT.rejected}. Retired: {MEMORY_STATUS_TEXT.retired}.
      </p>
      {items !== null && items.length === 0 && <p className="text-sm text-slate-600 dark:text-slate-300">Nothing rejected or retired yet.</p>}
      <ol aria-label="History" className="space-y-2">
        {(items ?? []).map((e) => (
          <li key={e.id}>
            <EntryCard entry={e} projects={projects} retiredBy={retiredBy[e.id]?.decidedAt === e.decidedAt ? retiredBy[e.id] : undefined} onChanged={() => undefined} />
          </li>
        ))}
      </ol>
    </section>
  );
}
