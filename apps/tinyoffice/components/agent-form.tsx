'use client';
/**
 * Create or edit an agent: the fields are checked with the contract's AgentFormSchema (the
 * schema PUT /api/agents/:id validates with) before anything is sent, and the server's own
 * refusals (rules across the whole settings file) land next to the same fields. Editing sends a
 * merge-patch of the fields that changed, so keys the form does not show (heartbeat when
 * untouched, mock scripts, steering, …) are never dropped.
 */
import { useEffect, useMemo, useRef, useState } from 'react';
import { isApiError, type Agent } from '@tinyagi/client';
import { api, messageOf } from '@/lib/api';
import { loadContract, useContract } from '@/lib/contract';
import { fromApiError, fromZodIssues, type FieldIssues } from '@/lib/field-issues';
import { getPath, setPath, type Json } from '@/lib/object-path';
import { BooleanField, IssueSummary, SavedNote, SelectField, TextField } from '@/components/form';
import { Button } from '@/components/ui';

type Kind = 'text' | 'number' | 'textarea' | 'provider' | 'bool' | 'json';
interface FieldSpec {
  path: string;
  label: string;
  kind: Kind;
  hint?: string;
}

const SECTIONS: Array<{ title: string; fields: FieldSpec[] }> = [
  {
    title: 'Model',
    fields: [
      { path: 'name', label: 'Name', kind: 'text' },
      { path: 'provider', label: 'Provider', kind: 'provider' },
      { path: 'model', label: 'Model', kind: 'text', hint: 'e.g. sonnet, opus, claude-sonnet-4-6, gpt-5; empty: the provider’s default.' },
      {
        path: 'process',
        label: 'Process',
        kind: 'text',
        hint: 'warm: the CLI stays running between messages, one process per open conversation (a few hundred MB each, closed after sessions.idle_minutes unused); per-message: started for every message. Empty: a new CLI agent is made warm, an existing one runs per message.',
      },
      { path: 'working_directory', label: 'Working directory', kind: 'text', hint: 'Empty: its own directory under the workspace.' },
      { path: 'node', label: 'Node', kind: 'text', hint: 'The node that runs it when several share a PostgreSQL database (a worker’s --name); empty: any node.' },
      { path: 'system_prompt', label: 'System prompt', kind: 'textarea' },
    ],
  },
  {
    title: 'Heartbeat',
    fields: [
      { path: 'heartbeat.enabled', label: 'Heartbeat enabled', kind: 'bool' },
      { path: 'heartbeat.interval', label: 'Heartbeat interval (seconds)', kind: 'number' },
    ],
  },
  {
    title: 'Limits',
    fields: [
      { path: 'limits.max_depth', label: 'Max sub-agent depth', kind: 'number' },
      { path: 'limits.max_hops', label: 'Max hops', kind: 'number' },
      { path: 'limits.max_messages', label: 'Max messages per conversation', kind: 'number' },
      { path: 'limits.max_fanout', label: 'Max fan-out', kind: 'number' },
      { path: 'limits.max_children_per_run', label: 'Max children per run', kind: 'number' },
      { path: 'limits.conversation_timeout_s', label: 'Conversation timeout (s)', kind: 'number' },
      { path: 'timeout_s', label: 'Run timeout (s)', kind: 'number' },
      { path: 'max_attempts', label: 'Max attempts', kind: 'number' },
    ],
  },
  {
    title: 'Budgets',
    fields: [
      { path: 'budgets.daily_usd', label: 'Daily budget (USD)', kind: 'number' },
      { path: 'budgets.daily_tokens', label: 'Daily budget (tokens)', kind: 'number' },
    ],
  },
  {
    // docs/approvals.md: the rules are evaluated in the daemon, whatever the CLI.
    title: 'Permissions',
    fields: [
      {
        path: 'permission_mode',
        label: 'Permission mode',
        kind: 'text',
        hint: 'ask: a person answers every request no rule decides (Approvals). Else the CLI’s own mode (default, acceptEdits, plan, bypassPermissions); empty: the runtime’s default.',
      },
      { path: 'permissions.expires_s', label: 'Approval expires after (s)', kind: 'number', hint: 'How long a person has to answer (default 600).' },
      { path: 'permissions.on_expiry', label: 'On expiry', kind: 'text', hint: 'deny (default) or allow; the agent is told either way.' },
      {
        path: 'permissions.rules',
        label: 'Rules (JSON list)',
        kind: 'json',
        hint: 'Any matching deny denies, else any matching ask asks, else a matching allow allows, else the mode decides. Each rule: {"action": "allow" | "deny" | "ask", "tool"?: glob, "command"?: glob, "path"?: "inside" | "outside" | glob, "input"?: the exact tool input}.',
      },
      {
        path: 'permissions.approvers',
        label: 'Approvers (JSON list)',
        kind: 'json',
        hint: 'Who may answer from the chat apps: globs on <channel>:<sender id>, e.g. ["telegram:12345", "slack:U*"]; empty: any paired sender of the conversation’s channel.',
      },
    ],
  },
];
const FIELDS = SECTIONS.flatMap((s) => s.fields);
const NUMBER = /^-?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i;

type Values = Record<string, string>;

function valuesOf(agent: Agent | null): Values {
  const values: Values = {};
  for (const f of FIELDS) {
    const v = agent ? getPath(agent, f.path) : undefined;
    values[f.path] = v === undefined || v === null ? '' : f.kind === 'json' ? JSON.stringify(v, null, 2) : String(v);
  }
  return values;
}

/** The form's fields as an agent settings object (empty fields are left out). */
function configOf(values: Values): Json {
  const out: Json = {};
  for (const f of FIELDS) {
    const raw = values[f.path] ?? '';
    if (raw.trim() === '' && f.kind !== 'textarea') continue;
    if (f.kind === 'textarea' && raw === '') continue;
    // JSON that does not parse is checked before (jsonIssues); here it goes to the schema as typed.
    if (f.kind === 'json') {
      setPath(out, f.path, parseJson(raw) ?? raw);
      continue;
    }
    // A value that is not a number goes to the schema as typed, which names the field at fault.
    const value = f.kind === 'number' ? (NUMBER.test(raw.trim()) ? Number(raw) : raw) : f.kind === 'bool' ? raw === 'true' : f.kind === 'textarea' ? raw : raw.trim();
    setPath(out, f.path, value);
  }
  return out;
}

function parseJson(raw: string): unknown {
  try {
    return JSON.parse(raw) as unknown;
  } catch {
    return undefined;
  }
}

/** JSON fields whose text does not parse, said at the field. */
function jsonIssues(values: Values): FieldIssues {
  const issues: FieldIssues = {};
  for (const f of FIELDS) {
    const raw = (values[f.path] ?? '').trim();
    if (f.kind !== 'json' || raw === '') continue;
    try {
      JSON.parse(raw);
    } catch (err) {
      issues[f.path] = [`not valid JSON: ${err instanceof Error ? err.message : String(err)}`];
    }
  }
  return issues;
}

/** Issues inside a JSON field's value (`permissions.rules[0].action`) are shown at that field, with where. */
function foldIntoJsonFields(issues: FieldIssues): FieldIssues {
  const out: FieldIssues = {};
  for (const [path, messages] of Object.entries(issues)) {
    const field = FIELDS.find((f) => f.kind === 'json' && path !== f.path && (path.startsWith(`${f.path}[`) || path.startsWith(`${f.path}.`)));
    const at = field ? field.path : path;
    const texts = field ? messages.map((m) => `${path.slice(field.path.length)}: ${m}`) : messages;
    out[at] = [...(out[at] ?? []), ...texts];
  }
  return out;
}

/** A merge-patch of what changed: new values set, cleared fields deleted (null); nothing else. */
function patchOf(before: Json, after: Json): Json {
  const patch: Json = {};
  for (const f of FIELDS) {
    const a = getPath(before, f.path);
    const b = getPath(after, f.path);
    if (JSON.stringify(a) !== JSON.stringify(b)) setPath(patch, f.path, b === undefined ? null : b);
  }
  return patch;
}

export function AgentForm({ agent, onSaved }: { agent: Agent | null; onSaved: (agent: Agent) => void }) {
  const editing = agent !== null;
  const [id, setId] = useState('');
  const [values, setValues] = useState<Values>(() => valuesOf(agent));
  const [issues, setIssues] = useState<FieldIssues>({});
  const [error, setError] = useState<string | null>(null);
  const [saving, setSaving] = useState(false);
  const [saved, setSaved] = useState<string | null>(null);
  const [custom, setCustom] = useState<string[]>([]);
  // The registered runtimes (GET /api/kinds: the built-ins and any a plugin added).
  const [runtimes, setRuntimes] = useState<Array<{ name: string; title: string }>>([]);
  // The schema is loaded as the form opens, so a submit does not wait for it.
  useContract();

  // The agent is reloaded on every settings change (this form's own save, the CLI, another tab):
  // fields the person has not edited follow it; what they typed and not yet saved stays.
  const loaded = useRef(values);
  useEffect(() => {
    const next = valuesOf(agent);
    const before = loaded.current;
    loaded.current = next;
    setValues((v) => Object.fromEntries(Object.entries(next).map(([path, value]) => [path, v[path] !== before[path] ? (v[path] ?? value) : value])));
  }, [agent]);
  useEffect(() => {
    api()
      .listCustomProviders()
      .then((list) => setCustom(list.map((p) => `custom:${p.id}`)))
      .catch(() => setCustom([]));
    api()
      .listKinds()
      .then((kinds) => setRuntimes(kinds.runtimes.map((r) => ({ name: r.name, title: r.title }))))
      .catch(() => setRuntimes([]));
  }, []);

  const providers = useMemo(() => {
    const options = [...runtimes.map((r) => ({ value: r.name, label: `${r.name} (${r.title})` })), ...custom.map((n) => ({ value: n, label: n }))];
    const current = values['provider'] ?? '';
    if (current && !options.some((o) => o.value === current)) options.push({ value: current, label: current });
    return [{ value: '', label: '(default runtime)' }, ...options];
  }, [runtimes, custom, values]);

  const set = (path: string) => (value: string) => {
    setValues((v) => ({ ...v, [path]: value }));
    setSaved(null);
  };

  async function save(): Promise<void> {
    setError(null);
    setSaved(null);
    const config = configOf(values);
    let schemas: Awaited<ReturnType<typeof loadContract>>;
    try {
      schemas = await loadContract();
    } catch (err) {
      setError(`Could not load the form's validation: ${messageOf(err)}`);
      return;
    }
    const checked = schemas.AgentFormSchema.safeParse(config);
    const local: FieldIssues = foldIntoJsonFields({ ...(checked.success ? {} : fromZodIssues(checked.error.issues)), ...jsonIssues(values) });
    if (!editing && id.trim() === '') local['id'] = ['an id is required (a-z, 0-9, "_" or "-"; it names the agent’s directory)'];
    setIssues(local);
    if (Object.keys(local).length > 0) return;
    const agentId = editing ? agent.id : id.trim();
    setSaving(true);
    try {
      let result: Agent;
      if (editing) {
        const { id: _id, ...before } = agent;
        result = await api().patchAgent({ params: { id: agentId }, body: patchOf(before, config) });
      } else {
        // Create only: an id an agent or a team already has is refused (409), never overwritten.
        result = (await api().createAgent({ body: { ...config, id: agentId } })).agent;
      }
      setIssues({});
      setSaved(editing ? 'Saved.' : `Created @${result.id}.`);
      onSaved(result);
    } catch (err) {
      if (isApiError(err, 'INVALID_ID') || isApiError(err, 'ALREADY_EXISTS')) setIssues({ id: [err.message] });
      else {
        const mapped = fromApiError(err, ['body.', `agents.${agentId}.`, `agents["${agentId}"].`]);
        if (mapped) setIssues(foldIntoJsonFields(mapped));
        else setError(messageOf(err));
      }
    } finally {
      setSaving(false);
    }
  }

  const placed = new Set(['id', ...FIELDS.map((f) => f.path)]);
  return (
    <form
      aria-label={editing ? `Edit agent ${agent.id}` : 'New agent'}
      className="space-y-4"
      noValidate
      onSubmit={(e) => {
        e.preventDefault();
        void save();
      }}
    >
      {!editing && (
        <TextField path="id" label="Id" value={id} onChange={setId} issues={issues} hint="1-64 characters a-z, 0-9, “_” or “-”: it names the agent’s directory and is how you address it (@id)." />
      )}
      {SECTIONS.map((section) => (
        <fieldset key={section.title} className="min-w-0 rounded border border-slate-200 p-3 dark:border-slate-700">
          <legend className="px-1 text-sm font-semibold">{section.title}</legend>
          <div className="grid gap-3 sm:grid-cols-2">
            {section.fields.map((f) => {
              const common = { path: f.path, label: f.label, issues, ...(f.hint ? { hint: f.hint } : {}) };
              const value = values[f.path] ?? '';
              if (f.kind === 'provider') return <SelectField key={f.path} {...common} value={value} onChange={set(f.path)} options={providers} />;
              if (f.kind === 'bool')
                return (
                  <BooleanField
                    key={f.path}
                    {...common}
                    value={value === '' ? undefined : value === 'true'}
                    onChange={(v) => set(f.path)(v === undefined ? '' : String(v))}
                    defaultLabel="default: on"
                  />
                );
              return (
                <div key={f.path} className={f.kind === 'textarea' || f.kind === 'json' ? 'sm:col-span-2' : ''}>
                  <TextField {...common} value={value} onChange={set(f.path)} {...(f.kind === 'textarea' || f.kind === 'json' ? { rows: 5 } : {})} />
                </div>
              );
            })}
          </div>
        </fieldset>
      ))}
      <IssueSummary issues={issues} placed={placed} />
      {error && (
        <p role="alert" className="text-sm text-red-700 dark:text-red-300">
          {error}
        </p>
      )}
      <div className="flex items-center gap-3">
        <Button type="submit" tone="primary" disabled={saving}>
          {editing ? 'Save changes' : 'Create agent'}
        </Button>
        <SavedNote text={saved} />
      </div>
    </form>
  );
}
