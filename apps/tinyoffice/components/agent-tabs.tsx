'use client';
/** An agent's workspace tabs: system prompt (AGENTS.md), memory, heartbeat, skills, usage. */
import Link from 'next/link';
import { useEffect, useState } from 'react';
import { api, messageOf } from '@/lib/api';
import { loadContract, useContract } from '@/lib/contract';
import { fromApiError, fromZodIssues, type FieldIssues } from '@/lib/field-issues';
import { memoryHref } from '@/lib/memory';
import { useLiveEvents } from '@/lib/use-events';
import { BooleanField, IssueSummary, SavedNote, TextField } from '@/components/form';
import { Button, ErrorLine, Panel, money } from '@/components/ui';

/** Loads once per agent; `reload` after a save. */
function useLoad<T>(load: () => Promise<T>, deps: unknown[]): { data: T | null; error: string | null; reload: () => void } {
  const [data, setData] = useState<T | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [tick, setTick] = useState(0);
  useEffect(() => {
    let live = true;
    load()
      .then((d) => {
        if (!live) return;
        setData(d);
        setError(null);
      })
      .catch((err: unknown) => live && setError(messageOf(err)));
    return () => {
      live = false;
    };
  }, [...deps, tick]);
  return { data, error, reload: () => setTick((t) => t + 1) };
}

export function PromptTab({ id }: { id: string }) {
  const { data, error } = useLoad(() => api().getSystemPrompt({ params: { id } }), [id]);
  const [content, setContent] = useState<string | null>(null);
  const [saved, setSaved] = useState<string | null>(null);
  const [saveError, setSaveError] = useState<string | null>(null);
  const value = content ?? data?.content ?? '';
  return (
    <Panel title="System prompt (AGENTS.md)">
      <ErrorLine error={error ?? saveError} />
      {data && <p className="mb-2 font-mono text-xs text-slate-600 dark:text-slate-300">{data.path}</p>}
      <label htmlFor="prompt-editor" className="sr-only">
        AGENTS.md
      </label>
      <textarea
        id="prompt-editor"
        rows={18}
        className="w-full rounded border border-slate-300 bg-white p-2 font-mono text-sm dark:border-slate-600 dark:bg-slate-900"
        value={value}
        onChange={(e) => {
          setContent(e.target.value);
          setSaved(null);
        }}
      />
      <div className="mt-2 flex items-center gap-3">
        <Button
          tone="primary"
          disabled={content === null}
          onClick={() => {
            setSaveError(null);
            api()
              .putSystemPrompt({ params: { id }, body: { content: value } })
              .then(() => {
                setSaved('Saved AGENTS.md.');
                setContent(null);
                if (data) data.content = value;
              })
              .catch((err: unknown) => setSaveError(messageOf(err)));
          }}
        >
          Save AGENTS.md
        </Button>
        <SavedNote text={saved} />
      </div>
    </Panel>
  );
}

export function MemoryTab({ id }: { id: string }) {
  const { data, error } = useLoad(() => api().getMemory({ params: { id } }), [id]);
  return (
    <Panel title="Memory files">
      <p className="mb-3 text-sm">
        These are the agent&apos;s own notes (memory/*.md in its workspace). What it proposes to remember, what you accepted and its history are on the{' '}
        <Link className="underline" href={memoryHref({ kind: 'agent', id })}>
          memory page
        </Link>
        .
      </p>
      <ErrorLine error={error} />
      {data && (
        <>
          <p className="mb-3 font-mono text-xs text-slate-600 dark:text-slate-300">{data.memoryDir}</p>
          {data.entries.length === 0 ? (
            <p className="text-sm text-slate-600 dark:text-slate-300">No memories yet. The agent writes them to memory/*.md in its workspace as it works.</p>
          ) : (
            <ul className="divide-y divide-slate-200 dark:divide-slate-800" data-testid="memory-entries">
              {data.entries.map((m) => (
                <li key={m.path} className="py-2">
                  <div className="font-medium">{m.name}</div>
                  <div className="text-sm text-slate-700 dark:text-slate-300">{m.summary}</div>
                  <div className="font-mono text-xs text-slate-600 dark:text-slate-400">{m.path}</div>
                </li>
              ))}
            </ul>
          )}
          {data.index && (
            <details className="mt-3">
              <summary className="cursor-pointer text-sm">Memory index as the agent sees it</summary>
              <pre className="mt-2 overflow-auto rounded bg-slate-100 p-2 text-xs dark:bg-slate-800">{data.index}</pre>
            </details>
          )}
        </>
      )}
    </Panel>
  );
}

export function HeartbeatTab({ id }: { id: string }) {
  const { data, error, reload } = useLoad(() => api().getHeartbeat({ params: { id } }), [id]);
  const [form, setForm] = useState<{ enabled: boolean | undefined; interval: string; content: string } | null>(null);
  const [issues, setIssues] = useState<FieldIssues>({});
  const [saved, setSaved] = useState<string | null>(null);
  const [saveError, setSaveError] = useState<string | null>(null);
  useEffect(() => {
    if (data) setForm({ enabled: data.enabled, interval: String(data.interval), content: data.content });
  }, [data]);
  useLiveEvents((events) => {
    if (form === null && events.some((e) => e.type === 'settings.changed')) reload();
  });
  useContract(); // starts loading the schema the save checks with
  if (!form) return <Panel title="Heartbeat">{error ? <ErrorLine error={error} /> : <p>Loading…</p>}</Panel>;
  const save = async () => {
    setSaved(null);
    setSaveError(null);
    const body = { enabled: form.enabled ?? true, interval: /^\d+(\.\d+)?$/.test(form.interval.trim()) ? Number(form.interval) : form.interval, content: form.content };
    let schemas: Awaited<ReturnType<typeof loadContract>>;
    try {
      schemas = await loadContract();
    } catch (err) {
      setSaveError(`Could not load the form's validation: ${messageOf(err)}`);
      return;
    }
    const checked = schemas.apiContract.putHeartbeat.body.safeParse(body);
    if (!checked.success) return setIssues(fromZodIssues(checked.error.issues));
    setIssues({});
    api()
      .putHeartbeat({ params: { id }, body: checked.data })
      .then((view) => {
        setForm({ enabled: view.enabled, interval: String(view.interval), content: view.content });
        setSaved('Saved the heartbeat.');
      })
      .catch((err: unknown) => {
        const mapped = fromApiError(err, ['body.']);
        if (mapped) setIssues(mapped);
        else setSaveError(messageOf(err));
      });
  };
  return (
    <Panel title="Heartbeat">
      <p className="mb-3 text-sm text-slate-700 dark:text-slate-300">
        Every interval the agent receives heartbeat.md as a message (quiet hours in settings pause it).
        {data && <span className="block font-mono text-xs text-slate-600 dark:text-slate-400">{data.path}</span>}
      </p>
      <form
        className="space-y-3"
        noValidate
        onSubmit={(e) => {
          e.preventDefault();
          void save();
        }}
      >
        <div className="grid gap-3 sm:grid-cols-2">
          <BooleanField path="enabled" label="Enabled" issues={issues} value={form.enabled} onChange={(enabled) => setForm({ ...form, enabled })} defaultLabel="on" />
          <TextField path="interval" label="Interval (seconds, 10 to 604800)" type="number" issues={issues} value={form.interval} onChange={(interval) => setForm({ ...form, interval })} />
        </div>
        <TextField path="content" label="heartbeat.md" rows={10} issues={issues} value={form.content} onChange={(content) => setForm({ ...form, content })} />
        <IssueSummary issues={issues} placed={new Set(['enabled', 'interval', 'content'])} />
        <ErrorLine error={saveError} />
        <div className="flex items-center gap-3">
          <Button type="submit" tone="primary">
            Save heartbeat
          </Button>
          <SavedNote text={saved} />
        </div>
      </form>
    </Panel>
  );
}

export function SkillsTab({ id }: { id: string }) {
  const { data, error } = useLoad(() => api().getSkills({ params: { id } }), [id]);
  return (
    <Panel title="Skills">
      <ErrorLine error={error} />
      {data?.length === 0 && <p className="text-sm text-slate-600 dark:text-slate-300">No skills installed. Skills live in .agents/skills/&lt;name&gt;/SKILL.md in the agent’s workspace.</p>}
      <ul className="grid gap-2 sm:grid-cols-2">
        {data?.map((s) => (
          <li key={s.id} className="rounded border border-slate-200 p-2 dark:border-slate-700">
            <div className="font-medium">{s.name}</div>
            <div className="text-sm text-slate-700 dark:text-slate-300">{s.description}</div>
          </li>
        ))}
      </ul>
    </Panel>
  );
}

const DAY = 86_400_000;
const PERIODS = [
  ['Last 24 hours', DAY],
  ['Last 7 days', 7 * DAY],
  ['Last 30 days', 30 * DAY],
  ['All time', null],
] as const;

export function UsageTab({ id }: { id: string }) {
  const { data, error, reload } = useLoad(
    () =>
      Promise.all(
        PERIODS.map(([, span]) => {
          const since = span === null ? undefined : Date.now() - span;
          return api()
            .usage({ query: { by: 'agent', ...(since !== undefined ? { since } : {}) } })
            .then((r) => r.rows.find((row) => row.key === id) ?? null);
        }),
      ),
    [id],
  );
  useLiveEvents((events) => {
    if (events.some((e) => e.agentId === id && e.type === 'run.completed')) reload();
  });
  const empty: { runs: number; inputTokens: number; outputTokens: number; costUsd: number } = { runs: 0, inputTokens: 0, outputTokens: 0, costUsd: 0 };
  return (
    <Panel title="Usage">
      <ErrorLine error={error} />
      <table className="w-full text-left text-sm" data-testid="agent-usage">
        <thead className="text-xs uppercase text-slate-600 dark:text-slate-300">
          <tr>
            <th className="py-1">Period</th>
            <th className="text-right">Runs</th>
            <th className="text-right">Input tokens</th>
            <th className="text-right">Output tokens</th>
            <th className="text-right">Cost</th>
          </tr>
        </thead>
        <tbody>
          {PERIODS.map(([label], i) => {
            const row = data?.[i] ?? empty;
            return (
              <tr key={label} className="border-t border-slate-200 dark:border-slate-800">
                <td className="py-1.5">{label}</td>
                <td className="text-right tabular-nums">{row.runs}</td>
                <td className="text-right tabular-nums">{row.inputTokens.toLocaleString()}</td>
                <td className="text-right tabular-nums">{row.outputTokens.toLocaleString()}</td>
                <td className="text-right tabular-nums">{money(row.costUsd)}</td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </Panel>
  );
}
