'use client';
/**
 * Create or edit an agent: a short form (id, runtime, model, workspace, sandbox) and the rest
 * under "More". The fields are checked with the contract's AgentFormSchema (the schema PUT
 * /api/agents/:id validates with) before anything is sent, and the server's own refusals (rules
 * across the whole settings file) land next to the same fields. A field left empty is not sent:
 * the daemon applies its defaults, the same for every way of making an agent. Editing sends a
 * merge-patch of the fields that changed, so keys the form does not show (mock scripts,
 * steering, …) are never dropped.
 */
import { type ReactNode, useEffect, useMemo, useRef, useState } from 'react';
import { isApiError, type Agent, type RuntimeKindInfo } from '@tinyagi/client';
import { api, messageOf } from '@/lib/api';
import { loadContract, useContract } from '@/lib/contract';
import { fromApiError, fromZodIssues, type FieldIssues } from '@/lib/field-issues';
import { holdNewAgentNotes } from '@/lib/new-agent-notes';
import { installHintOf, isInstalled, runtimeLabel } from '@/lib/runtimes';
import { BooleanField, IssueSummary, SavedNote, SelectField, TextField } from '@/components/form';
import { FIELDS, MORE_SECTIONS, SHORT_FIELDS, type FieldSpec } from '@/components/agent-form-fields';
import { configOf, foldIntoListFields, patchOf, valuesOf, type Values } from '@/components/agent-form-values';
import { PermissionRulesField } from '@/components/permission-rules';
import { Button } from '@/components/ui';

type Options = ReadonlyArray<{ value: string; label: string }>;

/** The registered runtimes (GET /api/kinds: the built-ins and any a plugin added) and the custom providers. */
function useProviders(current: string): { options: Options; runtimes: RuntimeKindInfo[] } {
  const [custom, setCustom] = useState<string[]>([]);
  const [runtimes, setRuntimes] = useState<RuntimeKindInfo[]>([]);
  useEffect(() => {
    api()
      .listCustomProviders()
      .then((list) => setCustom(list.map((p) => `custom:${p.id}`)))
      .catch(() => setCustom([]));
    api()
      .listKinds()
      .then((kinds) => setRuntimes(kinds.runtimes))
      .catch(() => setRuntimes([]));
  }, []);
  const options = useMemo(() => {
    const list = [...runtimes.map((r) => ({ value: r.name, label: runtimeLabel(r) })), ...custom.map((n) => ({ value: n, label: n }))];
    if (current && !list.some((o) => o.value === current)) list.push({ value: current, label: current });
    return [{ value: '', label: '(default runtime)' }, ...list];
  }, [runtimes, custom, current]);
  return { options, runtimes };
}

/** The field's hint, and what the chosen value means (a choice that says). */
function hintOf(f: FieldSpec, value: string): ReactNode {
  const meaning = f.meanings?.[value];
  if (!meaning) return f.hint;
  return (
    <>
      <span className="block font-medium text-slate-800 dark:text-slate-100">
        {value}: {meaning}.
      </span>
      {f.hint}
    </>
  );
}

interface AgentFieldProps {
  f: FieldSpec;
  value: string;
  onChange: (v: string) => void;
  issues: FieldIssues;
  providers: Options;
  /** Under the runtime: the chosen one is not installed. */
  runtimeNote?: string | undefined;
}

function AgentField({ f, value, onChange, issues, providers, runtimeNote }: AgentFieldProps) {
  const hint = hintOf(f, value);
  const common = { path: f.path, label: f.label, issues, ...(hint ? { hint } : {}) };
  switch (f.kind) {
    case 'provider':
      return <SelectField {...common} value={value} onChange={onChange} options={providers} {...(runtimeNote ? { hint: <RuntimeNote text={runtimeNote} /> } : {})} />;
    case 'choice': {
      const choices = f.choices ?? [];
      const known = value === '' || choices.some((c) => c.value === value);
      const options = [{ value: '', label: `(${f.defaultLabel ?? 'default'})` }, ...choices, ...(known ? [] : [{ value, label: value }])];
      return <SelectField {...common} value={value} onChange={onChange} options={options} />;
    }
    case 'bool':
      return <BooleanField {...common} value={value === '' ? undefined : value === 'true'} onChange={(v) => onChange(v === undefined ? '' : String(v))} defaultLabel="default: on" />;
    case 'rules':
      return (
        <div className="sm:col-span-2">
          <PermissionRulesField {...common} value={value} onChange={onChange} />
        </div>
      );
    default: {
      const wide = f.kind === 'textarea' || f.kind === 'lines';
      return (
        <div className={wide ? 'sm:col-span-2' : ''}>
          <TextField {...common} value={value} onChange={onChange} {...(wide ? { rows: f.kind === 'lines' ? 3 : 5 } : {})} />
        </div>
      );
    }
  }
}

/** Under the runtime: its CLI is not on the daemon's PATH, and how to install it. */
function RuntimeNote({ text }: { text: string }) {
  return (
    <span data-testid="runtime-not-installed" className="text-amber-900 dark:text-amber-200">
      {text}
    </span>
  );
}

function runtimeNoteOf(runtime: RuntimeKindInfo | undefined): string | undefined {
  if (!runtime || isInstalled(runtime)) return undefined;
  return `Not installed: ${installHintOf(runtime)}. Its messages fail until it is installed.`;
}

const MORE_PATHS = new Set(MORE_SECTIONS.flatMap((s) => s.fields.map((f) => f.path)));

export function AgentForm({ agent, onSaved }: { agent: Agent | null; onSaved: (agent: Agent) => void }) {
  const editing = agent !== null;
  const [id, setId] = useState('');
  const [values, setValues] = useState<Values>(() => valuesOf(agent));
  const [issues, setIssues] = useState<FieldIssues>({});
  const [error, setError] = useState<string | null>(null);
  const [saving, setSaving] = useState(false);
  const [saved, setSaved] = useState<string | null>(null);
  const [more, setMore] = useState(false);
  const { options: providers, runtimes } = useProviders(values['provider'] ?? '');
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

  const set = (path: string) => (value: string) => {
    setValues((v) => ({ ...v, [path]: value }));
    setSaved(null);
  };
  // A problem in a field under "More" opens it, so the person sees where.
  const show = (found: FieldIssues) => {
    setIssues(found);
    if (Object.keys(found).some((path) => MORE_PATHS.has(path))) setMore(true);
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
    const local: FieldIssues = foldIntoListFields(checked.success ? {} : fromZodIssues(checked.error.issues));
    if (!editing && id.trim() === '') local['id'] = ['an id is required (a-z, 0-9, "_" or "-"; it names the agent’s directory)'];
    show(local);
    if (Object.keys(local).length > 0) return;
    const agentId = editing ? agent.id : id.trim();
    setSaving(true);
    try {
      let result: Agent;
      if (editing) {
        const { id: _id, sandboxStatus: _status, ...before } = agent;
        result = await api().patchAgent({ params: { id: agentId }, body: patchOf(before, config) });
      } else {
        // Create only: an id an agent or a team already has is refused (409), never overwritten.
        const created = await api().createAgent({ body: { ...config, id: agentId } });
        holdNewAgentNotes(created.agent.id, { notes: created.notes ?? [], warnings: created.warnings ?? [] });
        result = created.agent;
      }
      setIssues({});
      setSaved(editing ? 'Saved.' : `Created @${result.id}.`);
      onSaved(result);
    } catch (err) {
      if (isApiError(err, 'INVALID_ID') || isApiError(err, 'ALREADY_EXISTS')) setIssues({ id: [err.message] });
      else {
        const mapped = fromApiError(err, ['body.', `agents.${agentId}.`, `agents["${agentId}"].`]);
        if (mapped) show(foldIntoListFields(mapped));
        else setError(messageOf(err));
      }
    } finally {
      setSaving(false);
    }
  }

  const runtimeNote = runtimeNoteOf(runtimes.find((r) => r.name === values['provider']));
  const field = (f: FieldSpec) => <AgentField key={f.path} f={f} value={values[f.path] ?? ''} onChange={set(f.path)} issues={issues} providers={providers} runtimeNote={runtimeNote} />;
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
      <div className="grid gap-3 sm:grid-cols-2">
        {!editing && (
          <TextField path="id" label="Id" value={id} onChange={setId} issues={issues} hint="1-64 characters a-z, 0-9, “_” or “-”: it names the agent’s directory and is how you address it (@id)." />
        )}
        {SHORT_FIELDS.map(field)}
      </div>
      <details open={more} onToggle={(e) => setMore(e.currentTarget.open)} className="rounded border border-slate-200 dark:border-slate-700">
        <summary className="cursor-pointer px-3 py-2 text-sm font-semibold">More: name, process, permissions, heartbeat, limits, budgets</summary>
        <div className="space-y-4 p-3 pt-0">
          {MORE_SECTIONS.map((section) => (
            <fieldset key={section.title} className="min-w-0 rounded border border-slate-200 p-3 dark:border-slate-700">
              <legend className="px-1 text-sm font-semibold">{section.title}</legend>
              <div className="grid gap-3 sm:grid-cols-2">{section.fields.map(field)}</div>
            </fieldset>
          ))}
        </div>
      </details>
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
