'use client';
/**
 * Every schedule in one place: what it sends to whom, when it runs next (in its own time zone),
 * "Run now" (POST /api/schedules/:id/run: the message goes out at once, the timing stays), enable
 * or disable, and its history (GET /api/schedules/:id/history: each firing with the conversation
 * it started and how that ended). Schedules are made and edited on an agent's Schedules tab (or
 * with `tinyagi schedule add`); the list follows `schedule.fired` events.
 */
import Link from 'next/link';
import { useCallback, useEffect, useState } from 'react';
import type { Schedule, ScheduleFiring } from '@tinyagi/client';
import { api, messageOf } from '@/lib/api';
import { useLiveEvents } from '@/lib/use-events';
import { formatIn } from '@/components/agent-schedules';
import { Code } from '@/components/shell';
import { Button, ErrorLine, Panel, StatusPill } from '@/components/ui';

const HISTORY = 10;

export default function SchedulesPage() {
  const [schedules, setSchedules] = useState<Schedule[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  // Bumped on every firing and every conversation that ends: open histories read themselves again.
  const [fired, setFired] = useState(0);
  const load = useCallback(() => {
    api()
      .listSchedules({ query: {} })
      .then((list) => {
        setSchedules(list);
        setError(null);
      })
      .catch((err: unknown) => setError(messageOf(err)));
  }, []);
  useEffect(load, [load]);
  useLiveEvents((events) => {
    if (events.some((e) => e.type === 'schedule.fired')) load();
    if (events.some((e) => e.type === 'schedule.fired' || e.type === 'conversation.completed')) setFired((n) => n + 1);
  });

  return (
    <div className="space-y-4">
      <h1 className="text-xl font-semibold">Schedules</h1>
      <ErrorLine error={error} />
      <Panel title={schedules ? `All schedules (${schedules.length})` : 'All schedules'}>
        {schedules === null ? (
          <p role="status">Loading…</p>
        ) : schedules.length === 0 ? (
          <p className="text-sm text-slate-600 dark:text-slate-300">
            No schedules yet. Add one on an agent’s Schedules tab (open it from{' '}
            <Link className="underline" href="/agents">
              Agents
            </Link>
            ), or run <Code>tinyagi schedule add</Code>.
          </p>
        ) : (
          <ul className="divide-y divide-slate-200 dark:divide-slate-800" data-testid="all-schedules">
            {schedules.map((s) => (
              <ScheduleItem key={s.id} schedule={s} fired={fired} onChanged={load} onError={setError} />
            ))}
          </ul>
        )}
      </Panel>
    </div>
  );
}

function ScheduleItem({ schedule: s, fired, onChanged, onError }: { schedule: Schedule; fired: number; onChanged: () => void; onError: (e: string | null) => void }) {
  const [busy, setBusy] = useState(false);
  const [sent, setSent] = useState<{ conversationId: string } | null>(null);
  const [open, setOpen] = useState(false);
  const target = s.teamId ? (
    <Link className="underline" href={`/teams/room?id=${encodeURIComponent(s.teamId)}`}>
      #{s.teamId}
    </Link>
  ) : s.agentId ? (
    <Link className="underline" href={`/agents/view?id=${encodeURIComponent(s.agentId)}&tab=schedules`}>
      @{s.agentId}
    </Link>
  ) : (
    'nobody'
  );
  const act = async (work: () => Promise<unknown>) => {
    setBusy(true);
    onError(null);
    try {
      await work();
      onChanged();
    } catch (err) {
      onError(`${s.label}: ${messageOf(err)}`);
    } finally {
      setBusy(false);
    }
  };
  return (
    <li className="py-3" data-schedule={s.label}>
      <div className="flex flex-wrap items-center gap-x-3 gap-y-1">
        <h2 className="font-medium">{s.label}</h2>
        <span className="text-sm">to {target}</span>
        <span
          className={`rounded-full px-2 text-xs ${s.enabled ? 'bg-emerald-100 text-emerald-900 dark:bg-emerald-900 dark:text-emerald-100' : 'bg-slate-200 text-slate-800 dark:bg-slate-700 dark:text-slate-100'}`}
        >
          {s.enabled ? 'enabled' : 'disabled'}
        </span>
        <span className="ml-auto flex flex-wrap gap-2">
          <Button
            tone="primary"
            disabled={busy}
            aria-label={`Run now: ${s.label}`}
            onClick={() =>
              void act(async () => {
                const result = await api().runSchedule({ params: { id: s.id } });
                setSent({ conversationId: result.conversationId });
              })
            }
          >
            Run now
          </Button>
          <Button
            disabled={busy}
            aria-label={`${s.enabled ? 'Disable' : 'Enable'} ${s.label}`}
            onClick={() => void act(() => api().patchSchedule({ params: { id: s.id }, body: { enabled: !s.enabled } }))}
          >
            {s.enabled ? 'Disable' : 'Enable'}
          </Button>
          <Button aria-expanded={open} aria-controls={`history-${s.id}`} aria-label={`History of ${s.label}`} onClick={() => setOpen((o) => !o)}>
            History
          </Button>
        </span>
      </div>
      <p className="mt-1 break-words text-sm text-slate-700 dark:text-slate-300">{s.message}</p>
      <dl className="mt-1 grid gap-x-4 text-xs text-slate-600 sm:grid-cols-[auto_1fr] dark:text-slate-300">
        <dt className="font-medium">When</dt>
        <dd>
          {s.cron ? <code className="font-mono">{s.cron}</code> : `once, ${formatIn(s.timezone, s.runAt ?? 0, 'full')}`} ({s.timezone})
        </dd>
        <dt className="font-medium">Next run</dt>
        <dd data-testid="next-run">{s.enabled && s.nextRunAt !== null ? formatIn(s.timezone, s.nextRunAt, 'full') : 'none (disabled or finished)'}</dd>
        <dt className="font-medium">Last scheduled run</dt>
        <dd>{s.lastFiredAt !== null ? formatIn(s.timezone, s.lastFiredAt, 'full') : 'not yet'}</dd>
      </dl>
      {sent && (
        <p role="status" className="mt-1 text-sm text-emerald-800 dark:text-emerald-300">
          Sent {s.label} now.{' '}
          <Link className="underline" href={`/conversations/view?id=${encodeURIComponent(sent.conversationId)}`}>
            Open the conversation
          </Link>
        </p>
      )}
      {open && <History id={s.id} label={s.label} timezone={s.timezone} fired={fired} />}
    </li>
  );
}

function History({ id, label, timezone, fired }: { id: string; label: string; timezone: string; fired: number }) {
  const [firings, setFirings] = useState<ScheduleFiring[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  // `fired` changes on every firing and every conversation that ends: read the history again.
  useEffect(() => {
    api()
      .scheduleHistory({ params: { id }, query: { limit: HISTORY } })
      .then((h) => {
        setFirings(h.firings);
        setError(null);
      })
      .catch((err: unknown) => setError(messageOf(err)));
  }, [id, fired]);
  return (
    <section id={`history-${id}`} aria-label={`History of ${label}`} className="mt-2 rounded border border-slate-200 p-2 dark:border-slate-700">
      <ErrorLine error={error} />
      {firings === null ? (
        !error && <p role="status">Loading…</p>
      ) : firings.length === 0 ? (
        <p className="text-sm text-slate-600 dark:text-slate-300">It has not run yet (firings are kept as long as the event log, retention.days).</p>
      ) : (
        <ol className="space-y-1 text-sm" data-testid="schedule-history">
          {firings.map((f) => (
            <li key={`${f.firedAt}:${f.messageId ?? ''}`} className="flex flex-wrap items-center gap-2" data-firing={f.dueAt === null ? 'manual' : 'scheduled'}>
              <span className="tabular-nums">{formatIn(timezone, f.firedAt, 'full')}</span>
              <span className="text-xs text-slate-600 dark:text-slate-300">{f.dueAt === null ? 'run by hand' : f.missed ? 'late (the daemon was down)' : 'on schedule'}</span>
              {f.conversationId ? (
                <Link className="ml-auto flex items-center gap-1 underline" href={`/conversations/view?id=${encodeURIComponent(f.conversationId)}`}>
                  <StatusPill status={f.status ?? 'queued'} />
                  <span className="sr-only">conversation started by this run</span>
                </Link>
              ) : (
                <span className="ml-auto text-xs text-slate-600 dark:text-slate-300">conversation no longer kept</span>
              )}
            </li>
          ))}
        </ol>
      )}
    </section>
  );
}
