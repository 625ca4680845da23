'use client';
/**
 * Settings: a form generated from the contract's SettingsFileSchema (one section per top-level
 * key, and the Channels section one field per key of each registered channel kind's block, from
 * `GET /api/kinds`), checked with that schema before saving and by the daemon after, every problem shown at
 * its settings path; secrets masked with set / replace / clear; and a raw JSON view that refuses
 * invalid JSON or invalid settings. Changes made elsewhere (the CLI, a hand edit of
 * settings.json) arrive as settings.changed events and show up here at once; fields being
 * edited keep what the user typed.
 */
import Link from 'next/link';
import { type RefObject, useCallback, useEffect, useMemo, useRef, useState } from 'react';
import { api, messageOf } from '@/lib/api';
import { loadContract, useContract } from '@/lib/contract';
import { fromApiError, fromZodIssues, issuesUnder, type FieldIssues } from '@/lib/field-issues';
import { getPath, type Json } from '@/lib/object-path';
import { MANAGED_ELSEWHERE, applyEdits, display, mergePatch, sectionsOf, type ChannelKindForm, type Leaf, type Section } from '@/lib/settings-form';
import { useLiveEvents } from '@/lib/use-events';
import { focusField, INPUT, ProblemSummary, SavedNote, SelectField, TextField, type Problem } from '@/components/form';
import { Button, ErrorLine, Panel } from '@/components/ui';

export default function SettingsPage() {
  const [base, setBase] = useState<Json | null>(null);
  const [secrets, setSecrets] = useState<Map<string, boolean>>(new Map());
  const [edits, setEdits] = useState<Record<string, string | null>>({});
  const [issues, setIssues] = useState<FieldIssues>({});
  const [error, setError] = useState<string | null>(null);
  const [saved, setSaved] = useState<string | null>(null);
  const [version, setVersion] = useState(0);
  const [raw, setRaw] = useState(false);
  // The form is generated from the settings schema, which is loaded after the page (zod is ~40 KiB).
  const { contract, error: contractError } = useContract();
  // The channel kinds registered in the daemon: each one's block is part of the Channels section.
  const [channelKinds, setChannelKinds] = useState<ChannelKindForm[] | null>(null);
  const sections = useMemo(() => (contract && channelKinds ? sectionsOf(contract.SettingsFileSchema, channelKinds) : null), [contract, channelKinds]);
  const leafByPath = useMemo(() => new Map((sections ?? []).flatMap((s) => s.leaves.map((l) => [l.path, l] as const))), [sections]);
  // After a refused save: focus goes to the first problem's field (or the summary, in the save bar, when no field shows it) once it has rendered.
  const [refusals, setRefusals] = useState(0);
  const summaryRef = useRef<HTMLDivElement>(null);
  const problems = useMemo(() => problemsInOrder(issues, sections ?? [], leafByPath), [issues, sections, leafByPath]);
  useEffect(() => {
    if (refusals === 0) return;
    const first = problems[0];
    if (!(first?.target !== undefined && focusField(first.target))) summaryRef.current?.focus();
  }, [refusals]);

  const load = useCallback(() => {
    Promise.all([api().getSettings(), api().getSecretStatus(), api().listKinds()])
      .then(([settings, status, kinds]) => {
        setChannelKinds(kinds.channels);
        setBase(settings as Json);
        setSecrets(new Map(status.secrets.map((s) => [s.path, s.set])));
        setVersion((v) => v + 1);
        setError(null);
      })
      .catch((err: unknown) => setError(messageOf(err)));
  }, []);
  useEffect(load, [load]);
  useLiveEvents((events) => {
    if (events.some((e) => e.type === 'settings.changed')) load();
  });

  // A link to a section (/settings#section-budgets, from Usage) lands there once the form has rendered.
  const formReady = base !== null && sections !== null;
  useEffect(() => {
    if (!formReady || !window.location.hash.startsWith('#section-')) return;
    const section = document.getElementById(window.location.hash.slice(1));
    section?.scrollIntoView({ block: 'start' });
    section?.querySelector<HTMLElement>('input, select, textarea, button')?.focus({ preventScroll: true });
  }, [formReady]);

  const draft = useMemo(() => (base ? applyEdits(base, edits, leafByPath) : null), [base, edits, leafByPath]);
  const dirty = Object.keys(edits).length > 0;

  async function save(next: Json): Promise<boolean> {
    setSaved(null);
    setError(null);
    let schemas: Awaited<ReturnType<typeof loadContract>>;
    try {
      schemas = await loadContract();
    } catch (err) {
      setError(`Could not load the settings schema: ${messageOf(err)}`);
      return false;
    }
    const checked = schemas.SettingsFileSchema.safeParse(next);
    if (!checked.success) {
      setIssues(fromZodIssues(checked.error.issues));
      setRefusals((n) => n + 1);
      return false;
    }
    setIssues({});
    try {
      const written = await api().patchSettings({ body: mergePatch(base, next) as Json });
      setBase(written as Json);
      setEdits({});
      setSaved('Saved to settings.json.');
      api()
        .getSecretStatus()
        .then((s) => setSecrets(new Map(s.secrets.map((x) => [x.path, x.set]))))
        .catch(() => {});
      return true;
    } catch (err) {
      const mapped = fromApiError(err, ['body.']);
      if (mapped) {
        setIssues(mapped);
        setRefusals((n) => n + 1);
      } else setError(messageOf(err));
      return false;
    }
  }

  if (!base || !draft || !sections) {
    const failed = error ?? (contractError ? `Could not load the form: ${messageOf(contractError)}. Reload the page to try again.` : null);
    return <SettingsLoading failed={failed} loaded={base !== null} />;
  }
  /** `undefined` drops the field's edit (back to what settings.json holds). */
  const edit = (path: string) => (text: string | null | undefined) => {
    setEdits((e) => {
      const { [path]: _dropped, ...rest } = e;
      return text === undefined ? rest : { ...rest, [path]: text };
    });
    setSaved(null);
  };

  return (
    <div className="space-y-4" data-settings-version={version}>
      <div className="flex flex-wrap items-center gap-3">
        <h1 className="text-xl font-semibold">Settings</h1>
        <fieldset aria-label="View" className="ml-auto flex gap-1">
          <Button aria-pressed={!raw} onClick={() => setRaw(false)}>
            Form
          </Button>
          <Button aria-pressed={raw} onClick={() => setRaw(true)}>
            Raw JSON
          </Button>
        </fieldset>
      </div>
      {raw ? (
        <RawJson key={version} base={base} onSave={save} issues={issues} saved={saved} />
      ) : (
        <form
          aria-label="Settings"
          className="space-y-4"
          noValidate
          onSubmit={(e) => {
            e.preventDefault();
            void save(draft);
          }}
        >
          {sections.map((section) => (
            <SectionPanel key={section.key} section={section} base={base} secrets={secrets} edits={edits} issues={issues} edit={edit} onRaw={() => setRaw(true)} />
          ))}
          <ErrorLine error={error} />
          <SaveBar
            problems={problems}
            summaryRef={summaryRef}
            dirty={dirty}
            saved={saved}
            onDiscard={() => {
              setEdits({});
              setIssues({});
            }}
          />
        </form>
      )}
    </div>
  );
}

/** One section of the form: its fields (a secret as set / replace / clear), or, for what another page manages, a pointer there. */
function SectionPanel({
  section,
  base,
  secrets,
  edits,
  issues,
  edit,
  onRaw,
}: {
  section: Section;
  base: Json;
  secrets: Map<string, boolean>;
  edits: Record<string, string | null>;
  issues: FieldIssues;
  edit: (path: string) => (text: string | null | undefined) => void;
  onRaw: () => void;
}) {
  return section.key in MANAGED_ELSEWHERE ? (
    <Panel id={`section-${section.key}`} title={section.title}>
      <div data-field={section.key} className="scroll-my-24">
        <ManagedElsewhere section={section.key} title={section.title} count={Object.keys((base[section.key] as Json | undefined) ?? {}).length} onRaw={onRaw} />
        <IssueList issues={issuesUnder(issues, section.key)} />
      </div>
    </Panel>
  ) : (
    <Panel id={`section-${section.key}`} title={section.title}>
      <div className="grid gap-3 sm:grid-cols-2 lg:grid-cols-3">
        {section.leaves.map((leaf) =>
          secrets.has(leaf.path) ? (
            <SecretField key={leaf.path} leaf={leaf} set={secrets.get(leaf.path) === true} masked={getPath(base, leaf.path)} edit={edits[leaf.path]} onEdit={edit(leaf.path)} issues={issues} />
          ) : (
            <LeafField key={leaf.path} leaf={leaf} value={edits[leaf.path] ?? display(leaf, getPath(base, leaf.path))} onChange={edit(leaf.path)} issues={issues} />
          ),
        )}
      </div>
    </Panel>
  );
}

/** The page before its form can show: loading (the settings, then the form's schema), or why it could not load. */
function SettingsLoading({ failed, loaded }: { failed: string | null; loaded: boolean }) {
  return (
    <div className="space-y-4">
      <h1 className="text-xl font-semibold">Settings</h1>
      {failed ? (
        <ErrorLine error={failed} />
      ) : (
        <p role="status" aria-live="polite" aria-busy="true">
          {loaded ? 'Loading the form…' : 'Loading…'}
        </p>
      )}
    </div>
  );
}

/** The sticky save bar: the problems that stopped the last save, Save, Discard changes and what was saved. */
function SaveBar({
  problems,
  summaryRef,
  dirty,
  saved,
  onDiscard,
}: {
  problems: Problem[];
  summaryRef: RefObject<HTMLDivElement | null>;
  dirty: boolean;
  saved: string | null;
  onDiscard: () => void;
}) {
  return (
    <div className="sticky bottom-0 flex flex-wrap items-center gap-3 border-t border-slate-200 bg-white/95 py-2 dark:border-slate-800 dark:bg-slate-950/95">
      {/* In the sticky bar: in view beside whichever field has focus. */}
      <ProblemSummary problems={problems} summaryRef={summaryRef} />
      <Button type="submit" tone="primary" disabled={!dirty}>
        Save settings
      </Button>
      <Button disabled={!dirty} onClick={onDiscard}>
        Discard changes
      </Button>
      <SavedNote text={saved} />
    </div>
  );
}

function LeafField({ leaf, value, onChange, issues }: { leaf: Leaf; value: string; onChange: (text: string) => void; issues: FieldIssues }) {
  const common = { path: leaf.path, label: leaf.label, issues, value, onChange };
  if (leaf.kind === 'boolean')
    return (
      <SelectField
        {...common}
        options={[
          { value: '', label: '(default)' },
          { value: 'true', label: 'yes' },
          { value: 'false', label: 'no' },
        ]}
      />
    );
  if (leaf.kind === 'enum') return <SelectField {...common} options={[{ value: '', label: '(default)' }, ...(leaf.options ?? []).map((o) => ({ value: o, label: o }))]} />;
  return (
    <TextField
      {...common}
      type={leaf.kind === 'number' ? 'number' : 'text'}
      {...(leaf.kind === 'list' ? { hint: 'Comma-separated.' } : leaf.options?.length ? { hint: `One of ${leaf.options.join(', ')}, or custom:<id>.` } : {})}
    />
  );
}

/** A secret: never shown; "set" or "not set", and replace (type a new one) or clear. */
function SecretField({
  leaf,
  set,
  masked,
  edit,
  onEdit,
  issues,
}: {
  leaf: Leaf;
  set: boolean;
  masked: unknown;
  edit: string | null | undefined;
  onEdit: (text: string | null | undefined) => void;
  issues: FieldIssues;
}) {
  const replacing = typeof edit === 'string';
  const state = edit === null ? 'will be cleared' : replacing ? 'will be replaced' : set ? `set (${String(masked)})` : 'not set';
  return (
    <div className="flex flex-col gap-1" data-secret={leaf.path}>
      {replacing ? (
        <TextField path={leaf.path} label={`${leaf.label} (new value)`} type="password" value={edit} onChange={onEdit} issues={issues} />
      ) : (
        <>
          <span className="text-sm font-medium">{leaf.label}</span>
          <span className={`${INPUT} text-slate-700 dark:text-slate-300`} data-testid={`secret-${leaf.path}`}>
            {state}
          </span>
        </>
      )}
      <div className="flex gap-2">
        {!replacing && (
          <Button onClick={() => onEdit('')} aria-label={`${set ? 'Replace' : 'Set'} ${leaf.path}`}>
            {set ? 'Replace' : 'Set'}
          </Button>
        )}
        {set && edit !== null && (
          <Button tone="danger" onClick={() => onEdit(null)} aria-label={`Clear ${leaf.path}`}>
            Clear
          </Button>
        )}
        {edit !== undefined && (
          <Button onClick={() => onEdit(undefined)} aria-label={`Keep the current ${leaf.path}`}>
            Keep current
          </Button>
        )}
      </div>
    </div>
  );
}

function IssueList({ issues }: { issues: Array<{ path: string; message: string }> }) {
  if (issues.length === 0) return null;
  // The alert wraps the list: a <ul role="alert"> is no list to assistive technology (axe listitem).
  return (
    <div role="alert">
      <ul className="mt-2 list-disc pl-6 text-sm text-red-800 dark:text-red-300">
        {issues.map((i) => (
          <li key={`${i.path}:${i.message}`}>
            <code className="font-mono">{i.path}</code>: {i.message}
          </li>
        ))}
      </ul>
    </div>
  );
}

/** Entity maps edited on their own pages; custom providers have no page of their own yet (raw JSON or the CLI). */
function ManagedElsewhere({ section, title, count, onRaw }: { section: string; title: string; count: number; onRaw: () => void }) {
  const page = MANAGED_ELSEWHERE[section];
  return (
    <p className="text-sm text-slate-700 dark:text-slate-300">
      {count} configured. Edit them{' '}
      {page ? (
        <>
          on the{' '}
          <Link className="underline" href={page}>
            {title} page
          </Link>{' '}
          or{' '}
        </>
      ) : (
        <>
          with <code className="font-mono">tinyagi provider add</code> or{' '}
        </>
      )}
      in the{' '}
      <button type="button" className="underline" onClick={onRaw}>
        JSON view
      </button>
      .
    </p>
  );
}

/**
 * The problems in the order their fields appear (sections, then fields), each pointing at the
 * field, secret or section block that shows it.
 */
function problemsInOrder(issues: FieldIssues, sections: Section[], leaves: Map<string, Leaf>): Problem[] {
  const order = new Map<string, number>();
  for (const section of sections) {
    order.set(section.key, order.size);
    for (const leaf of section.leaves) order.set(leaf.path, order.size);
  }
  const rank = (path: string) => order.get(path) ?? order.get(path.split(/[.[]/)[0]!) ?? Number.MAX_SAFE_INTEGER;
  return Object.entries(issues)
    .sort(([a], [b]) => rank(a) - rank(b))
    .flatMap(([path, messages]) => {
      const section = path.split(/[.[]/)[0]!;
      const target = leaves.has(path) ? path : section in MANAGED_ELSEWHERE && order.has(section) ? section : undefined;
      return messages.map((message) => ({ path, message, ...(target !== undefined ? { target } : {}) }));
    });
}

/** The whole file as JSON (secrets masked: a masked value sent back keeps the stored one). */
function RawJson({ base, onSave, issues, saved }: { base: Json; onSave: (next: Json) => Promise<boolean>; issues: FieldIssues; saved: string | null }) {
  const [text, setText] = useState(() => JSON.stringify(base, null, 2));
  const [problem, setProblem] = useState<string | null>(null);
  const list = Object.entries(issues).flatMap(([path, messages]) => messages.map((message) => ({ path, message })));
  return (
    <Panel title="Raw JSON">
      <p className="mb-2 text-sm text-slate-700 dark:text-slate-300">Secrets stay masked; leave a masked value as it is to keep the stored secret. Nothing is saved unless the whole file is valid.</p>
      <label htmlFor="settings-json" className="sr-only">
        settings.json
      </label>
      <textarea
        id="settings-json"
        rows={24}
        spellCheck={false}
        aria-invalid={problem !== null || list.length > 0}
        aria-describedby="settings-json-problems"
        className={`${INPUT} font-mono`}
        value={text}
        onChange={(e) => {
          setText(e.target.value);
          setProblem(null);
        }}
      />
      <div id="settings-json-problems" data-testid="raw-problems">
        {problem && (
          <p role="alert" className="mt-2 text-sm text-red-800 dark:text-red-300">
            {problem}
          </p>
        )}
        <IssueList issues={list} />
      </div>
      <div className="mt-2 flex gap-2">
        <Button
          tone="primary"
          onClick={() => {
            let parsed: unknown;
            try {
              parsed = JSON.parse(text);
            } catch (err) {
              setProblem(`Not valid JSON: ${messageOf(err)}. Nothing was saved.`);
              return;
            }
            if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
              setProblem('The settings must be a JSON object ({ … }). Nothing was saved.');
              return;
            }
            void onSave(parsed as Json);
          }}
        >
          Save JSON
        </Button>
        <Button onClick={() => setText(JSON.stringify(base, null, 2))}>Revert</Button>
        {saved && (
          <span role="status" className="self-center text-sm text-emerald-800 dark:text-emerald-300">
            {saved}
          </span>
        )}
      </div>
    </Panel>
  );
}
