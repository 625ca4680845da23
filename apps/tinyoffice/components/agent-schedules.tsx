'use client';
/**
 * An agent's schedules: presets (hourly, daily, weekdays, weekly, monthly at a time), a raw cron
 * expression or a one-shot time; enable, disable, delete; and a calendar of the next runs. The
 * runs come from the daemon (GET /api/schedules/:id/next and /api/cron/next: the scheduler's own
 * cron code), shown in each schedule's time zone, so the page and the scheduler never disagree.
 */
import { useEffect, useMemo, useState } from 'react';
import type { Schedule } from '@tinyagi/client';
import { api, messageOf } from '@/lib/api';
import { loadContract, useContract } from '@/lib/contract';
import { fromApiError, fromZodIssues, type FieldIssues } from '@/lib/field-issues';
import { useLiveEvents } from '@/lib/use-events';
import { IssueSummary, SavedNote, SelectField, TextField } from '@/components/form';
import { Button, ErrorLine, Panel } from '@/components/ui';

type Kind = 'hourly' | 'daily' | 'weekdays' | 'weekly' | 'monthly' | 'cron' | 'once';
const KINDS: Array<{ value: Kind; label: string }> = [
  { value: 'daily', label: 'Every day at…' },
  { value: 'weekdays', label: 'Weekdays (Mon-Fri) at…' },
  { value: 'weekly', label: 'Every week on…' },
  { value: 'monthly', label: 'Every month on day…' },
  { value: 'hourly', label: 'Every hour' },
  { value: 'cron', label: 'Custom cron expression' },
  { value: 'once', label: 'Once, at a date and time' },
];
const WEEKDAYS = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];
const CALENDAR_RUNS = 10;

interface Draft {
  label: string;
  message: string;
  kind: Kind;
  time: string;
  weekday: string;
  monthDay: string;
  cron: string;
  runAt: string;
  timezone: string;
}

/** The cron expression of a preset (null for a one-shot). */
export function cronOf(d: Draft): string | null {
  const [h = '9', m = '0'] = d.time.split(':').map((x) => String(Number(x)));
  switch (d.kind) {
    case 'hourly':
      return '0 * * * *';
    case 'daily':
      return `${m} ${h} * * *`;
    case 'weekdays':
      return `${m} ${h} * * 1-5`;
    case 'weekly':
      return `${m} ${h} * * ${d.weekday}`;
    case 'monthly':
      return `${m} ${h} ${d.monthDay} * *`;
    case 'cron':
      return d.cron.trim();
    case 'once':
      return null;
  }
}

const browserZone = (): string => {
  try {
    return Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';
  } catch {
    return 'UTC';
  }
};

export function formatIn(timezone: string, at: number, parts: 'day' | 'time' | 'full'): string {
  const options: Intl.DateTimeFormatOptions =
    parts === 'day'
      ? { weekday: 'short', year: 'numeric', month: 'short', day: 'numeric' }
      : parts === 'time'
        ? { hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }
        : { weekday: 'short', year: 'numeric', month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit', hourCycle: 'h23', timeZoneName: 'short' };
  try {
    return new Intl.DateTimeFormat('en-GB', { ...options, timeZone: timezone }).format(new Date(at));
  } catch {
    return new Date(at).toISOString();
  }
}

export function SchedulesTab({ id }: { id: string }) {
  const [schedules, setSchedules] = useState<Schedule[] | null>(null);
  const [runs, setRuns] = useState<Record<string, number[]>>({});
  const [error, setError] = useState<string | null>(null);

  const load = () => {
    api()
      .listSchedules({ query: { agent: id } })
      .then(async (list) => {
        setSchedules(list);
        const entries = await Promise.all(list.map(async (s) => [s.id, s.enabled ? (await api().scheduleNextRuns({ params: { id: s.id }, query: { count: CALENDAR_RUNS } })).runs : []] as const));
        setRuns(Object.fromEntries(entries));
        setError(null);
      })
      .catch((err: unknown) => setError(messageOf(err)));
  };
  useEffect(load, [id]);
  useLiveEvents((events) => {
    if (events.some((e) => e.type === 'schedule.fired')) load();
  });

  const act = (p: Promise<unknown>) => p.then(load).catch((err: unknown) => setError(messageOf(err)));

  return (
    <div className="grid gap-4 lg:grid-cols-2">
      <Panel title="Schedules">
        <ErrorLine error={error} />
        {schedules?.length === 0 && <p className="text-sm text-slate-600 dark:text-slate-300">No schedules yet. Add one with the form: a preset, a cron expression or a one-shot time.</p>}
        <ul className="divide-y divide-slate-200 dark:divide-slate-800" data-testid="schedules">
          {schedules?.map((s) => (
            <li key={s.id} className="py-2" data-schedule={s.label}>
              <div className="flex flex-wrap items-center gap-2">
                <span className="font-medium">{s.label}</span>
                <code className="rounded bg-slate-100 px-1 text-xs dark:bg-slate-800">{s.cron ?? `once: ${formatIn(s.timezone, s.runAt ?? 0, 'full')}`}</code>
                <span className="text-xs text-slate-600 dark:text-slate-300">{s.timezone}</span>
                <span
                  className={`rounded-full px-2 text-xs ${s.enabled ? 'bg-emerald-100 text-emerald-900 dark:bg-emerald-900 dark:text-emerald-100' : 'bg-slate-200 text-slate-800 dark:bg-slate-700 dark:text-slate-100'}`}
                >
                  {s.enabled ? 'enabled' : 'disabled'}
                </span>
                <span className="ml-auto flex gap-2">
                  <Button onClick={() => act(api().patchSchedule({ params: { id: s.id }, body: { enabled: !s.enabled } }))} aria-label={`${s.enabled ? 'Disable' : 'Enable'} ${s.label}`}>
                    {s.enabled ? 'Disable' : 'Enable'}
                  </Button>
                  <Button tone="danger" onClick={() => act(api().deleteSchedule({ params: { id: s.id } }))} aria-label={`Delete ${s.label}`}>
                    Delete
                  </Button>
                </span>
              </div>
              <p className="mt-1 truncate text-sm text-slate-700 dark:text-slate-300">{s.message}</p>
            </li>
          ))}
        </ul>
        {schedules && schedules.length > 0 && <Calendar schedules={schedules} runs={runs} />}
      </Panel>
      <Panel title="New schedule">
        <ScheduleForm agent={id} onCreated={load} />
      </Panel>
    </div>
  );
}

/** The next runs of every enabled schedule, by day, each in its schedule's time zone. */
function Calendar({ schedules, runs }: { schedules: Schedule[]; runs: Record<string, number[]> }) {
  const days = useMemo(() => {
    const all = schedules.flatMap((s) => (runs[s.id] ?? []).map((at) => ({ at, schedule: s })));
    all.sort((a, b) => a.at - b.at);
    const byDay = new Map<string, typeof all>();
    for (const run of all) {
      const day = formatIn(run.schedule.timezone, run.at, 'day');
      byDay.set(day, [...(byDay.get(day) ?? []), run]);
    }
    return [...byDay.entries()];
  }, [schedules, runs]);
  return (
    <section aria-label="Next runs" className="mt-4" data-testid="next-runs">
      <h3 className="mb-2 text-sm font-semibold">Next runs</h3>
      {days.length === 0 && <p className="text-sm text-slate-600 dark:text-slate-300">Nothing is due: every schedule is disabled or finished.</p>}
      <ol className="space-y-2">
        {days.map(([day, list]) => (
          <li key={day} className="rounded border border-slate-200 p-2 dark:border-slate-700">
            <div className="text-xs font-semibold uppercase text-slate-600 dark:text-slate-300">{day}</div>
            <ul>
              {list.map(({ at, schedule }) => (
                <li key={`${schedule.id}-${at}`} className="flex gap-2 text-sm" data-run-at={at} data-run-schedule={schedule.label}>
                  <time dateTime={new Date(at).toISOString()} className="font-mono tabular-nums">
                    {formatIn(schedule.timezone, at, 'time')}
                  </time>
                  <span>{schedule.label}</span>
                  <span className="text-xs text-slate-600 dark:text-slate-300">{schedule.timezone}</span>
                </li>
              ))}
            </ul>
          </li>
        ))}
      </ol>
    </section>
  );
}

function ScheduleForm({ agent, onCreated }: { agent: string; onCreated: () => void }) {
  const [d, setD] = useState<Draft>({ label: '', message: '', kind: 'daily', time: '09:00', weekday: '1', monthDay: '1', cron: '', runAt: '', timezone: browserZone() });
  const [issues, setIssues] = useState<FieldIssues>({});
  const [error, setError] = useState<string | null>(null);
  const [preview, setPreview] = useState<{ timezone: string; runs: number[] } | null>(null);
  const [previewIssues, setPreviewIssues] = useState<FieldIssues>({});
  const [saved, setSaved] = useState<string | null>(null);
  useContract(); // starts loading the schema the form checks with
  const cron = cronOf(d);
  const set = (key: keyof Draft) => (value: string) => setD((x) => ({ ...x, [key]: value }));

  useEffect(() => {
    setPreview(null);
    setPreviewIssues({});
    if (cron === null || cron === '') return;
    const timer = setTimeout(() => {
      api()
        .previewCron({ query: { cron, timezone: d.timezone.trim() || 'UTC', count: 5 } })
        .then(setPreview)
        .catch((err: unknown) => setPreviewIssues(fromApiError(err, ['query.']) ?? { cron: [messageOf(err)] }));
    }, 250);
    return () => clearTimeout(timer);
  }, [cron, d.timezone]);

  async function create(): Promise<void> {
    setError(null);
    setSaved(null);
    const runAt = d.kind === 'once' && d.runAt ? new Date(d.runAt).getTime() : undefined;
    const body = {
      agent,
      message: d.message,
      ...(d.label.trim() ? { label: d.label.trim() } : {}),
      ...(d.kind === 'once' ? (runAt !== undefined && !Number.isNaN(runAt) ? { runAt } : {}) : { cron: cron ?? '', timezone: d.timezone.trim() }),
    };
    let schemas: Awaited<ReturnType<typeof loadContract>>;
    try {
      schemas = await loadContract();
    } catch (err) {
      setError(`Could not load the form's validation: ${messageOf(err)}`);
      return;
    }
    const checked = schemas.CreateScheduleBodySchema.safeParse(body);
    const local: FieldIssues = checked.success ? {} : fromZodIssues(checked.error.issues);
    if (d.kind === 'once' && runAt === undefined) local['runAt'] = ['pick a date and time'];
    setIssues(local);
    if (!checked.success || Object.keys(local).length > 0) return;
    try {
      const created = await api().createSchedule({ body: checked.data });
      setSaved(`Created ${created.label}.`);
      setD((x) => ({ ...x, label: '', message: '' }));
      onCreated();
    } catch (err) {
      const mapped = fromApiError(err, ['body.']);
      if (mapped) setIssues(mapped);
      else setError(messageOf(err));
    }
  }

  const shown = { ...previewIssues, ...issues };
  return (
    <form
      aria-label="New schedule"
      className="space-y-3"
      noValidate
      onSubmit={(e) => {
        e.preventDefault();
        void create();
      }}
    >
      <TextField path="label" label="Label (optional)" value={d.label} onChange={set('label')} issues={shown} />
      <TextField path="message" label="Message to send" rows={3} value={d.message} onChange={set('message')} issues={shown} />
      <SelectField path="kind" label="When" value={d.kind} onChange={(v) => set('kind')(v)} options={KINDS} issues={shown} />
      <div className="grid gap-3 sm:grid-cols-2">
        {(d.kind === 'daily' || d.kind === 'weekdays' || d.kind === 'weekly' || d.kind === 'monthly') && (
          <TextField path="time" label="Time (HH:MM)" value={d.time} onChange={set('time')} issues={shown} />
        )}
        {d.kind === 'weekly' && (
          <SelectField path="weekday" label="Day of the week" value={d.weekday} onChange={set('weekday')} options={WEEKDAYS.map((w, i) => ({ value: String(i), label: w }))} issues={shown} />
        )}
        {d.kind === 'monthly' && (
          <SelectField
            path="monthDay"
            label="Day of the month"
            value={d.monthDay}
            onChange={set('monthDay')}
            options={Array.from({ length: 31 }, (_, i) => ({ value: String(i + 1), label: String(i + 1) }))}
            issues={shown}
          />
        )}
        {d.kind === 'cron' && (
          <TextField path="cron" label="Cron expression" value={d.cron} onChange={set('cron')} issues={shown} hint="5 fields (minute hour day month weekday), e.g. 0 9 * * 1-5; 6 with seconds." />
        )}
        {d.kind === 'once' && <TextField path="runAt" label="Date and time (your browser’s time)" type="datetime-local" value={d.runAt} onChange={set('runAt')} issues={shown} />}
        {d.kind !== 'once' && <TextField path="timezone" label="Time zone" value={d.timezone} onChange={set('timezone')} issues={shown} hint="An IANA name, e.g. Europe/Berlin or UTC." />}
      </div>
      {cron !== null && cron !== '' && (
        <p className="text-sm text-slate-700 dark:text-slate-300">
          Cron: <code className="font-mono">{cron}</code>
        </p>
      )}
      {preview && (
        <div data-testid="cron-preview" className="text-sm">
          <p className="font-medium">Next runs ({preview.timezone}):</p>
          <ul className="font-mono text-xs">
            {preview.runs.map((at) => (
              <li key={at} data-run-at={at}>
                {formatIn(preview.timezone, at, 'full')}
              </li>
            ))}
          </ul>
        </div>
      )}
      <IssueSummary issues={shown} placed={new Set(['label', 'message', 'kind', 'time', 'weekday', 'monthDay', 'cron', 'runAt', 'timezone'])} />
      <ErrorLine error={error} />
      <div className="flex items-center gap-3">
        <Button type="submit" tone="primary">
          Add schedule
        </Button>
        <SavedNote text={saved} />
      </div>
    </form>
  );
}
