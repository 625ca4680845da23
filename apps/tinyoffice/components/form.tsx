/**
 * Form fields that show their own problems: each field knows its settings path, and the problems
 * at that path (from the contract's schema in the page, or from the server) appear under it with
 * the path, tied to the input by aria-describedby so a screen reader reads them too.
 */
import type { ReactNode, RefObject } from 'react';
import type { FieldIssues } from '@/lib/field-issues';

export const INPUT =
  'w-full rounded border border-slate-300 bg-white px-2 py-1 text-sm dark:border-slate-600 dark:bg-slate-900 aria-[invalid=true]:border-red-600 dark:aria-[invalid=true]:border-red-400';

export const idOf = (path: string) => `f-${path.replace(/[^A-Za-z0-9_-]/g, '_')}`;

interface FieldProps {
  path: string;
  label: string;
  issues: FieldIssues;
  hint?: ReactNode;
}

/** A field's label, its control (`children`), its hint and its problems. */
export function FieldFrame({ path, label, issues, hint, children }: FieldProps & { children: ReactNode }) {
  const id = idOf(path);
  const problems = issues[path] ?? [];
  return (
    <div className="flex scroll-my-24 flex-col gap-1" data-field={path}>
      <label htmlFor={id} className="text-sm font-medium">
        {label}
      </label>
      {children}
      {hint && (
        <p id={`${id}-hint`} className="text-xs text-slate-600 dark:text-slate-300">
          {hint}
        </p>
      )}
      {problems.length > 0 && (
        <p id={`${id}-error`} data-testid={`field-error-${path}`} className="text-xs text-red-700 dark:text-red-300">
          <code className="font-mono">{path}</code>: {problems.join('; ')}
        </p>
      )}
    </div>
  );
}

/** A control's id, aria-invalid and aria-describedby (its hint when it has one, its problems). */
export function described(path: string, issues: FieldIssues, hint: boolean) {
  const id = idOf(path);
  const ids = [hint ? `${id}-hint` : '', (issues[path]?.length ?? 0) > 0 ? `${id}-error` : ''].filter(Boolean).join(' ');
  return { id, 'aria-invalid': (issues[path]?.length ?? 0) > 0, 'aria-describedby': ids || undefined };
}

export function TextField(
  props: FieldProps & { value: string; onChange: (value: string) => void; type?: 'text' | 'number' | 'password' | 'datetime-local'; placeholder?: string; rows?: number; readOnly?: boolean },
) {
  const { path, issues, hint, value, onChange, type = 'text', placeholder, rows, readOnly } = props;
  const common = { ...described(path, issues, hint !== undefined), className: `${INPUT} ${rows ? 'font-mono' : ''}`, value, placeholder, readOnly };
  return (
    <FieldFrame {...props}>
      {rows ? (
        <textarea {...common} rows={rows} onChange={(e) => onChange(e.target.value)} />
      ) : (
        <input {...common} type={type} step={type === 'number' ? 'any' : undefined} onChange={(e) => onChange(e.target.value)} autoComplete="off" spellCheck={false} />
      )}
    </FieldFrame>
  );
}

export function SelectField(props: FieldProps & { value: string; onChange: (value: string) => void; options: ReadonlyArray<{ value: string; label: string }> }) {
  const { path, issues, hint, value, onChange, options } = props;
  return (
    <FieldFrame {...props}>
      <select {...described(path, issues, hint !== undefined)} className={INPUT} value={value} onChange={(e) => onChange(e.target.value)}>
        {options.map((o) => (
          <option key={o.value} value={o.value}>
            {o.label}
          </option>
        ))}
      </select>
    </FieldFrame>
  );
}

/** A tri-state switch for optional booleans: unset (the default applies), on, off. */
export function BooleanField(props: FieldProps & { value: boolean | undefined; onChange: (value: boolean | undefined) => void; defaultLabel?: string }) {
  const { value, onChange, defaultLabel = 'default' } = props;
  return (
    <SelectField
      {...props}
      value={value === undefined ? '' : String(value)}
      onChange={(v) => onChange(v === '' ? undefined : v === 'true')}
      options={[
        { value: '', label: `(${defaultLabel})` },
        { value: 'true', label: 'yes' },
        { value: 'false', label: 'no' },
      ]}
    />
  );
}

/** Problems the form cannot place next to a field (the whole file, a rule across keys). */
export function IssueSummary({ issues, placed }: { issues: FieldIssues; placed: ReadonlySet<string> }) {
  const rest = Object.entries(issues).filter(([path]) => !placed.has(path));
  if (rest.length === 0) return null;
  // The alert wraps the list (a list with role="alert" is no longer a list to a screen reader).
  return (
    <div role="alert" data-testid="form-issues" className="rounded border border-red-300 bg-red-50 py-1 pr-2 pl-6 text-sm text-red-900 dark:border-red-800 dark:bg-red-950 dark:text-red-200">
      <ul className="list-disc">
        {rest.map(([path, messages]) => (
          <li key={path}>
            <code className="font-mono">{path || '(whole file)'}</code>: {messages.join('; ')}
          </li>
        ))}
      </ul>
    </div>
  );
}

/**
 * Moves focus to the field of a settings path (its input, or the first control of the block that
 * shows it) and scrolls it to the middle of the window, clear of the sticky header and save bar.
 * False when nothing on the page shows that path.
 */
export function focusField(path: string): boolean {
  const target = document.getElementById(idOf(path)) ?? document.querySelector<HTMLElement>(`[data-field="${CSS.escape(path)}"], [data-secret="${CSS.escape(path)}"]`);
  if (!target) return false;
  const control = target.matches('input, select, textarea, button') ? target : (target.querySelector<HTMLElement>('input, select, textarea, button') ?? target);
  control.focus({ preventScroll: true });
  control.scrollIntoView({ block: 'center' });
  return true;
}

/** A problem of a failed save; `target` is the path of the field (or block) that shows it, if any. */
export interface Problem {
  path: string;
  message: string;
  target?: string;
}

/**
 * A failed save's summary: how many problems, and each as a link that moves focus to its field.
 * It sits in the form's sticky save bar, so it stays in view wherever the page scrolls (the page
 * moves focus to the first problem's field, which may be far down); a long list scrolls inside
 * it (at most a third of the window).
 */
export function ProblemSummary({ problems, summaryRef }: { problems: readonly Problem[]; summaryRef?: RefObject<HTMLDivElement | null> }) {
  if (problems.length === 0) return null;
  const count = problems.length === 1 ? 'One problem stops' : `${problems.length} problems stop`;
  return (
    <div
      ref={summaryRef}
      role="alert"
      tabIndex={-1}
      aria-labelledby="problem-summary-title"
      data-testid="problem-summary"
      className="max-h-[33vh] w-full overflow-y-auto rounded-lg border border-red-300 bg-red-50 px-3 py-2 text-sm text-red-900 dark:border-red-800 dark:bg-red-950 dark:text-red-100"
    >
      <h2 id="problem-summary-title" className="font-semibold">
        {count} this save. Nothing was saved.
      </h2>
      <ul className="mt-1 list-disc pl-6">
        {problems.map((p) => (
          <li key={`${p.path}:${p.message}`}>
            {p.target === undefined ? (
              <code className="font-mono">{p.path || '(whole file)'}</code>
            ) : (
              <a
                href={`#${idOf(p.target)}`}
                className="underline"
                onClick={(e) => {
                  e.preventDefault();
                  focusField(p.target!);
                }}
              >
                <code className="font-mono">{p.path}</code>
              </a>
            )}
            : {p.message}
          </li>
        ))}
      </ul>
    </div>
  );
}

/** "Saved …" after a successful save, announced to screen readers; nothing otherwise. */
export function SavedNote({ text }: { text: string | null | undefined }) {
  return text ? (
    <span role="status" className="text-sm text-emerald-800 dark:text-emerald-300">
      {text}
    </span>
  ) : null;
}
