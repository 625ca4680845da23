'use client';
/**
 * One memory record on the memory page (docs/memory.md). A proposal: what the agent proposes and
 * why, where it came from, and the decision — accept, edit then accept, reject; one that replaces
 * an entry (a contradiction) shows that entry and offers to replace it or keep both; one that
 * forgets an entry offers to retire it or keep it. An entry: its text (under an imported file's
 * summary, muted), kind, scope, provenance and decision, pin/unpin and retire. A decision someone
 * else made first (409) says so, and the page reloads.
 */
import Link from 'next/link';
import { useId, useRef, useState } from 'react';
import { isApiError, type MemoryKind, type MemoryRecord } from '@tinyagi/client';
import { api, messageOf } from '@/lib/api';
import { DECIDED_BY } from '@/lib/approvals';
import { KINDS, MEMORY_KIND_TEXT, outcomeLine, proposalHeading, scopeName, when } from '@/lib/memory';
import { Button, ErrorLine } from './ui';

type Projects = Readonly<Record<string, string>>;

const TONE: Record<MemoryRecord['status'], string> = {
  proposed: 'border-violet-300 bg-violet-50 dark:border-violet-700 dark:bg-violet-950/40',
  accepted: 'border-slate-200 bg-white dark:border-slate-800 dark:bg-slate-900',
  rejected: 'border-red-200 bg-red-50/60 dark:border-red-900 dark:bg-red-950/30',
  retired: 'border-amber-200 bg-amber-50/60 dark:border-amber-900 dark:bg-amber-950/30',
};

const input = 'rounded border border-slate-300 bg-white px-2 py-1 text-sm dark:border-slate-600 dark:bg-slate-900';

function Pill({ children, tone = 'bg-slate-200 text-slate-800 dark:bg-slate-700 dark:text-slate-100' }: { children: string; tone?: string }) {
  return <span className={`rounded-full px-2 py-0.5 text-xs font-medium ${tone}`}>{children}</span>;
}

/** Where a record came from: who proposed it, in which conversation, run and message. */
export function Provenance({ entry, retiredBy }: { entry: MemoryRecord; retiredBy?: MemoryRecord | undefined }) {
  const p = entry.provenance;
  return (
    <dl className="mt-2 grid grid-cols-[auto_1fr] gap-x-3 gap-y-0.5 text-xs text-slate-700 dark:text-slate-300" data-testid="memory-provenance">
      <dt className="font-medium">Proposed by</dt>
      <dd data-testid="memory-proposed-by">
        {p.proposedBy} on {when(entry.createdAt)}
      </dd>
      {p.conversationId !== null && (
        <>
          <dt className="font-medium">Conversation</dt>
          <dd className="min-w-0 break-all">
            <Link className="underline" href={`/conversations/view?id=${encodeURIComponent(p.conversationId)}`}>
              {p.conversationId}
            </Link>
            {p.runId !== null && <span className="font-mono"> · run {p.runId}</span>}
            {p.messageId !== null && <span className="font-mono"> · message {p.messageId}</span>}
          </dd>
        </>
      )}
      {entry.status !== 'proposed' && (
        <>
          <dt className="font-medium">Decision</dt>
          <dd data-testid="memory-decision">{outcomeLine(entry)}</dd>
        </>
      )}
      {entry.status === 'retired' && retiredBy && (
        <>
          <dt className="font-medium">{retiredBy.action === 'forget' ? 'Forgotten' : 'Replaced by'}</dt>
          <dd className="min-w-0 break-words" data-testid="memory-retired-by">
            {retiredBy.action === 'forget'
              ? `on ${retiredBy.provenance.proposedBy}'s proposal${retiredBy.reason ? `: ${retiredBy.reason}` : ''}`
              : `“${retiredBy.text}” (${retiredBy.id}, proposed by ${retiredBy.provenance.proposedBy})`}
          </dd>
        </>
      )}
      {entry.lastUsedAt !== null && (
        <>
          <dt className="font-medium">Last given to an agent</dt>
          <dd>{when(entry.lastUsedAt)}</dd>
        </>
      )}
      {entry.expiresAt !== null && (
        <>
          <dt className="font-medium">{entry.expiresAt <= Date.now() ? 'Expired' : 'Expires'}</dt>
          <dd>
            {when(entry.expiresAt)}
            {entry.expiresAt <= Date.now() ? ': no longer given to agents' : ''}
          </dd>
        </>
      )}
    </dl>
  );
}

/** An accepted entry (or one in the history): text, kind, scope, provenance; pin/unpin and retire while accepted. */
export function EntryCard({
  entry,
  projects,
  retiredBy,
  onChanged,
}: {
  entry: MemoryRecord;
  projects: Projects;
  /** The accepted proposal that replaced or forgot this retired entry, when known. */
  retiredBy?: MemoryRecord | undefined;
  onChanged: (record: MemoryRecord) => void;
}) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const act = async (what: string, call: () => Promise<MemoryRecord>) => {
    setBusy(true);
    setError(null);
    try {
      onChanged(await call());
    } catch (err) {
      setError(`${what} did not happen: ${messageOf(err)}`);
    } finally {
      setBusy(false);
    }
  };
  const accepted = entry.status === 'accepted';
  return (
    <article data-testid="memory-entry" data-id={entry.id} data-status={entry.status} className={`rounded-lg border p-3 text-sm ${TONE[entry.status]}`}>
      <div className="flex flex-wrap items-center gap-2">
        <Pill>{entry.kind}</Pill>
        <span className="text-xs text-slate-600 dark:text-slate-300">{scopeName(entry.scope, projects)}</span>
        {entry.pinned && accepted && <Pill tone="bg-sky-100 text-sky-900 dark:bg-sky-900 dark:text-sky-100">pinned: in every turn</Pill>}
        {!accepted && <Pill tone="bg-slate-100 text-slate-700 dark:bg-slate-800 dark:text-slate-200">{entry.status}</Pill>}
        <span className="ml-auto font-mono text-xs text-slate-600 dark:text-slate-300">{entry.id}</span>
      </div>
      {entry.name && <h3 className="mt-1 font-medium">{entry.name}</h3>}
      {entry.summary && entry.summary !== entry.text && (
        <p className="mt-1 break-words text-slate-600 dark:text-slate-300" data-testid="memory-summary">
          {entry.summary}
        </p>
      )}
      <p className="mt-1 whitespace-pre-wrap break-words text-base" data-testid="memory-text">
        {entry.text}
      </p>
      <Provenance entry={entry} retiredBy={retiredBy} />
      {accepted && (
        <div className="mt-2 flex flex-wrap gap-2">
          <Button
            disabled={busy}
            title={entry.pinned ? 'Given to agents only when relevant to a message' : 'Given to agents in every turn of its scope, before the relevant ones'}
            onClick={() => void act(entry.pinned ? 'Unpin' : 'Pin', () => api().updateMemory({ params: { id: entry.id }, body: { pinned: !entry.pinned } }))}
          >
            {entry.pinned ? 'Unpin' : 'Pin'}
          </Button>
          <Button
            tone="danger"
            disabled={busy}
            title="Kept as history, never given to an agent again"
            onClick={() => void act('Retire', () => api().retireMemory({ params: { id: entry.id }, body: { by: DECIDED_BY } }))}
          >
            Retire
          </Button>
        </div>
      )}
      <ErrorLine error={error} />
    </article>
  );
}

interface Decision {
  decision: 'accept' | 'reject';
  text?: string;
  kind?: MemoryKind;
  pinned?: boolean;
  keepTarget?: boolean;
}

/** A proposal waiting for a decision; `target` is the entry it replaces or forgets (when known). */
export function ProposalCard({
  proposal,
  target,
  projects,
  onDecided,
}: {
  proposal: MemoryRecord;
  target: MemoryRecord | null;
  projects: Projects;
  onDecided: (records: MemoryRecord[], note?: string) => void;
}) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [editing, setEditing] = useState<{ text: string; kind: MemoryKind; pinned: boolean } | null>(null);
  const titleId = useId();
  const root = useRef<HTMLElement>(null);
  const forget = proposal.action === 'forget';

  const decide = async (body: Decision) => {
    setBusy(true);
    setError(null);
    try {
      const record = await api().decideMemory({ params: { id: proposal.id }, body: { ...body, by: DECIDED_BY } });
      // Accepting a replacement or a forget retired the target: show it as it is now.
      const retired = target && record.status === 'accepted' && (forget || !body.keepTarget) ? await api().getMemoryRecord({ params: { id: target.id } }) : null;
      const next = focusTarget(root.current);
      onDecided(retired ? [record, retired] : [record]);
      requestAnimationFrame(() => next?.focus());
    } catch (err) {
      if (isApiError(err, 'INVALID_STATE')) {
        const now = await api()
          .getMemoryRecord({ params: { id: proposal.id } })
          .catch(() => null);
        onDecided(now ? [now] : [], `Your decision came too late: ${messageOf(err)}`);
      } else setError(`Not decided: ${messageOf(err)} The proposal still waits; try again.`);
    } finally {
      setBusy(false);
    }
  };

  return (
    <article ref={root} aria-labelledby={titleId} data-testid="memory-proposal" data-id={proposal.id} className={`rounded-lg border p-3 text-sm ${TONE.proposed}`}>
      <div className="flex flex-wrap items-center gap-2">
        <h3 id={titleId} className="font-medium">
          {proposalHeading(proposal, projects)}
        </h3>
        <span className="ml-auto font-mono text-xs text-slate-600 dark:text-slate-300">{proposal.id}</span>
      </div>
      {!forget && (
        <p className="mt-1 whitespace-pre-wrap break-words text-base" data-testid="memory-text">
          {proposal.text}
        </p>
      )}
      {proposal.reason && (
        <p className="mt-1 break-words text-slate-700 dark:text-slate-300" data-testid="memory-reason">
          <span className="font-medium">Why: </span>
          {proposal.reason}
        </p>
      )}
      {proposal.targetId !== null && <TargetBox forget={forget} target={target} targetId={proposal.targetId} projects={projects} />}
      <Provenance entry={proposal} />
      {editing ? (
        <EditForm
          editing={editing}
          onChange={setEditing}
          busy={busy}
          onCancel={() => setEditing(null)}
          onAccept={() => void decide({ decision: 'accept', ...editing, ...keep(proposal, false) })}
          replaces={proposal.targetId !== null}
        />
      ) : (
        <div className="mt-2 flex flex-wrap gap-2">
          {forget ? (
            <>
              <Button tone="primary" disabled={busy} onClick={() => void decide({ decision: 'accept' })}>
                Retire the entry
              </Button>
              <Button disabled={busy} onClick={() => void decide({ decision: 'reject' })}>
                Keep the entry
              </Button>
            </>
          ) : (
            <>
              <Button tone="primary" disabled={busy} onClick={() => void decide({ decision: 'accept', ...keep(proposal, false) })}>
                {proposal.targetId !== null ? 'Accept and replace' : 'Accept'}
              </Button>
              {proposal.targetId !== null && (
                <Button disabled={busy} title="Both entries stay accepted" onClick={() => void decide({ decision: 'accept', keepTarget: true })}>
                  Accept, keep both
                </Button>
              )}
              <Button disabled={busy} onClick={() => setEditing({ text: proposal.text, kind: proposal.kind, pinned: proposal.pinned })}>
                Edit, then accept
              </Button>
              <Button tone="danger" disabled={busy} onClick={() => void decide({ decision: 'reject' })}>
                Reject
              </Button>
            </>
          )}
        </div>
      )}
      <ErrorLine error={error} />
    </article>
  );
}

/** Where focus goes once a proposal is decided here and its card leaves: the next proposal's first button, else the previous one's, else the line saying how many wait. */
function focusTarget(card: HTMLElement | null): HTMLElement | null {
  const item = card?.closest('li');
  const other = (item?.nextElementSibling ?? item?.previousElementSibling) as HTMLElement | null | undefined;
  return other?.querySelector<HTMLElement>('button:not([disabled])') ?? document.getElementById('memory-proposals-summary');
}

/** A replacing proposal's decision says whether its target goes (`keepTarget: false`); others say nothing. */
const keep = (p: MemoryRecord, both: boolean): { keepTarget?: boolean } => (p.targetId !== null && p.action === 'remember' ? { keepTarget: both } : {});

/** The entry a proposal replaces (a contradiction) or forgets. */
function TargetBox({ forget, target, targetId, projects }: { forget: boolean; target: MemoryRecord | null; targetId: string; projects: Projects }) {
  return (
    <div className="mt-2 rounded border border-amber-300 bg-amber-50 p-2 dark:border-amber-800 dark:bg-amber-950/50" data-testid="memory-target">
      <p className="text-xs font-medium text-amber-950 dark:text-amber-100">
        {forget ? 'The entry it would retire:' : 'It contradicts this accepted entry; accepted, it replaces it (unless you keep both):'}
      </p>
      {target ? (
        <p className="mt-1 whitespace-pre-wrap break-words">
          <span className="font-mono text-xs text-slate-600 dark:text-slate-300">
            {target.kind} · {scopeName(target.scope, projects)} · {target.status} ·{' '}
          </span>
          {target.text}
        </p>
      ) : (
        <p className="mt-1 font-mono text-xs">{targetId}</p>
      )}
    </div>
  );
}

function EditForm({
  editing,
  onChange,
  busy,
  onCancel,
  onAccept,
  replaces,
}: {
  editing: { text: string; kind: MemoryKind; pinned: boolean };
  onChange: (next: { text: string; kind: MemoryKind; pinned: boolean }) => void;
  busy: boolean;
  onCancel: () => void;
  onAccept: () => void;
  replaces: boolean;
}) {
  const id = useId();
  return (
    <form
      className="mt-2 space-y-2"
      onSubmit={(e) => {
        e.preventDefault();
        if (editing.text.trim() !== '') onAccept();
      }}
    >
      <label htmlFor={`${id}-text`} className="block text-xs font-medium">
        The entry as it will be remembered
      </label>
      <textarea id={`${id}-text`} rows={3} maxLength={4000} className={`${input} w-full`} value={editing.text} onChange={(e) => onChange({ ...editing, text: e.target.value })} />
      <div className="flex flex-wrap items-center gap-3">
        <label htmlFor={`${id}-kind`} className="text-xs font-medium">
          Kind
        </label>
        <select id={`${id}-kind`} className={input} value={editing.kind} onChange={(e) => onChange({ ...editing, kind: e.target.value as MemoryKind })}>
          {KINDS.map((k) => (
            <option key={k} value={k}>
              {k}: {MEMORY_KIND_TEXT[k]}
            </option>
          ))}
        </select>
        <label className="flex items-center gap-1 text-xs">
          <input type="checkbox" checked={editing.pinned} onChange={(e) => onChange({ ...editing, pinned: e.target.checked })} />
          Pinned (in every turn)
        </label>
      </div>
      <div className="flex flex-wrap gap-2">
        <Button type="submit" tone="primary" disabled={busy || editing.text.trim() === ''}>
          {replaces ? 'Accept edited, replace the old entry' : 'Accept edited'}
        </Button>
        <Button disabled={busy} onClick={onCancel}>
          Cancel
        </Button>
      </div>
    </form>
  );
}
