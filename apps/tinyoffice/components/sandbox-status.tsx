'use client';
/**
 * An agent's sandbox (docs/sandbox.md): its setting and whether the boundary holds on the machine
 * of the node that runs it (`sandboxStatus` of GET /api/agents): enforced, degraded with the
 * reason and the fix, unknown (its node is down or has not published its check), or off; with
 * several nodes, the node's name.
 */
import type { Agent, NewAgentNoteView } from '@tinyagi/client';
import Link from 'next/link';
import type { ReactNode } from 'react';
import { SANDBOX_MEANING } from '@/components/agent-form-fields';
import { useState } from 'react';
import { api, messageOf } from '@/lib/api';
import { setState } from '@/lib/store';
import { Button, ErrorLine, StatusPill } from '@/components/ui';
import type { NewAgentNotes } from '@/lib/new-agent-notes';

type SandboxView = NonNullable<Agent['sandboxStatus']>;

/** The Agents table's cell: the state, the setting, and what to change when degraded. */
export function SandboxCell({ status }: { status: SandboxView | undefined }) {
  if (!status || (status.setting === 'off' && !status.held)) return <span className="text-slate-600 dark:text-slate-300">off</span>;
  return (
    <span className="block max-w-xs">
      <span className="flex items-center gap-1 whitespace-nowrap">
        <StatusPill status={status.state} />
        <span className="text-xs text-slate-600 dark:text-slate-300">{status.setting}</span>
        {status.node && status.state !== 'off' && (
          <span data-testid="sandbox-node" className="text-xs text-slate-600 dark:text-slate-300">
            on {status.node}
          </span>
        )}
        {status.held && <span className="text-xs font-medium text-amber-900 dark:text-amber-200">held</span>}
      </span>
      <Degraded status={status} />
      <Elsewhere status={status} />
    </span>
  );
}

/** An agent on no node runs on any: the nodes where its boundary would differ. */
function Elsewhere({ status }: { status: SandboxView }) {
  if (!status.elsewhere?.length) return null;
  return (
    <span className="mt-0.5 block text-xs text-amber-900 dark:text-amber-200">
      It runs on any node; elsewhere: {status.elsewhere.map((e) => `${e.state} on ${e.node}${e.reason ? ` (${e.reason})` : ''}`).join('; ')}
    </span>
  );
}

/**
 * A held workspace (docs/sandbox.md, "What a confined run leaves behind"): a confined run worked
 * in it, so the agent's runs run confined until a person who looked at it releases it.
 */
function Held({ id, held }: { id: string; held: NonNullable<SandboxView['held']> }) {
  const [error, setError] = useState<string | null>(null);
  const release = async () => {
    if (!window.confirm(`Release @${id}'s workspace? Anything the confined run left in ${held.folder} (hooks, scripts, instructions) then runs as the agent's own settings say. Look at it first.`))
      return;
    setError(null);
    try {
      await api().releaseAgentHold({ params: { id } });
      setState({ agents: await api().listAgents() });
    } catch (err) {
      setError(messageOf(err));
    }
  };
  const by = held.by.map((a) => `@${a}`).join(', ');
  return (
    <div data-testid="agent-held" className="mt-1 text-xs text-amber-900 dark:text-amber-200">
      <p>
        Held since {new Date(held.since).toLocaleString()}: a confined run{by ? ` for ${by}` : ''} worked in {held.folder}, so @{id} runs confined until you look at what it left there (hooks in
        .claude/, .mcp.json, package.json scripts, .git/hooks) and release it.
      </p>
      <Button onClick={() => void release()}>Release the workspace</Button>
      <ErrorLine error={error} />
    </div>
  );
}

function Degraded({ status }: { status: SandboxView }) {
  if (status.state !== 'degraded' && status.state !== 'unknown') return null;
  return (
    <span className="mt-0.5 block text-xs text-amber-900 dark:text-amber-200">
      {status.state === 'unknown' ? 'Not known: ' : status.refused ? 'Its messages fail until this is fixed: ' : 'It runs unconfined: '}
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
        <span className="text-slate-600 dark:text-slate-300">— {status?.held ? 'but its workspace is held: it runs confined until you release it' : (SANDBOX_MEANING[setting] ?? setting)}.</span>
      </p>
      {status?.state === 'enforced' && (
        <p className="mt-1 text-xs text-slate-600 dark:text-slate-300">
          The boundary holds on {status.node ? `node ${status.node}’s machine` : 'the daemon’s machine'}
          {status.memoryMb !== undefined ? `; memory cap ${status.memoryMb} MB` : status.memoryNote ? `; no memory cap: ${status.memoryNote}` : ''}.
        </p>
      )}
      {status && <Degraded status={status} />}
      {status && <Elsewhere status={status} />}
      {status?.held && <Held id={agent.id} held={status.held} />}
      <p className="mt-1 text-xs text-slate-600 dark:text-slate-300">Change it with Sandbox in the settings below.</p>
    </div>
  );
}

/** What to do about a note here, with this page's controls (the note's `cli` says it in the CLI's commands). */
const NOTE_ACTION: Partial<Record<NewAgentNoteView['code'], ReactNode>> = {
  'sandbox-on': 'Whether it holds: Sandbox, below.',
  'sandbox-failed': 'Once it holds, turn it on with Sandbox in the settings below.',
  'sandbox-unchecked': 'Once it holds, turn it on with Sandbox in the settings below.',
  asks: (
    <>
      Answer on the{' '}
      <Link href="/approvals" className="underline">
        Approvals
      </Link>{' '}
      page; its rules are under More, below.
    </>
  ),
  unattended: 'Process and Permission mode are under More, below.',
  warm: 'Per message instead: Process, under More below.',
};

function NoteText({ note }: { note: NewAgentNoteView }) {
  const action = NOTE_ACTION[note.code];
  return (
    <>
      {note.message}
      {action ? <> {action}</> : null}
    </>
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
            <NoteText note={n} />
          </li>
        ))}
        {notes.notes.map((n) => (
          <li key={n.code} data-note={n.code}>
            <NoteText note={n} />
          </li>
        ))}
      </ul>
    </div>
  );
}
