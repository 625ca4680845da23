'use client';
/**
 * The fields of a workflow's input, as lib/json-schema-form.ts made them from its JSON Schema:
 * each with its label (the schema's title, else its key), a mark when required, its description,
 * a hint of what it takes (bounds, one item a line, a pattern the daemon checks), and its problems
 * under it, tied to the control by aria-describedby (ids from components/form.tsx, so focusField
 * finds them).
 */
import type { ReactNode } from 'react';
import { INPUT, idOf } from '@/components/form';
import type { FieldIssues } from '@/lib/field-issues';
import { boundsText, type FormField, type FormValues, INPUT_PATH } from '@/lib/json-schema-form';

interface Props {
  field: FormField;
  values: FormValues;
  issues: FieldIssues;
  onChange: (path: string, value: string | boolean) => void;
}

/** The whole input: a group's fields one under the other, or one JSON field. */
export function InputFields(props: Props) {
  const { field, issues } = props;
  if (field.kind !== 'group') return <Field {...props} />;
  const own = issues[field.path] ?? [];
  return (
    <div className="space-y-3" data-field={field.path}>
      {own.length > 0 && (
        <p role="alert" data-testid={`field-error-${field.path}`} className="text-xs text-red-700 dark:text-red-300">
          <code className="font-mono">{field.path}</code>: {own.join('; ')}
        </p>
      )}
      {field.fields.map((f) => (
        <Field key={f.path} {...props} field={f} />
      ))}
    </div>
  );
}

function Field(props: Props) {
  const { field } = props;
  switch (field.kind) {
    case 'group':
      return <Group {...props} field={field} />;
    case 'boolean':
      return <Checkbox {...props} />;
    case 'choice':
      return <Choice {...props} field={field} />;
    default:
      return <Written {...props} />;
  }
}

/** The hint under a field: what it takes, in words. */
function hintOf(field: FormField): ReactNode {
  switch (field.kind) {
    case 'text': {
      const length = field.minLength !== undefined || field.maxLength !== undefined ? lengthText(field.minLength, field.maxLength) : '';
      const format = field.format !== undefined ? `Format: ${field.format}.` : '';
      const words = [length, format].filter(Boolean).join(' ');
      if (field.pattern === undefined) return words || null;
      return (
        <>
          {words && `${words} `}
          Matches <code className="font-mono">{field.pattern}</code> (the daemon checks it when the run starts).
        </>
      );
    }
    case 'number':
      return `${capital(boundsText(field.bounds))}.`;
    case 'list': {
      const each = field.item === 'number' ? ` Each ${boundsText(field.bounds)}.` : '';
      const count = field.minItems !== undefined ? ` At least ${field.minItems}.` : '';
      return `One per line.${each}${count}`;
    }
    case 'json':
      return field.path === INPUT_PATH && field.why === null ? 'Any JSON: an object, a list, "text" in quotes, a number. Empty: no input.' : `As JSON${field.why ? `: ${field.why}` : ''}.`;
    default:
      return null;
  }
}

const capital = (s: string) => s.charAt(0).toUpperCase() + s.slice(1);

function lengthText(min: number | undefined, max: number | undefined): string {
  if (min !== undefined && max !== undefined) return `${min} to ${max} characters.`;
  return min !== undefined ? `At least ${min} characters.` : `At most ${max} characters.`;
}

function describedBy(field: FormField, issues: FieldIssues, hint: boolean) {
  const id = idOf(field.path);
  const wrong = (issues[field.path]?.length ?? 0) > 0;
  const ids = [field.help ? `${id}-help` : '', hint ? `${id}-hint` : '', wrong ? `${id}-error` : ''].filter(Boolean).join(' ');
  return { id, 'aria-invalid': wrong, 'aria-describedby': ids || undefined, 'aria-required': field.required || undefined };
}

function Label({ field, htmlFor }: { field: FormField; htmlFor?: string }) {
  return (
    <label htmlFor={htmlFor} className="text-sm font-medium">
      {field.label}
      {field.required && (
        <span aria-hidden="true" className="text-red-700 dark:text-red-300">
          {' '}
          *
        </span>
      )}
    </label>
  );
}

/** The help, hint and problems under a control. */
function Notes({ field, issues, hint }: { field: FormField; issues: FieldIssues; hint: ReactNode }) {
  const id = idOf(field.path);
  const problems = issues[field.path] ?? [];
  return (
    <>
      {field.help && (
        <p id={`${id}-help`} className="text-xs text-slate-600 dark:text-slate-300">
          {field.help}
        </p>
      )}
      {hint && (
        <p id={`${id}-hint`} className="text-xs text-slate-600 dark:text-slate-300">
          {hint}
        </p>
      )}
      {problems.length > 0 && (
        <p id={`${id}-error`} data-testid={`field-error-${field.path}`} className="text-xs text-red-700 dark:text-red-300">
          <code className="font-mono">{field.path}</code>: {problems.join('; ')}
        </p>
      )}
    </>
  );
}

/** Text, a number, a list one item a line, or JSON. */
function Written({ field, values, issues, onChange }: Props) {
  const hint = hintOf(field);
  const value = values[field.path];
  const common = { ...describedBy(field, issues, hint !== null), value: typeof value === 'string' ? value : '', onChange: (e: { target: { value: string } }) => onChange(field.path, e.target.value) };
  const multiline = field.kind === 'list' || field.kind === 'json';
  const bounds = field.kind === 'number' ? field.bounds : null;
  return (
    <div className="flex scroll-my-24 flex-col gap-1" data-field={field.path}>
      <Label field={field} htmlFor={common.id} />
      {multiline ? (
        <textarea {...common} rows={field.kind === 'json' ? 5 : 3} spellCheck={false} className={`${INPUT} font-mono`} />
      ) : (
        <input
          {...common}
          type={bounds ? 'number' : 'text'}
          step={bounds ? (bounds.integer ? 1 : 'any') : undefined}
          min={bounds?.minimum ?? bounds?.exclusiveMinimum}
          max={bounds?.maximum ?? bounds?.exclusiveMaximum}
          autoComplete="off"
          spellCheck={false}
          className={INPUT}
        />
      )}
      <Notes field={field} issues={issues} hint={hint} />
    </div>
  );
}

function Choice({ field, values, issues, onChange }: Props & { field: Extract<FormField, { kind: 'choice' }> }) {
  const value = values[field.path];
  return (
    <div className="flex scroll-my-24 flex-col gap-1" data-field={field.path}>
      <Label field={field} htmlFor={idOf(field.path)} />
      <select {...describedBy(field, issues, false)} className={INPUT} value={typeof value === 'string' ? value : ''} onChange={(e) => onChange(field.path, e.target.value)}>
        <option value="">{field.required ? 'Choose…' : '(none)'}</option>
        {field.options.map((option, i) => (
          <option key={String(i)} value={String(i)}>
            {typeof option === 'string' ? option : JSON.stringify(option)}
          </option>
        ))}
      </select>
      <Notes field={field} issues={issues} hint={null} />
    </div>
  );
}

function Checkbox({ field, values, issues, onChange }: Props) {
  const { id, ...described } = describedBy(field, issues, false);
  return (
    <div className="flex scroll-my-24 flex-col gap-1" data-field={field.path}>
      <span className="flex items-center gap-2">
        <input id={id} type="checkbox" {...described} checked={values[field.path] === true} onChange={(e) => onChange(field.path, e.target.checked)} />
        <Label field={field} htmlFor={id} />
      </span>
      <Notes field={field} issues={issues} hint={null} />
    </div>
  );
}

function Group(props: Props & { field: Extract<FormField, { kind: 'group' }> }) {
  const { field, issues } = props;
  const problems = issues[field.path] ?? [];
  return (
    <fieldset className="space-y-3 rounded border border-slate-200 p-3 dark:border-slate-700" data-field={field.path}>
      <legend className="px-1 text-sm font-medium">
        {field.label}
        {field.required && (
          <span aria-hidden="true" className="text-red-700 dark:text-red-300">
            {' '}
            *
          </span>
        )}
      </legend>
      {field.help && <p className="text-xs text-slate-600 dark:text-slate-300">{field.help}</p>}
      {problems.length > 0 && (
        <p data-testid={`field-error-${field.path}`} className="text-xs text-red-700 dark:text-red-300">
          <code className="font-mono">{field.path}</code>: {problems.join('; ')}
        </p>
      )}
      {field.fields.map((f) => (
        <Field key={f.path} {...props} field={f} />
      ))}
    </fieldset>
  );
}
