/**
 * Changing settings from the CLI. While the daemon runs it is the single writer, so every
 * change goes through its API (the same validation, provisioning and events as TinyOffice).
 * Without a daemon the change is applied with core's locked, validated updateSettings — the
 * same merge-patch semantics as PATCH /api/settings (objects merge, `null` deletes).
 */
import { ownEntry,
  agentWorkspaceDir,
  deepMergeSettings,
  loadSettings,
  maskSettings,
  provisionWorkspace,
  TinyError,
  updateSettings,
  type Settings,
} from '@tinyagi/core';
import { applyWorkspaceRemoval, planWorkspaceRemoval, type WorkspaceRemovalPlan } from '@tinyagi/server';
import type { WorkspaceOutcome, WorkspaceRemovalMode } from '@tinyagi/client';
import type { CliContext } from './context.ts';
import { findDaemon, type DaemonConnection } from './daemon/connection.ts';

type JsonObject = Record<string, unknown>;

export interface SettingsEditor {
  /** True when changes go through the running daemon. */
  readonly online: boolean;
  /** Current settings (secrets masked). */
  read(): Promise<Settings>;
  putAgent(id: string, config: JsonObject): Promise<{ created: boolean }>;
  patchAgent(id: string, patch: JsonObject): Promise<void>;
  /** Removes the agent, then archives (default), deletes or keeps its workspace. */
  deleteAgent(id: string, workspace?: WorkspaceRemovalMode): Promise<WorkspaceOutcome>;
  putTeam(id: string, config: JsonObject & { agents: string[]; leader_agent: string }): Promise<{ created: boolean }>;
  patchTeam(id: string, patch: JsonObject): Promise<void>;
  deleteTeam(id: string): Promise<void>;
  /** Credentials/model of a built-in provider; `makeDefault` sets models.provider. */
  setProvider(name: 'anthropic' | 'openai', fields: { api_key?: string; oauth_token?: string; model?: string }, makeDefault: boolean): Promise<void>;
  putCustomProvider(id: string, body: JsonObject & { harness: 'claude' | 'codex' | 'openai' | 'anthropic'; base_url: string }): Promise<void>;
  /** Refused while an agent uses it. */
  deleteCustomProvider(id: string): Promise<void>;
  /** Merge-patch of the whole file (objects merge, arrays replace, null deletes). */
  patchSettings(patch: JsonObject): Promise<void>;
}

export function settingsEditor(ctx: CliContext): SettingsEditor {
  const daemon = findDaemon(ctx);
  return daemon !== undefined ? onlineEditor(daemon) : offlineEditor(ctx);
}

function onlineEditor({ client }: DaemonConnection): SettingsEditor {
  return {
    online: true,
    read: async () => (await client.getSettings()) as Settings,
    putAgent: async (id, config) => ({ created: (await client.putAgent({ params: { id }, body: config })).created }),
    patchAgent: async (id, patch) => void (await client.patchAgent({ params: { id }, body: patch })),
    deleteAgent: async (id, workspace) => (await client.deleteAgent({ params: { id }, query: workspace !== undefined ? { workspace } : {} })).workspace,
    putTeam: async (id, config) => ({ created: (await client.putTeam({ params: { id }, body: config })).created }),
    patchTeam: async (id, patch) => void (await client.patchTeam({ params: { id }, body: patch })),
    deleteTeam: async (id) => void (await client.deleteTeam({ params: { id } })),
    setProvider: async (name, fields, makeDefault) => void (await client.putProvider({ params: { name }, body: { ...fields, make_default: makeDefault } })),
    putCustomProvider: async (id, body) => void (await client.putCustomProvider({ params: { id }, body })),
    deleteCustomProvider: async (id) => void (await client.deleteCustomProvider({ params: { id } })),
    patchSettings: async (patch) => void (await client.patchSettings({ body: patch })),
  };
}

function notFound(kind: 'agent' | 'team', id: string): TinyError {
  return kind === 'agent'
    ? new TinyError('AGENT_NOT_FOUND', `No agent "${id}".`, { hint: 'List agents with `tinyagi agent list`.' })
    : new TinyError('TEAM_NOT_FOUND', `No team "${id}".`, { hint: 'List teams with `tinyagi team list`.' });
}

function offlineEditor(ctx: CliContext): SettingsEditor {
  const file = ctx.paths.settings;
  const update = (mutate: (current: Settings) => Settings): Promise<Settings> => updateSettings(file, mutate, { env: ctx.env });
  const merge = (current: Settings, patch: JsonObject): Settings => deepMergeSettings(current as JsonObject, patch) as Settings;
  return {
    online: false,
    read: async () => maskSettings(loadSettings(file).settings),
    async putAgent(id, config) {
      let created = false;
      const written = await update((current) => {
        created = ownEntry(current.agents, id) === undefined;
        return merge(current, { agents: { [id]: { ...(ownEntry(current.agents, id) ?? {}), ...config } } });
      });
      if (created) await provisionWorkspace({ dir: agentWorkspaceDir(written, id, ctx.env), agentId: id });
      return { created };
    },
    async patchAgent(id, patch) {
      await update((current) => {
        if (ownEntry(current.agents, id) === undefined) throw notFound('agent', id);
        return merge(current, { agents: { [id]: patch } });
      });
    },
    async deleteAgent(id, workspace = 'archive') {
      let plan: WorkspaceRemovalPlan | undefined;
      await update((current) => {
        if (ownEntry(current.agents, id) === undefined) throw notFound('agent', id);
        const teams = Object.entries(current.teams ?? {}).filter(([, t]) => t.agents?.includes(id)).map(([t]) => t);
        if (teams.length > 0) {
          throw new TinyError('INVALID_STATE', `Agent "${id}" is a member of ${teams.join(', ')}.`, { hint: 'Remove it from those teams first.' });
        }
        plan = planWorkspaceRemoval(current, id, workspace, ctx.env);
        return merge(current, { agents: { [id]: null } });
      });
      if (plan === undefined) throw new TinyError('INTERNAL', 'The workspace removal was not planned.');
      return applyWorkspaceRemoval(plan);
    },
    async putTeam(id, config) {
      let created = false;
      await update((current) => {
        created = ownEntry(current.teams, id) === undefined;
        const next = merge(current, { teams: { [id]: null } });
        return merge(next, { teams: { [id]: { ...config } } });
      });
      return { created };
    },
    async patchTeam(id, patch) {
      await update((current) => {
        if (ownEntry(current.teams, id) === undefined) throw notFound('team', id);
        return merge(current, { teams: { [id]: patch } });
      });
    },
    async deleteTeam(id) {
      await update((current) => {
        if (ownEntry(current.teams, id) === undefined) throw notFound('team', id);
        return merge(current, { teams: { [id]: null } });
      });
    },
    async setProvider(name, fields, makeDefault) {
      await update((current) => merge(current, { models: { ...(makeDefault ? { provider: name } : {}), [name]: fields } }));
    },
    async putCustomProvider(id, body) {
      await update((current) => merge(merge(current, { custom_providers: { [id]: null } }), { custom_providers: { [id]: body } }));
    },
    async deleteCustomProvider(id) {
      await update((current) => {
        if (ownEntry(current.custom_providers, id) === undefined) throw new TinyError('PROVIDER_NOT_FOUND', `No custom provider "${id}".`, { hint: 'List them with `tinyagi provider list`.' });
        const users = Object.entries(current.agents ?? {}).filter(([, a]) => a.provider === `custom:${id}`).map(([a]) => a);
        if (users.length > 0) throw new TinyError('INVALID_STATE', `Custom provider "${id}" is used by ${users.join(', ')}.`, { hint: 'Switch those agents to another provider first (tinyagi agent provider <id> <provider>).' });
        return merge(current, { custom_providers: { [id]: null } });
      });
    },
    async patchSettings(patch) {
      await update((current) => merge(current, patch));
    },
  };
}
