'use client';
/**
 * The daemon log (GET /api/logs: its last lines, the same file `tinyagi logs` reads): filter by
 * level and text, download what is shown, and read it again on demand or every few seconds while
 * "Follow" is on (the log is a file, not an event, so following is a poll the person starts).
 */
import { useCallback, useEffect, useMemo, useState } from 'react';
import { api, messageOf } from '@/lib/api';
import { filterLog, LEVELS, type Level, parseLog } from '@/lib/logs';
import { Code } from '@/components/shell';
import { Button, ErrorLine, Panel } from '@/components/ui';

const COUNTS = [200, 500, 2000] as const;
const FOLLOW_MS = 3000;
const TONE: Record<Level, string> = {
  debug: 'text-slate-600 dark:text-slate-400',
  info: 'text-slate-800 dark:text-slate-200',
  warn: 'text-amber-800 dark:text-amber-300',
  error: 'text-red-800 dark:text-red-300',
};
const field = 'rounded border border-slate-300 bg-white px-2 py-1 text-sm dark:border-slate-600 dark:bg-slate-900';

export default function LogsPage() {
  const [log, setLog] = useState<{ file: string; lines: string[]; truncated: boolean } | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [count, setCount] = useState<number>(500);
  const [level, setLevel] = useState<Level>('info');
  const [search, setSearch] = useState('');
  const [follow, setFollow] = useState(false);

  const load = useCallback(() => {
    api()
      .logs({ query: { lines: count } })
      .then((answer) => {
        setLog(answer);
        setError(null);
      })
      .catch((err: unknown) => setError(messageOf(err)));
  }, [count]);
  useEffect(load, [load]);
  useEffect(() => {
    if (!follow) return;
    const timer = setInterval(load, FOLLOW_MS);
    return () => clearInterval(timer);
  }, [follow, load]);

  const parsed = useMemo(() => parseLog(log?.lines ?? []), [log]);
  const shown = useMemo(() => filterLog(parsed, level, search), [parsed, level, search]);

  const download = () => {
    const url = URL.createObjectURL(new Blob([shown.map((l) => l.raw).join('\n') + (shown.length > 0 ? '\n' : '')], { type: 'text/plain' }));
    const a = document.createElement('a');
    a.href = url;
    a.download = `tinyagi-daemon-${new Date().toISOString().replace(/[:.]/g, '-')}.log`;
    a.click();
    setTimeout(() => URL.revokeObjectURL(url), 0);
  };

  return (
    <div className="space-y-4">
      <h1 className="text-xl font-semibold">Logs</h1>
      <ErrorLine error={error} />
      <Panel title="Daemon log">
        <search>
          <form className="mb-3 flex flex-wrap items-end gap-x-4 gap-y-2 text-sm" onSubmit={(e) => e.preventDefault()} aria-label="Log filters">
            <label className="flex flex-col gap-1">
              <span className="text-xs font-medium text-slate-600 dark:text-slate-300">Level</span>
              <select className={field} value={level} onChange={(e) => setLevel(e.target.value as Level)}>
                {LEVELS.map((l) => (
                  <option key={l} value={l}>
                    {l === 'debug' ? 'everything' : l === 'error' ? 'errors only' : `${l} and worse`}
                  </option>
                ))}
              </select>
            </label>
            <label className="flex min-w-40 flex-1 flex-col gap-1">
              <span className="text-xs font-medium text-slate-600 dark:text-slate-300">Search</span>
              <input type="search" className={field} value={search} placeholder="text, scope or id" onChange={(e) => setSearch(e.target.value)} />
            </label>
            <label className="flex flex-col gap-1">
              <span className="text-xs font-medium text-slate-600 dark:text-slate-300">Last lines</span>
              <select className={field} value={count} onChange={(e) => setCount(Number(e.target.value))}>
                {COUNTS.map((c) => (
                  <option key={c} value={c}>
                    {c}
                  </option>
                ))}
              </select>
            </label>
            <div className="flex flex-wrap gap-2">
              <Button onClick={load}>Refresh</Button>
              <Button aria-pressed={follow} onClick={() => setFollow((f) => !f)}>
                Follow
              </Button>
              <Button onClick={download} disabled={shown.length === 0}>
                Download
              </Button>
            </div>
          </form>
        </search>
        <p className="mb-2 text-xs text-slate-600 dark:text-slate-300" role="status" data-testid="log-count">
          {log === null
            ? 'Loading…'
            : `${shown.length} of ${parsed.length} lines${log.truncated ? ` (the last ${parsed.length} of a longer log)` : ''} from ${log.file}. In a terminal: tinyagi logs -f.`}
        </p>
        {log !== null && shown.length === 0 ? (
          <p className="text-sm text-slate-600 dark:text-slate-300">
            {parsed.length === 0 ? 'The log is empty.' : 'No line matches. Pick a lower level or change the search.'} <Code>tinyagi logs all</Code> shows the channels’ logs too.
          </p>
        ) : (
          // biome-ignore lint/a11y/noNoninteractiveTabindex: the log scrolls by itself, so keyboard users must be able to focus it
          <ol tabIndex={0} aria-label="Log lines" data-testid="log-lines" className="max-h-[70vh] overflow-auto rounded bg-slate-50 p-2 font-mono text-xs dark:bg-slate-950">
            {shown.map((l) => (
              <li key={l.n} data-level={l.level} className={`whitespace-pre-wrap break-all ${TONE[l.level]}`}>
                {l.raw}
              </li>
            ))}
          </ol>
        )}
      </Panel>
    </div>
  );
}
