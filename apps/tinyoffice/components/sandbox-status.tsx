/**
 * An agent's sandbox (docs/sandbox.md): its setting and whether the boundary holds on the
 * daemon's machine (`sandboxStatus` of GET /api/agents): enforced, degraded with the reason and
 * the fix, or off.
 */
import type { Agent } from '@tinyagi/client';
import { SANDBOX_MEANING } from '@/components/agent-form-fields';
import { StatusPill } from '@/components/ui';
import type { NewAgentNotes } from '@/lib/new-agent-notes';

type SandboxView = NonNullable<Agent['sandboxStatus']>;

/** The Agents table's cell: the state, the setting, and what to change when degraded. */
export function SandboxCell({ status }: { status: SandboxView | undefined }) {
  if (!status || status.setting === 'off') return <span className="text-slate-600 dark:text-slate-300">off</span>;
  return (
    <span className="block max-w-xs">
      <span className="flex items-center gap-1 whitespace-nowrap">
        <StatusPill status={status.state} />
        <span className="text-xs text-slate-600 dark:text-slate-300">{status.setting}</span>
      </span>
      <Degraded status={status} />
    </span>
  );
}

function Degraded({ status }: { status: SandboxView }) {
  if (status.state !== 'degraded') return null;
  return (
    <span className="mt-0.5 block text-xs text-amber-900 dark:text-amber-200">
      {status.refused ? 'Its messages fail until this is fixed: ' : 'It runs unconfined: '}
      {status.reason}
      {status.fix && <span className="block text-slate-700 dark:text-slate-300">Fix: {status.fix}</span>}
    </span>
  );
}

/** The agent page's line: setting, what it means, and whether it holds here. */
export function SandboxSummary({ agent }: { agent: Agent }) {
  const status = agent.sandboxStatus;
  const setting = status?.setting ?? (typeof agent['sandbox'] === 'string' ? (agent['sandbox'] as SandboxView['setting']) : 'off');
  return (
    <div data-testid="agent-sandbox" data-setting={setting} data-state={status?.state ?? 'off'} className="rounded border border-slate-200 p-3 text-sm dark:border-slate-700">
      <p className="flex flex-wrap items-center gap-2">
        <span className="font-medium">Sandbox:</span>
        <span className="font-mono">{setting}</span>
        {status && status.setting !== 'off' && <StatusPill status={status.state} />}
        <span className="text-slate-600 dark:text-slate-300">— {SANDBOX_MEANING[setting] ?? setting}.</span>
      </p>
      {status?.state === 'enforced' && (
        <p className="mt-1 text-xs text-slate-600 dark:text-slate-300">
          The boundary holds on the daemon’s machine{status.memoryMb !== undefined ? `; memory cap ${status.memoryMb} MB` : status.memoryNote ? `; no memory cap: ${status.memoryNote}` : ''}.
        </p>
      )}
      {status && <Degraded status={status} />}
      <p className="mt-1 text-xs text-slate-600 dark:text-slate-300">Change it with Sandbox in the settings below.</p>
    </div>
  );
}

/** What the daemon said as it made the agent (this tab's New agent form): what it starts with, and what will not work. */
export function NewAgentNotesPanel({ id, notes }: { id: string; notes: NewAgentNotes }) {
  return (
    <div data-testid="new-agent-notes" className="space-y-1 rounded border border-slate-200 p-3 text-sm dark:border-slate-700">
      <p className="font-medium">Created @{id}. What it starts with:</p>
      <ul className="list-disc space-y-0.5 pl-5">
        {notes.warnings.map((n) => (
          <li key={n.code} data-warning={n.code} className="text-amber-900 dark:text-amber-200">
            {n.message}
          </li>
        ))}
        {notes.notes.map((n) => (
          <li key={n.code} data-note={n.code}>
            {n.message}
          </li>
        ))}
      </ul>
    </div>
  );
}
