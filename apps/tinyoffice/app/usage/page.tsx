'use client';
/**
 * Usage: tokens and cost over time per agent, team, provider or channel (day, week or month
 * buckets in this browser's time zone), daily budget lines, the costliest conversations, and
 * every number again as tables. Reloads (at most one request at a time) when runs end.
 */
import dynamic from 'next/dynamic';
import Link from 'next/link';
import { type ReactNode, useCallback, useEffect, useMemo, useRef, useState } from 'react';
import type { ConversationUsage, UsageBucket, UsageReport, UsageSeriesGroup } from '@tinyagi/client';
import { api, messageOf } from '@/lib/api';
import { useLiveEvents } from '@/lib/use-events';
import { chartData, formatMetric, formatTokens, keyLabel, metricOf, type UsageMetric } from '@/lib/usage';
import { Code } from '@/components/shell';
import { ErrorLine, Panel, money, plural } from '@/components/ui';
import type { ChartLayout } from '@/components/usage-chart';

// The chart and its scale library load with this page only, after the first paint.
const UsageChart = dynamic(() => import('@/components/usage-chart'), {
  ssr: false,
  loading: () => <div className="h-[300px] animate-pulse rounded bg-slate-100 dark:bg-slate-800" />,
});

const GROUPS = [
  ['agent', 'Agent'],
  ['team', 'Team'],
  ['provider', 'Provider'],
  ['channel', 'Channel'],
] as const satisfies ReadonlyArray<readonly [UsageSeriesGroup, string]>;
const BUCKETS = [
  ['day', 'Day'],
  ['week', 'Week'],
  ['month', 'Month'],
] as const satisfies ReadonlyArray<readonly [UsageBucket, string]>;
const RANGES = [
  ['7', 'Last 7 days'],
  ['30', 'Last 30 days'],
  ['90', 'Last 90 days'],
  ['365', 'Last 12 months'],
  ['all', 'All time'],
] as const;
type Range = (typeof RANGES)[number][0];

const ENDED = new Set(['run.completed', 'run.failed', 'run.cancelled']);
const DAY_MS = 86_400_000;

function timeZone(): string {
  try {
    return Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';
  } catch {
    return 'UTC';
  }
}

const NO_NAMES: Record<string, string> = {};

function spanOf(range: Range): { since?: number; until: number } {
  const now = Date.now();
  return range === 'all' ? { until: now } : { since: now - Number(range) * DAY_MS, until: now };
}

function namesOf(group: UsageSeriesGroup): Promise<Record<string, string>> {
  if (group === 'agent')
    return api()
      .listAgents()
      .then((list) => Object.fromEntries(list.map((a) => [a.id, a.name ?? a.id])));
  if (group === 'team')
    return api()
      .listTeams()
      .then((list) => Object.fromEntries(list.map((t) => [t.id, t.name ?? t.id])));
  return Promise.resolve(NO_NAMES);
}

/**
 * Loads `query` whenever it changes (a new request at once; an older answer that comes later is
 * dropped), and again on `reload()` — coalesced: reloads while one is in flight make one more
 * request after it, with the latest query.
 */
function useLatestLoad<T>(query: () => Promise<T>, onError: (message: string | null) => void): [T | null, () => void] {
  const [data, setData] = useState<T | null>(null);
  const latest = useRef(query);
  latest.current = query;
  const state = useRef({ seq: 0, inFlight: false, again: false });
  const start = useCallback(() => {
    const s = state.current;
    const n = ++s.seq;
    s.inFlight = true;
    latest
      .current()
      .then((value) => {
        if (n !== s.seq) return;
        setData(value);
        onError(null);
      })
      .catch((err: unknown) => {
        if (n === s.seq) onError(messageOf(err));
      })
      .finally(() => {
        if (n !== s.seq) return;
        s.inFlight = false;
        if (s.again) {
          s.again = false;
          start();
        }
      });
  }, [onError]);
  const reload = useCallback(() => {
    if (state.current.inFlight) state.current.again = true;
    else start();
  }, [start]);
  useEffect(() => {
    state.current.again = false;
    start();
  }, [query, start]);
  return [data, reload];
}

export default function UsagePage() {
  const [group, setGroup] = useState<UsageSeriesGroup>('agent');
  const [bucket, setBucket] = useState<UsageBucket>('day');
  const [range, setRange] = useState<Range>('30');
  const [metricChoice, setMetricChoice] = useState<UsageMetric | null>(null);
  const [layout, setLayout] = useState<ChartLayout>('stacked');
  const [error, setError] = useState<string | null>(null);

  // Each part loads only when what it depends on changes: a bucket or group switch refetches the
  // series alone, a range change the series and the top conversations, a group switch the names of
  // that group (kept for the page's life). A run that ends refreshes all three.
  const seriesQuery = useCallback(() => api().usage({ query: { by: group, bucket, tz: timeZone(), ...spanOf(range) } }), [group, bucket, range]);
  const topQuery = useCallback(() => api().topConversations({ query: { ...spanOf(range), limit: 10 } }), [range]);
  const namesQuery = useCallback((): Promise<Record<string, string>> => namesOf(group), [group]);
  const [report, reloadReport] = useLatestLoad(seriesQuery, setError);
  const [top, reloadTop] = useLatestLoad(topQuery, setError);
  const [groupNames, reloadNames] = useLatestLoad(namesQuery, setError);
  const names = groupNames ?? NO_NAMES;

  // An agent or team that is not named yet (created since its names loaded): load them again, once per answer.
  const namedFor = useRef<UsageReport | null>(null);
  useEffect(() => {
    if (!report || !groupNames || namedFor.current === report || (group !== 'agent' && group !== 'team')) return;
    namedFor.current = report;
    if (report.rows.some((r) => r.key !== '' && !(r.key in groupNames))) reloadNames();
  }, [report, groupNames, group, reloadNames]);

  useLiveEvents((events) => {
    if (!events.some((e) => ENDED.has(e.type))) return;
    reloadReport();
    reloadTop();
    reloadNames();
  });

  // Cost unless nothing cost anything (mock and local models): then tokens, until the user picks.
  const metric: UsageMetric = metricChoice ?? (report && report.total.costUsd === 0 && report.total.inputTokens + report.total.outputTokens > 0 ? 'tokens' : 'cost');
  const data = useMemo(() => (report ? chartData(report, group, metric, names) : null), [report, group, metric, names]);
  const groupLabel = GROUPS.find(([g]) => g === group)![1].toLowerCase();
  const empty = report !== null && report.total.runs === 0;

  return (
    <div className="space-y-4">
      <h1 className="text-xl font-semibold">Usage</h1>
      <Panel title="Tokens and cost">
        <form className="flex flex-wrap items-end gap-x-4 gap-y-2 text-sm" onSubmit={(e) => e.preventDefault()} aria-label="Usage filters">
          <Segmented legend="Group by" name="group" value={group} options={GROUPS} onChange={setGroup} />
          <Segmented legend="Bucket" name="bucket" value={bucket} options={BUCKETS} onChange={setBucket} />
          <label className="flex flex-col gap-1">
            <span className="text-xs font-medium text-slate-600 dark:text-slate-300">Range</span>
            <select className="rounded border border-slate-300 bg-white px-2 py-1 dark:border-slate-600 dark:bg-slate-900" value={range} onChange={(e) => setRange(e.target.value as Range)}>
              {RANGES.map(([value, label]) => (
                <option key={value} value={value}>
                  {label}
                </option>
              ))}
            </select>
          </label>
          <Segmented
            legend="Show"
            name="metric"
            value={metric}
            options={[
              ['cost', 'Cost'],
              ['tokens', 'Tokens'],
            ]}
            onChange={setMetricChoice}
          />
          <Segmented
            legend="Bars"
            name="layout"
            value={layout}
            options={[
              ['stacked', 'Stacked'],
              ['grouped', 'Side by side'],
            ]}
            onChange={setLayout}
          />
        </form>
        <div className="mt-4">
          <ErrorLine error={error} />
          {report === null || data === null ? (
            error ? null : (
              <p className="text-sm text-slate-600 dark:text-slate-300">Loading…</p>
            )
          ) : empty ? (
            <div data-testid="usage-empty" className="rounded border border-dashed border-slate-300 p-6 text-center text-sm text-slate-700 dark:border-slate-700 dark:text-slate-300">
              <p className="font-medium">No runs {range === 'all' ? 'yet' : 'in this range'}.</p>
              <p className="mt-1">
                Usage appears here as soon as an agent finishes a run: send one a message from{' '}
                <Link href="/chat" className="underline">
                  Chat
                </Link>{' '}
                or with <Code>tinyagi send --agent &lt;id&gt; "hello"</Code>
                {range === 'all' ? '' : ', or pick a longer range'}.
              </p>
            </div>
          ) : (
            <>
              <Totals report={report} />
              <Legend data={data} />
              <UsageChart
                data={data}
                metric={metric}
                layout={layout}
                summary={`${metric === 'cost' ? 'Cost' : 'Tokens'} per ${bucket} by ${groupLabel}, ${data.buckets.length} ${bucket}s: ${data.series.map((s) => `${s.label} ${formatMetric(s.total, metric)}`).join(', ')}`}
              />
              <BudgetNote report={report} metric={metric} layout={layout} count={data.budgets.length} />
            </>
          )}
        </div>
      </Panel>
      {report && !empty && (
        <div className="grid grid-cols-1 gap-4 lg:grid-cols-2">
          <Panel title={`Totals by ${groupLabel}`} className="min-w-0">
            <TotalsTable report={report} group={group} names={names} />
          </Panel>
          <Panel title="Top conversations by cost" className="min-w-0">
            <TopConversations items={top} />
          </Panel>
          <Panel title={`Per ${bucket}`} className="min-w-0 lg:col-span-2">
            <SeriesTable report={report} group={group} names={names} bucket={bucket} />
          </Panel>
        </div>
      )}
    </div>
  );
}

function Segmented<T extends string>({ legend, name, value, options, onChange }: { legend: string; name: string; value: T; options: ReadonlyArray<readonly [T, string]>; onChange: (v: T) => void }) {
  return (
    <fieldset className="flex flex-col gap-1">
      <legend className="mb-1 text-xs font-medium text-slate-600 dark:text-slate-300">{legend}</legend>
      <div className="inline-flex overflow-hidden rounded border border-slate-300 dark:border-slate-600">
        {options.map(([v, label]) => (
          <label
            key={v}
            className={`cursor-pointer px-2 py-1 has-[:focus-visible]:outline has-[:focus-visible]:outline-2 has-[:focus-visible]:outline-sky-600 ${v === value ? 'bg-slate-900 text-white dark:bg-slate-100 dark:text-slate-900' : 'hover:bg-slate-100 dark:hover:bg-slate-800'}`}
          >
            <input type="radio" className="sr-only" name={name} value={v} checked={v === value} onChange={() => onChange(v)} />
            {label}
          </label>
        ))}
      </div>
    </fieldset>
  );
}

function Totals({ report }: { report: UsageReport }) {
  const t = report.total;
  const item = (label: string, value: string) => (
    <div>
      <dt className="text-xs text-slate-600 dark:text-slate-300">{label}</dt>
      <dd className="text-lg font-semibold tabular-nums">{value}</dd>
    </div>
  );
  return (
    <dl className="mb-3 flex flex-wrap gap-x-8 gap-y-2" data-testid="usage-totals">
      {item('Runs', t.runs.toLocaleString('en-US'))}
      {item('Input tokens', formatTokens(t.inputTokens))}
      {item('Output tokens', formatTokens(t.outputTokens))}
      {item('Cost', money(t.costUsd))}
    </dl>
  );
}

function Legend({ data }: { data: NonNullable<ReturnType<typeof chartData>> }) {
  return (
    <ul className="mb-2 flex flex-wrap gap-x-4 gap-y-1 text-xs" aria-label="Chart legend">
      {data.series.map((s) => (
        <li key={s.key} className="flex items-center gap-1">
          <span aria-hidden className="inline-block h-3 w-3 rounded-sm" style={{ background: s.colour }} />
          {s.label}
        </li>
      ))}
      {data.budgets.length > 0 && (
        <li className="flex items-center gap-1">
          <span aria-hidden className="inline-block w-4 border-t-2 border-dashed border-slate-500" />
          daily budget
        </li>
      )}
    </ul>
  );
}

function BudgetNote({ report, metric, layout, count }: { report: UsageReport; metric: UsageMetric; layout: ChartLayout; count: number }) {
  const unit = metric === 'cost' ? 'usd' : 'tokens';
  const any = report.budgets.global[unit] !== undefined || report.budgets.keys.some((k) => k[unit] !== undefined);
  let text: ReactNode;
  if (!any)
    text = (
      <>
        No daily {metric === 'cost' ? 'cost' : 'token'} budgets are set. Set them in{' '}
        <Link className="underline" href="/settings#section-budgets">
          Settings › Budgets
        </Link>
        , or per agent on the agent's Settings tab.
      </>
    );
  else if (report.bucket !== 'day') text = 'Budgets are daily caps (UTC days): pick Day to see them as lines.';
  else if (layout === 'stacked' && report.budgets.keys.length > 0) text = 'Dashed line: the daily cap of all agents together. Per-agent caps show with side-by-side bars.';
  else text = count > 0 ? 'Dashed lines: daily caps (counted per UTC day).' : 'The budgets set do not apply to this grouping.';
  return <p className="mt-2 text-xs text-slate-600 dark:text-slate-300">{text}</p>;
}

const th = 'px-2 py-1 text-left font-medium';
const td = 'px-2 py-1 tabular-nums';

function TotalsTable({ report, group, names }: { report: UsageReport; group: UsageSeriesGroup; names: Record<string, string> }) {
  const rows = [...report.rows].sort((a, b) => b.costUsd - a.costUsd || b.inputTokens + b.outputTokens - (a.inputTokens + a.outputTokens));
  return (
    <div className="overflow-x-auto">
      <table className="w-full text-sm" data-testid="usage-totals-table">
        <caption className="sr-only">Runs, tokens and cost by {group} in the range</caption>
        <thead className="border-b border-slate-200 text-xs text-slate-600 dark:border-slate-800 dark:text-slate-300">
          <tr>
            <th scope="col" className={th}>
              {group[0]!.toUpperCase() + group.slice(1)}
            </th>
            <th scope="col" className={`${th} text-right`}>
              Runs
            </th>
            <th scope="col" className={`${th} text-right`}>
              Input tokens
            </th>
            <th scope="col" className={`${th} text-right`}>
              Output tokens
            </th>
            <th scope="col" className={`${th} text-right`}>
              Cost
            </th>
          </tr>
        </thead>
        <tbody>
          {rows.map((r) => (
            <tr key={r.key} data-key={r.key} className="border-b border-slate-100 last:border-0 dark:border-slate-800">
              <th scope="row" className={`${th} font-normal`}>
                {keyLabel(group, r.key, names)}
              </th>
              <td className={`${td} text-right`}>{r.runs.toLocaleString('en-US')}</td>
              <td className={`${td} text-right`}>{r.inputTokens.toLocaleString('en-US')}</td>
              <td className={`${td} text-right`}>{r.outputTokens.toLocaleString('en-US')}</td>
              <td className={`${td} text-right`}>{money(r.costUsd)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

function SeriesTable({ report, group, names, bucket }: { report: UsageReport; group: UsageSeriesGroup; names: Record<string, string>; bucket: UsageBucket }) {
  const rows = [...(report.series ?? [])].reverse();
  return (
    <details>
      <summary className="cursor-pointer text-sm text-slate-700 dark:text-slate-300">
        {plural(rows.length, 'row')}: every {bucket} and {group} with usage, newest first
      </summary>
      <div className="mt-2 max-h-96 overflow-auto">
        <table className="w-full text-sm" data-testid="usage-series-table">
          <caption className="sr-only">
            Usage per {bucket} and {group}
          </caption>
          <thead className="sticky top-0 border-b border-slate-200 bg-white text-xs text-slate-600 dark:border-slate-800 dark:bg-slate-900 dark:text-slate-300">
            <tr>
              <th scope="col" className={th}>
                {bucket[0]!.toUpperCase() + bucket.slice(1)}
              </th>
              <th scope="col" className={th}>
                {group[0]!.toUpperCase() + group.slice(1)}
              </th>
              <th scope="col" className={`${th} text-right`}>
                Runs
              </th>
              <th scope="col" className={`${th} text-right`}>
                Tokens
              </th>
              <th scope="col" className={`${th} text-right`}>
                Cost
              </th>
            </tr>
          </thead>
          <tbody>
            {rows.map((r) => (
              <tr key={`${r.bucket} ${r.key}`} className="border-b border-slate-100 last:border-0 dark:border-slate-800">
                <td className={`${td} whitespace-nowrap`}>{r.bucket}</td>
                <td className="px-2 py-1">{keyLabel(group, r.key, names)}</td>
                <td className={`${td} text-right`}>{r.runs.toLocaleString('en-US')}</td>
                <td className={`${td} text-right`}>{metricOf(r, 'tokens').toLocaleString('en-US')}</td>
                <td className={`${td} text-right`}>{money(r.costUsd)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </details>
  );
}

function TopConversations({ items }: { items: ConversationUsage[] | null }) {
  if (items === null) return <p className="text-sm text-slate-600 dark:text-slate-300">Loading…</p>;
  if (items.length === 0) return <p className="text-sm text-slate-600 dark:text-slate-300">No conversations in this range.</p>;
  return (
    <ol className="divide-y divide-slate-200 text-sm dark:divide-slate-800" data-testid="top-conversations">
      {items.map((c) => (
        <li key={c.key}>
          <Link href={`/conversations/view?id=${encodeURIComponent(c.key)}`} className="flex flex-wrap items-center gap-x-3 gap-y-1 py-2 hover:bg-slate-50 dark:hover:bg-slate-800/50">
            <span className="min-w-0 flex-1 basis-40 truncate font-medium">{c.title || '(untitled)'}</span>
            <span className="text-xs text-slate-600 dark:text-slate-300">
              {c.teamId ? `#${c.teamId}` : `@${c.rootAgentId}`} · {c.runs} {c.runs === 1 ? 'run' : 'runs'} · {formatTokens(c.inputTokens + c.outputTokens)} tokens
            </span>
            <span className="ml-auto w-16 text-right font-semibold tabular-nums">{money(c.costUsd)}</span>
          </Link>
        </li>
      ))}
    </ol>
  );
}
