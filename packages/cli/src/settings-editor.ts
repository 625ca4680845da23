/**
 * Changing settings and schedules from the CLI. While the daemon runs it is the single writer,
 * so every change goes through its API (the same provisioning and events as TinyOffice).
 * Without a daemon the change is applied here with core's settings-editing service — the very
 * functions the API routes call — through the same kind of core SettingsSource the daemon gives
 * its routes: settings.json (config/settings-source.ts: locked, validated, a broken file never
 * overwritten) or, on PostgreSQL, the shared row (nodes/shared-settings.ts) (schedules: the
 * stores of the selected backend: the home's SQLite file, or PostgreSQL when storage.url /
 * TINYAGI_DATABASE_URL selects it). Both paths therefore accept, merge and refuse alike; a property test
 * (test/settings-equivalence.test.ts) holds them to it.
 */
import { loadSettings, type Settings } from '@tinyagi/core';
import {
  applyEnvOverrides,
  createAgent,
  createSchedule,
  createTeam,
  deleteCustomProvider,
  deleteTeam,
  maskSettings,
  patchAgent,
  patchSettings,
  patchTeam,
  prepareAgentWorkspace,
  putCustomProvider,
  removeAgent,
  setBuiltinProvider,
  fileSettingsSource,
  updateSchedule,
  type BuiltinCredentialProvider,
  type BuiltinProviderChange,
  type ScheduleCreate,
  type SchedulePatch,
  type ScheduleRecord,
  type SettingsSource,
  type StoreSet,
  type WorkspaceOutcome,
  type WorkspaceRemovalMode,
} from './core-internal.ts';
import type { CliContext } from './context.ts';
import { findDaemon, type DaemonConnection } from './daemon/connection.ts';
import { openSelectedStores, selectStorage, type StorageSelection } from './daemon/storage.ts';

type JsonObject = Record<string, unknown>;

export interface SettingsEditor {
  /** True when changes go through the running daemon. */
  readonly online: boolean;
  /** Current settings (secrets masked). */
  read(): Promise<Settings>;
  /** Creates an agent and provisions its workspace; ALREADY_EXISTS when an agent or a team has the id. */
  createAgent(id: string, config: JsonObject): Promise<void>;
  patchAgent(id: string, patch: JsonObject): Promise<void>;
  /** Refused while a team lists it; then archives (default), deletes or keeps its workspace. */
  deleteAgent(id: string, workspace?: WorkspaceRemovalMode): Promise<WorkspaceOutcome>;
  /** Creates a team; ALREADY_EXISTS when an agent or a team has the id. */
  createTeam(id: string, config: JsonObject & { agents: string[]; leader_agent: string }): Promise<void>;
  patchTeam(id: string, patch: JsonObject): Promise<void>;
  deleteTeam(id: string): Promise<void>;
  /** Credentials/model of a built-in provider; `make_default` sets models.provider. */
  setProvider(name: BuiltinCredentialProvider, change: BuiltinProviderChange): Promise<void>;
  putCustomProvider(id: string, body: JsonObject & { runtime: string; base_url: string }): Promise<void>;
  /** Refused while an agent (or the default provider) uses it. */
  deleteCustomProvider(id: string): Promise<void>;
  /** Merge-patch of the whole file (objects merge, arrays replace, null deletes). */
  patchSettings(patch: JsonObject): Promise<void>;
  listSchedules(query?: { agent?: string }): Promise<ScheduleRecord[]>;
  createSchedule(body: ScheduleCreate): Promise<ScheduleRecord>;
  patchSchedule(idOrLabel: string, patch: SchedulePatch): Promise<ScheduleRecord>;
  deleteSchedule(idOrLabel: string): Promise<void>;
}

export function settingsEditor(ctx: CliContext): SettingsEditor {
  const daemon = findDaemon(ctx);
  return daemon !== undefined ? onlineEditor(daemon) : offlineEditor(ctx);
}

function onlineEditor({ client }: DaemonConnection): SettingsEditor {
  return {
    online: true,
    read: async () => (await client.getSettings()) as Settings,
    createAgent: async (id, config) => void (await client.createAgent({ body: { ...config, id } })),
    patchAgent: async (id, patch) => void (await client.patchAgent({ params: { id }, body: patch })),
    deleteAgent: async (id, workspace) => (await client.deleteAgent({ params: { id }, query: workspace !== undefined ? { workspace } : {} })).workspace,
    createTeam: async (id, config) => void (await client.createTeam({ body: { ...config, id } })),
    patchTeam: async (id, patch) => void (await client.patchTeam({ params: { id }, body: patch })),
    deleteTeam: async (id) => void (await client.deleteTeam({ params: { id } })),
    setProvider: async (name, change) => void (await client.putProvider({ params: { name }, body: change })),
    putCustomProvider: async (id, body) => void (await client.putCustomProvider({ params: { id }, body })),
    deleteCustomProvider: async (id) => void (await client.deleteCustomProvider({ params: { id } })),
    patchSettings: async (patch) => void (await client.patchSettings({ body: patch })),
    listSchedules: async (query = {}) => client.listSchedules({ query }),
    createSchedule: async (body) => client.createSchedule({ body }),
    patchSchedule: async (id, patch) => client.patchSchedule({ params: { id }, body: patch }),
    deleteSchedule: async (id) => void (await client.deleteSchedule({ params: { id } })),
  };
}

function offlineEditor(ctx: CliContext): SettingsEditor {
  const file = ctx.paths.settings;
  const selection = (): StorageSelection => selectStorage(applyEnvOverrides(loadSettings(file).settings, ctx.env).settings, ctx.env, ctx.paths.db);
  /**
   * On PostgreSQL the settings every node uses are the database's shared row (settings.json is a
   * copy): read and edit that one, unless no node created it yet (then settings.json, which the
   * API node imports at its first start).
   */
  const withSettings = async <T>(use: (source: SettingsSource) => Promise<T>): Promise<T> => {
    const selected = selection();
    const shared = selected.backend === 'postgres' ? await (await import('./daemon/postgres.ts')).openSharedSettingsForEdit(selected, file, ctx.env) : undefined;
    // No daemon runs: there is no event log to record the change in (SQLite: the daemon reads the file at its start).
    const source = shared?.settings ?? fileSettingsSource({ file, env: ctx.env });
    try {
      return await use(source);
    } finally {
      await (shared ? shared.close() : source.close());
    }
  };
  const update = (mutate: (current: Settings) => Settings | Promise<Settings>): Promise<Settings> => withSettings((source) => source.update(mutate));
  const currentSettings = (): Promise<Settings> => withSettings(async (source) => source.raw());
  const withStores = async <T>(use: (stores: StoreSet) => T | Promise<T>): Promise<T> => {
    const stores = await openSelectedStores(selection());
    try {
      return await use(stores);
    } finally {
      await stores.close();
    }
  };
  return {
    online: false,
    read: async () => maskSettings(await currentSettings()),
    async createAgent(id, config) {
      await update(async (s) => {
        const next = createAgent(s, id, config);
        // Checked and provisioned before the write, as through the API.
        await prepareAgentWorkspace(next, id, file, ctx.env);
        return next;
      });
    },
    async patchAgent(id, patch) {
      await update((s) => patchAgent(s, id, patch));
    },
    deleteAgent: (id, workspace = 'archive') => removeAgent(update, id, workspace, ctx.env),
    async createTeam(id, config) {
      await update((s) => createTeam(s, id, config));
    },
    async patchTeam(id, patch) {
      await update((s) => patchTeam(s, id, patch));
    },
    async deleteTeam(id) {
      await update((s) => deleteTeam(s, id));
    },
    async setProvider(name, change) {
      await update((s) => setBuiltinProvider(s, name, change));
    },
    async putCustomProvider(id, body) {
      await update((s) => putCustomProvider(s, id, body).settings);
    },
    async deleteCustomProvider(id) {
      await update((s) => deleteCustomProvider(s, id));
    },
    async patchSettings(patch) {
      await update((s) => patchSettings(s, patch));
    },
    listSchedules: (query = {}) => withStores((stores) => stores.schedules.list(query.agent !== undefined ? { agentId: query.agent } : {})),
    createSchedule: async (body) => {
      const settings = await currentSettings();
      return withStores((stores) => createSchedule(stores.schedules, settings, body));
    },
    patchSchedule: async (id, patch) => {
      const settings = await currentSettings();
      return withStores((stores) => updateSchedule(stores.schedules, settings, id, patch));
    },
    deleteSchedule: (id) => withStores((stores) => stores.schedules.delete(id)),
  };
}
