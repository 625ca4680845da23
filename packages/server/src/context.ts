/**
 * What every route module receives: stores (including the small ones: pairings, schedules,
 * tasks, chat rooms, sessions), orchestrator and settings access (a core SettingsSource: every
 * settings route reads and edits through it). Built complete, once per server, by buildServer
 * before the app. The stores are a `StoreSet` of either backend (SQLite or PostgreSQL): every call
 * is awaited (SQLite's return plain values, PostgreSQL's promises).
 */
import type { Settings } from '@tinyagi/core';
import {
  fileSettingsSource,
  type AgentMessageStoreApi,
  type AgentSessionStoreApi,
  type ChatroomStoreApi,
  type PairingStoreApi,
  ReplyDelivery,
  type ScheduleStoreApi,
  type StoreSet,
  type SettingsSource,
  type TaskStoreApi,
} from './core-internal.ts';
import type { BuildServerOptions, ServerLimits, ServerLog } from './options.ts';
import { DEFAULT_SERVER_LIMITS } from './options.ts';
import { OfficeLogins } from './security/office-logins.ts';
import { orchestratorFacets, TaskFlow, type Orchestrator, Workflows } from '@tinyagi/teams';
import { registerBuiltinForgeKinds } from './forge.ts';
import type { ServerOrchestrator, ServerOrchestratorFacets } from './orchestrator.ts';

export interface ServerContext {
  stores: StoreSet;
  orchestrator: ServerOrchestrator;
  /** Steering, approvals, chat rooms, conversation control and views (BuildServerOptions.orchestratorFacets). */
  facets: ServerOrchestratorFacets;
  home: string;
  settingsFile: string;
  token: string;
  version: string;
  startedAt: number;
  env: Readonly<Record<string, string | undefined>>;
  limits: ServerLimits;
  daemon: BuildServerOptions['daemon'];
  logFile: string | undefined;
  /** TinyOffice's static export, when the app serves it. */
  officeDir: string | undefined;
  log: ServerLog;
  /** Where settings are read and edited (core/src/config/settings-source.ts, or the shared row on PostgreSQL). */
  settingsSource: SettingsSource;
  /** The current settings: `settingsSource.get()`. */
  settings(): Settings;
  /** `settingsSource.update`: validated, locked read-modify-write that records `settings.changed`; `mutate` gets a private copy. Returns the new settings. */
  updateSettings(mutate: (current: Settings) => Settings | Promise<Settings>): Promise<Settings>;
  /** The reply delivery protocol (core's outbox/delivery.ts): the outbox routes and the channel sign-in hook go through it. */
  delivery: ReplyDelivery;
  pairings: PairingStoreApi;
  schedules: ScheduleStoreApi;
  tasks: TaskStoreApi;
  chatroom: ChatroomStoreApi;
  agentMessages: AgentMessageStoreApi;
  agentSessions: AgentSessionStoreApi;
  /** TinyOffice logins: one-time login codes and the login cookies they are exchanged for. */
  logins: OfficeLogins;
  /** The task flow: every transition of a task goes through it (teams' `TaskFlow`). */
  taskFlow: TaskFlow;
  /** True when the server made `taskFlow` itself (it then starts and stops it). */
  ownsTaskFlow: boolean;
  /** The workflow engine (teams' `Workflows`): what the workflow routes ask. */
  workflows: Workflows;
  /** True when the server made `workflows` itself (it then starts and stops it). */
  ownsWorkflows: boolean;
}

const STDERR_LOG: ServerLog = {
  warn: (message) => process.stderr.write(`WARN  [api] ${message}\n`),
  error: (message) => process.stderr.write(`ERROR [api] ${message}\n`),
};

export function createContext(options: BuildServerOptions): ServerContext {
  const { stores } = options;
  const env = options.env ?? process.env;
  const log = options.log ?? STDERR_LOG;
  const source = options.settings ?? fileSettingsSource({ file: options.settingsFile, env, events: stores.events, log: { info: () => {}, ...log } });
  const limits = { ...DEFAULT_SERVER_LIMITS, ...options.limits };
  // The forges a binding may name, for the binding routes and the task flow (the daemon's own flow included).
  registerBuiltinForgeKinds();
  const taskFlow = options.taskFlow ?? new TaskFlow({ stores, orchestrator: options.orchestrator, home: options.home, env, settings: () => source.get(), log, sweepMs: limits.taskSweepMs });
  const facets = options.orchestratorFacets ?? options.orchestratorServices ?? orchestratorFacets(options.orchestrator as Orchestrator);
  const workflows =
    options.workflows ??
    new Workflows({
      stores,
      orchestrator: options.orchestrator,
      cancelConversation: (id, reason) => facets.conversations.cancelConversation(id, reason),
      settings: () => source.get(),
      taskFlow,
      log: { info: () => {}, warn: log.warn },
    });
  return {
    stores,
    orchestrator: options.orchestrator,
    facets,
    home: options.home,
    settingsFile: options.settingsFile,
    token: options.token,
    version: options.version,
    startedAt: options.startedAt ?? Date.now(),
    env,
    limits,
    daemon: options.daemon,
    logFile: options.logFile,
    officeDir: options.officeDir,
    log,
    settingsSource: source,
    settings: () => source.get(),
    updateSettings: (mutate) => source.update(mutate),
    delivery: options.delivery ?? new ReplyDelivery(stores),
    pairings: stores.pairings,
    schedules: stores.schedules,
    tasks: stores.tasks,
    chatroom: stores.chatroom,
    agentMessages: stores.agentMessages,
    agentSessions: stores.agentSessions,
    logins: new OfficeLogins(options.home),
    taskFlow,
    ownsTaskFlow: options.taskFlow === undefined,
    workflows,
    ownsWorkflows: options.workflows === undefined,
  };
}
