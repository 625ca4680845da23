'use client';
/**
 * Teams: the list with create / edit / delete (validated with the API's own zod schema, then
 * the server's settings rules, each problem next to its field), the company's org chart (loaded
 * only on this page: React Flow is the heaviest thing here) and a link to each team's chat room.
 * Teams and agents come from the live store; a change made elsewhere (CLI, hand edit of
 * settings.json) arrives as `settings.changed` and reloads them.
 */
import dynamic from 'next/dynamic';
import Link from 'next/link';
import { type FormEvent, useState } from 'react';
import type { Team } from '@tinyagi/client';
import { api, messageOf } from '@/lib/api';
import { loadContract, useContract } from '@/lib/contract';
import { type FieldErrors, fieldErrorsOfApiError, fieldErrorsOfIssues } from '@/lib/field-errors';
import { memoryHref } from '@/lib/memory';
import { setState, useStore } from '@/lib/store';
import { reloadTeamsAndAgents, useSettingsReload } from '@/lib/teams';
import { Avatar, Button, ErrorLine, Panel } from '@/components/ui';

const OrgChart = dynamic(() => import('./org-chart'), {
  ssr: false,
  loading: () => <p className="text-sm text-slate-600 dark:text-slate-300">Loading the org chart…</p>,
});

const FIELDS = ['id', 'name', 'agents', 'leader_agent', 'reply_mode'] as const;
const ID_PATTERN = /^[a-z0-9][a-z0-9_-]{0,63}$/i;

interface Draft {
  id: string;
  name: string;
  agents: string[];
  leader_agent: string;
  reply_mode: 'each' | 'aggregate';
}

const EMPTY: Draft = { id: '', name: '', agents: [], leader_agent: '', reply_mode: 'each' };

export default function TeamsPage() {
  const teams = useStore((s) => s.teams);
  const agents = useStore((s) => s.agents);
  const [editing, setEditing] = useState<{ draft: Draft; isNew: boolean } | null>(null);
  const [error, setError] = useState<string | null>(null);
  useSettingsReload();

  async function remove(team: Team) {
    if (!window.confirm(`Delete team ${team.id}? Its agents stay; its chat room history is kept.`)) return;
    setError(null);
    try {
      await api().deleteTeam({ params: { id: team.id } });
      setState({ teams: await api().listTeams() });
      if (editing?.draft.id === team.id) setEditing(null);
    } catch (err) {
      setError(messageOf(err));
    }
  }

  return (
    <div className="space-y-4">
      <div className="flex flex-wrap items-center gap-2">
        <h1 className="text-xl font-semibold">Teams</h1>
        <Button tone="primary" className="ml-auto" onClick={() => setEditing({ draft: { ...EMPTY }, isNew: true })}>
          New team
        </Button>
      </div>
      <ErrorLine error={error} />
      {editing && <TeamForm key={`${editing.isNew ? 'new' : editing.draft.id}`} initial={editing.draft} isNew={editing.isNew} agentIds={agents.map((a) => a.id)} onDone={() => setEditing(null)} />}
      <Panel title="Company">
        <OrgChart teams={teams} agents={agents} />
      </Panel>
      <Panel title="All teams">
        {teams.length === 0 ? (
          <p className="text-sm text-slate-600 dark:text-slate-300">No teams yet. Create one with “New team”: pick its members and a leader who receives the team’s messages first.</p>
        ) : (
          <ul className="grid gap-3 sm:grid-cols-2 lg:grid-cols-3" data-testid="team-list">
            {teams.map((team) => (
              <li key={team.id} data-team={team.id} className="rounded border border-slate-200 p-3 dark:border-slate-700">
                <div className="flex items-baseline gap-2">
                  <h3 className="font-semibold">{team.name || team.id}</h3>
                  <span className="font-mono text-xs text-slate-600 dark:text-slate-300">#{team.id}</span>
                </div>
                <p className="mt-1 text-sm">
                  Leader: <span className="font-medium">@{team.leader_agent ?? '—'}</span>
                </p>
                <ul className="mt-2 flex flex-wrap gap-1" aria-label={`Members of ${team.id}`}>
                  {(team.agents ?? []).map((a) => (
                    <li key={a} className="flex items-center gap-1 rounded-full bg-slate-100 py-0.5 pr-2 pl-0.5 text-xs dark:bg-slate-800">
                      <Avatar id={a} size="sm" />@{a}
                    </li>
                  ))}
                </ul>
                <div className="mt-3 flex flex-wrap gap-2">
                  <Link
                    className="rounded border border-slate-300 px-2 py-1 text-sm hover:bg-slate-100 dark:border-slate-600 dark:hover:bg-slate-800"
                    href={`/teams/room?id=${encodeURIComponent(team.id)}`}
                  >
                    Chat room
                  </Link>
                  <Link
                    className="rounded border border-slate-300 px-2 py-1 text-sm hover:bg-slate-100 dark:border-slate-600 dark:hover:bg-slate-800"
                    href={memoryHref({ kind: 'team', id: team.id })}
                    aria-label={`Memory of team ${team.id}`}
                  >
                    Memory
                  </Link>
                  <Button onClick={() => setEditing({ draft: toDraft(team), isNew: false })} aria-label={`Edit team ${team.id}`}>
                    Edit
                  </Button>
                  <Button tone="danger" onClick={() => void remove(team)} aria-label={`Delete team ${team.id}`}>
                    Delete
                  </Button>
                </div>
              </li>
            ))}
          </ul>
        )}
      </Panel>
    </div>
  );
}

function toDraft(team: Team): Draft {
  return { id: team.id, name: team.name ?? '', agents: team.agents ?? [], leader_agent: team.leader_agent ?? '', reply_mode: team.reply_mode ?? 'each' };
}

const input = 'w-full rounded border border-slate-300 bg-white px-2 py-1 text-sm dark:border-slate-600 dark:bg-slate-900';

function TeamForm({ initial, isNew, agentIds, onDone }: { initial: Draft; isNew: boolean; agentIds: string[]; onDone: () => void }) {
  const [draft, setDraft] = useState<Draft>(initial);
  const [errors, setErrors] = useState<FieldErrors>({});
  const [saving, setSaving] = useState(false);
  useContract(); // starts loading the schema the form checks with

  async function submit(e: FormEvent) {
    e.preventDefault();
    const found: FieldErrors = {};
    if (isNew && !ID_PATTERN.test(draft.id)) found['id'] = 'Use letters, digits, - or _ (up to 64), starting with a letter or digit.';
    const body = { name: draft.name || undefined, agents: draft.agents, leader_agent: draft.leader_agent, reply_mode: draft.reply_mode };
    let schemas: Awaited<ReturnType<typeof loadContract>>;
    try {
      schemas = await loadContract();
    } catch (err) {
      return setErrors({ form: `Could not load the form's validation: ${messageOf(err)}` });
    }
    const parsed = schemas.teamsContract.putTeam.body.safeParse(body);
    if (!parsed.success) Object.assign(found, fieldErrorsOfIssues(parsed.error.issues));
    if (Object.keys(found).length > 0) return setErrors(found);
    setErrors({});
    setSaving(true);
    try {
      // A new team is created only if its id is free (409 otherwise); an edit replaces the team.
      if (isNew) await api().createTeam({ body: { ...parsed.data!, id: draft.id } });
      else await api().putTeam({ params: { id: draft.id }, body: parsed.data! });
      await reloadTeamsAndAgents();
      onDone();
    } catch (err) {
      setErrors(fieldErrorsOfApiError(err, FIELDS));
    } finally {
      setSaving(false);
    }
  }

  const describe = (field: string) => (errors[field] ? { 'aria-invalid': true, 'aria-describedby': `team-${field}-error` } : {});
  return (
    <Panel title={isNew ? 'New team' : `Edit team ${initial.id}`}>
      <form noValidate onSubmit={(e) => void submit(e)} className="grid gap-3 md:grid-cols-2" aria-label={isNew ? 'New team' : `Edit team ${initial.id}`}>
        <div>
          <label htmlFor="team-id" className="mb-1 block text-sm font-medium">
            Team id
          </label>
          <input id="team-id" className={input} value={draft.id} disabled={!isNew} onChange={(e) => setDraft({ ...draft, id: e.target.value.trim() })} {...describe('id')} />
          <FieldError field="id" errors={errors} />
        </div>
        <div>
          <label htmlFor="team-name" className="mb-1 block text-sm font-medium">
            Name
          </label>
          <input id="team-name" className={input} value={draft.name} onChange={(e) => setDraft({ ...draft, name: e.target.value })} {...describe('name')} />
          <FieldError field="name" errors={errors} />
        </div>
        <fieldset className="min-w-0" aria-describedby={errors['agents'] ? 'team-agents-error' : undefined}>
          <legend className="mb-1 text-sm font-medium">Members</legend>
          {agentIds.length === 0 && <p className="text-sm">There are no agents yet: create one on the Agents page first.</p>}
          <div className="flex flex-wrap gap-x-4 gap-y-1">
            {agentIds.map((a) => (
              <label key={a} className="flex items-center gap-1 text-sm">
                <input
                  type="checkbox"
                  checked={draft.agents.includes(a)}
                  onChange={(e) => setDraft({ ...draft, agents: e.target.checked ? [...draft.agents, a] : draft.agents.filter((x) => x !== a) })}
                />
                @{a}
              </label>
            ))}
          </div>
          <FieldError field="agents" errors={errors} />
        </fieldset>
        <div>
          <label htmlFor="team-leader" className="mb-1 block text-sm font-medium">
            Leader (must be a member)
          </label>
          <select id="team-leader" className={input} value={draft.leader_agent} onChange={(e) => setDraft({ ...draft, leader_agent: e.target.value })} {...describe('leader_agent')}>
            <option value="">Choose the leader…</option>
            {agentIds.map((a) => (
              <option key={a} value={a}>
                @{a}
                {draft.agents.includes(a) ? '' : ' (not a member)'}
              </option>
            ))}
          </select>
          <FieldError field="leader_agent" errors={errors} />
        </div>
        <div>
          <label htmlFor="team-reply-mode" className="mb-1 block text-sm font-medium">
            Replies
          </label>
          <select id="team-reply-mode" className={input} value={draft.reply_mode} onChange={(e) => setDraft({ ...draft, reply_mode: e.target.value as Draft['reply_mode'] })}>
            <option value="each">each agent answers on its own</option>
            <option value="aggregate">one combined answer</option>
          </select>
        </div>
        <div className="flex items-end gap-2 md:col-span-2">
          <ErrorLine error={errors['form'] ?? null} />
          <Button type="submit" tone="primary" disabled={saving}>
            {saving ? 'Saving…' : isNew ? 'Create team' : 'Save team'}
          </Button>
          <Button onClick={onDone}>Cancel</Button>
        </div>
      </form>
    </Panel>
  );
}

function FieldError({ field, errors }: { field: string; errors: FieldErrors }) {
  const message = errors[field];
  if (!message) return null;
  return (
    <p id={`team-${field}-error`} data-field-error={field} className="mt-1 text-sm text-red-800 dark:text-red-300">
      {message}
    </p>
  );
}
