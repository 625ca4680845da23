/** A value of a workflow (a run's input or result, a step's output), folded until opened: text as it is, anything else as indented JSON. */
import type { ReactNode } from 'react';

export function valueText(value: unknown): string {
  return typeof value === 'string' ? value : (JSON.stringify(value, null, 2) ?? String(value));
}

export function FoldedValue({ summary, value, testId, className = '' }: { summary: ReactNode; value: unknown; testId: string; className?: string }) {
  if (value === null || value === undefined) return null;
  return (
    <details data-testid={testId} className={className}>
      <summary className="w-fit cursor-pointer select-none rounded px-1 hover:bg-slate-50 dark:hover:bg-slate-800/50">{summary}</summary>
      <pre
        // biome-ignore lint/a11y/noNoninteractiveTabindex: a long value scrolls inside its box, so keyboard users must be able to focus it (WCAG 2.1.1)
        tabIndex={0}
        className="mt-1 max-h-80 overflow-y-auto whitespace-pre-wrap break-words rounded border border-slate-200 bg-slate-50 p-2 font-mono text-xs text-slate-900 dark:border-slate-700 dark:bg-slate-950 dark:text-slate-100"
      >
        {valueText(value)}
      </pre>
    </details>
  );
}
