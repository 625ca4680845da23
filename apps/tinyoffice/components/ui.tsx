/** Small shared pieces: avatar colour, panels, buttons, durations and money. */
import type { ButtonHTMLAttributes, ReactNode } from 'react';
import { agentHue } from '@/lib/agent-colour';

// The hues of lib/usage.ts's PALETTE, in its order (lib/agent-colour.ts), one shade darker for white initials.
const HUES = ['bg-sky-700', 'bg-violet-700', 'bg-emerald-700', 'bg-amber-700', 'bg-rose-700', 'bg-teal-700', 'bg-indigo-700', 'bg-fuchsia-700'];

export function hueOf(id: string): string {
  return HUES[agentHue(id)]!;
}

/** An avatar's letters: the id's first two, or its first and its number's last two (`a07` → `A07`: fifty agents a01…a50 are not all `A0`). */
export function initialsOf(id: string): string {
  const number = /\d+$/.exec(id)?.[0];
  return (number && number.length < id.length ? `${id[0]}${number.slice(-2)}` : id.slice(0, 2)).toUpperCase();
}

export function Avatar({ id, size = 'md' }: { id: string; size?: 'sm' | 'md' }) {
  const dims = size === 'sm' ? 'h-6 w-6 text-xs' : 'h-10 w-10 text-sm';
  return (
    <span aria-hidden className={`inline-flex shrink-0 items-center justify-center rounded-full font-semibold text-white ${dims} ${hueOf(id)}`}>
      {initialsOf(id)}
    </span>
  );
}

export function Panel({ title, children, actions, className = '', id }: { title: string; children: ReactNode; actions?: ReactNode; className?: string; id?: string }) {
  return (
    <section id={id} aria-label={title} className={`scroll-mt-24 rounded-lg border border-slate-200 bg-white p-4 dark:border-slate-800 dark:bg-slate-900 ${className}`}>
      <div className="mb-3 flex items-center gap-2">
        <h2 className="text-sm font-semibold uppercase tracking-wide text-slate-600 dark:text-slate-300">{title}</h2>
        <div className="ml-auto flex gap-2">{actions}</div>
      </div>
      {children}
    </section>
  );
}

export function Button({ tone = 'default', className = '', ...props }: ButtonHTMLAttributes<HTMLButtonElement> & { tone?: 'default' | 'danger' | 'primary' }) {
  const tones = {
    default: 'border border-slate-300 hover:bg-slate-100 dark:border-slate-600 dark:hover:bg-slate-800',
    danger: 'border border-red-300 text-red-800 hover:bg-red-50 dark:border-red-800 dark:text-red-300 dark:hover:bg-red-950',
    primary: 'bg-slate-900 text-white hover:bg-slate-700 dark:bg-slate-100 dark:text-slate-900 dark:hover:bg-slate-300',
  };
  return <button type="button" {...props} className={`rounded px-2 py-1 text-sm disabled:opacity-50 ${tones[tone]} ${className}`} />;
}

export function duration(ms: number): string {
  if (ms < 1000) return `${Math.max(0, Math.round(ms))} ms`;
  const s = ms / 1000;
  if (s < 60) return `${s.toFixed(1)} s`;
  return `${Math.floor(s / 60)} m ${Math.round(s % 60)} s`;
}

/** `1 hop`, `2 hops`. */
export function plural(n: number, word: string, irregular = `${word}s`): string {
  return `${n} ${n === 1 ? word : irregular}`;
}

export function money(usd: number): string {
  return usd === 0 ? '$0' : usd < 0.01 ? `$${usd.toFixed(4)}` : `$${usd.toFixed(2)}`;
}

export const STATUS_TONE: Record<string, string> = {
  queued: 'bg-slate-200 text-slate-800 dark:bg-slate-700 dark:text-slate-100',
  running: 'bg-sky-100 text-sky-900 dark:bg-sky-900 dark:text-sky-100',
  active: 'bg-sky-100 text-sky-900 dark:bg-sky-900 dark:text-sky-100',
  completed: 'bg-emerald-100 text-emerald-900 dark:bg-emerald-900 dark:text-emerald-100',
  // A workflow's task step whose task passed its checks (docs/workflows.md).
  passed: 'bg-emerald-100 text-emerald-900 dark:bg-emerald-900 dark:text-emerald-100',
  failed: 'bg-red-100 text-red-900 dark:bg-red-900 dark:text-red-100',
  rejected: 'bg-red-100 text-red-900 dark:bg-red-900 dark:text-red-100',
  stopped: 'bg-amber-100 text-amber-900 dark:bg-amber-900 dark:text-amber-100',
  // Asks for the person's decision: a tone of its own, not the amber of work that ended.
  waiting: 'bg-violet-100 text-violet-900 dark:bg-violet-900 dark:text-violet-100',
  // A workflow run held at its budget or by a person: it waits for Resume, so the same tone.
  paused: 'bg-violet-100 text-violet-900 dark:bg-violet-900 dark:text-violet-100',
  cancelled: 'bg-amber-100 text-amber-900 dark:bg-amber-900 dark:text-amber-100',
  live: 'bg-emerald-100 text-emerald-900 dark:bg-emerald-900 dark:text-emerald-100',
  stale: 'bg-red-100 text-red-900 dark:bg-red-900 dark:text-red-100',
  'not joined': 'bg-amber-100 text-amber-900 dark:bg-amber-900 dark:text-amber-100',
  // An agent's sandbox (docs/sandbox.md).
  enforced: 'bg-emerald-100 text-emerald-900 dark:bg-emerald-900 dark:text-emerald-100',
  degraded: 'bg-amber-100 text-amber-900 dark:bg-amber-900 dark:text-amber-100',
  unknown: 'bg-amber-100 text-amber-900 dark:bg-amber-900 dark:text-amber-100',
};

export function StatusPill({ status }: { status: string }) {
  return <span className={`rounded-full px-2 py-0.5 text-xs font-medium ${STATUS_TONE[status] ?? STATUS_TONE['queued']}`}>{status}</span>;
}

export function ErrorLine({ error }: { error: string | null }) {
  if (!error) return null;
  return (
    <p role="alert" className="rounded border border-red-300 bg-red-50 px-2 py-1 text-sm text-red-900 dark:border-red-800 dark:bg-red-950 dark:text-red-200">
      {error}
    </p>
  );
}
