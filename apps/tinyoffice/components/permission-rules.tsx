'use client';
/**
 * An agent's permission rules as rows (docs/approvals.md): a decision (allow, ask, deny) and what
 * the rule matches (tool, command and path globs; empty: any). A rule's keys a row does not show
 * (`input`, `sandboxed`) are kept as they are and named under the row. The form holds the list as
 * its JSON text, so saving, merge-patching and following the agent's reloads work as for any field.
 */
import type { ReactNode } from 'react';
import type { PermissionRule } from '@tinyagi/client';
import { idOf, INPUT } from '@/components/form';
import { Button } from '@/components/ui';
import type { FieldIssues } from '@/lib/field-issues';

type Row = Record<string, unknown>;
const DECISIONS: ReadonlyArray<PermissionRule['action']> = ['allow', 'ask', 'deny'];
const MATCHES = [
  { key: 'tool', label: 'Tool', placeholder: 'any tool, e.g. Bash' },
  { key: 'command', label: 'Command', placeholder: 'any command, e.g. git *' },
  { key: 'path', label: 'Path', placeholder: 'any path, or inside / outside' },
] as const;
const SHOWN = new Set(['action', ...MATCHES.map((m) => m.key)]);

/** The rows of the field's text: a list of objects, else none (the schema then names the fault). */
export function rulesOf(text: string): Row[] {
  if (text.trim() === '') return [];
  try {
    const parsed: unknown = JSON.parse(text);
    return Array.isArray(parsed) ? parsed.map((r) => (r !== null && typeof r === 'object' ? { ...(r as Row) } : {})) : [];
  } catch {
    return [];
  }
}

const textOf = (rows: Row[]): string => (rows.length === 0 ? '' : JSON.stringify(rows, null, 2));

function RuleRow({ row, index, onChange, onRemove }: { row: Row; index: number; onChange: (row: Row) => void; onRemove: () => void }) {
  const set = (key: string, value: string) => {
    const next = { ...row };
    if (value.trim() === '') delete next[key];
    else next[key] = value;
    onChange(next);
  };
  const kept = Object.keys(row).filter((k) => !SHOWN.has(k));
  const n = index + 1;
  return (
    <li className="grid grid-cols-[7rem_1fr_1fr_1fr_auto] items-start gap-2" data-rule={index}>
      <select aria-label={`Rule ${n} decision`} className={INPUT} value={typeof row['action'] === 'string' ? row['action'] : ''} onChange={(e) => set('action', e.target.value)}>
        {typeof row['action'] !== 'string' && <option value="">(choose)</option>}
        {DECISIONS.map((d) => (
          <option key={d} value={d}>
            {d}
          </option>
        ))}
      </select>
      {MATCHES.map((m) => (
        <input
          key={m.key}
          aria-label={`Rule ${n} ${m.label.toLowerCase()}`}
          className={`${INPUT} font-mono`}
          value={typeof row[m.key] === 'string' ? (row[m.key] as string) : ''}
          placeholder={m.placeholder}
          autoComplete="off"
          spellCheck={false}
          onChange={(e) => set(m.key, e.target.value)}
        />
      ))}
      <Button type="button" aria-label={`Remove rule ${n}`} onClick={onRemove}>
        Remove
      </Button>
      {kept.length > 0 && (
        <p className="col-span-5 text-xs text-slate-600 dark:text-slate-300">Also matches: {kept.map((k) => `${k} ${JSON.stringify(row[k])}`).join(', ')} (kept as set in settings.json).</p>
      )}
    </li>
  );
}

export function PermissionRulesField({
  path,
  label,
  hint,
  value,
  onChange,
  issues,
}: {
  path: string;
  label: string;
  hint?: ReactNode;
  value: string;
  onChange: (value: string) => void;
  issues: FieldIssues;
}) {
  const rows = rulesOf(value);
  const problems = issues[path] ?? [];
  const id = idOf(path);
  const replace = (next: Row[]) => onChange(textOf(next));
  return (
    <fieldset className="flex min-w-0 flex-col gap-2" data-field={path} id={id} aria-describedby={`${id}-hint`}>
      <legend className="text-sm font-medium">{label}</legend>
      {rows.length === 0 ? (
        <p className="text-sm text-slate-600 dark:text-slate-300">No rules: the permission mode decides every request.</p>
      ) : (
        <>
          <div aria-hidden="true" className="grid grid-cols-[7rem_1fr_1fr_1fr_auto] gap-2 text-xs font-medium text-slate-600 dark:text-slate-300">
            <span>Decision</span>
            {MATCHES.map((m) => (
              <span key={m.key}>{m.label}</span>
            ))}
            <span className="invisible">Remove</span>
          </div>
          <ol className="flex flex-col gap-2">
            {rows.map((row, i) => (
              <RuleRow
                // Rows have no ids of their own; their place is their identity while editing.
                key={i}
                row={row}
                index={i}
                onChange={(r) => replace(rows.map((old, j) => (j === i ? r : old)))}
                onRemove={() => replace(rows.filter((_, j) => j !== i))}
              />
            ))}
          </ol>
        </>
      )}
      <div>
        <Button type="button" onClick={() => replace([...rows, { action: 'ask' }])}>
          Add rule
        </Button>
      </div>
      {hint && (
        <p id={`${id}-hint`} className="text-xs text-slate-600 dark:text-slate-300">
          {hint}
        </p>
      )}
      {problems.length > 0 && (
        <p data-testid={`field-error-${path}`} className="text-xs text-red-700 dark:text-red-300">
          <code className="font-mono">{path}</code>: {problems.join('; ')}
        </p>
      )}
    </fieldset>
  );
}
