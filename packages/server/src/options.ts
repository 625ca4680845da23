import type { TaskFlow, Workflows } from '@tinyagi/teams';
import type { MachineCheck, ReplyDelivery, SettingsSource, StoreSet } from './core-internal.ts';
import type { AgentWaitingForNode, ChannelStatus, NodeStatus } from '@tinyagi/client/contract';
import type { ServerOrchestrator, ServerOrchestratorFacets } from './orchestrator.ts';
import type { IncomingMessage, ServerResponse } from 'node:http';

/** The daemon's channel supervisor as the server drives it (GET /api/channels, POST /api/channels/:name/:action). */
export interface ChannelControl {
  status(): ChannelStatus[] | Promise<ChannelStatus[]>;
  start(name: string): unknown;
  stop(name: string): unknown;
  restart(name: string): unknown;
}

/**
 * Who calls `/mcp`: a person's MCP client (the API token: the client tools) or an agent's CLI
 * (its process's tools token: the agent tools, for the run that token acts for at each call).
 */
export type McpCaller = { kind: 'client' } | { kind: 'agent'; toolsToken: string };

/** Answers one `/mcp` request (routes/mcp.ts); `body` is the parsed JSON of a POST (undefined otherwise). */
export type McpHttpHandler = (req: IncomingMessage, res: ServerResponse, body: unknown, caller: McpCaller) => Promise<void>;

/** Where the server writes what an operator must see (the daemon passes its log; default: stderr). */
export interface ServerLog {
  warn(message: string): void;
  error(message: string): void;
}

export interface BuildServerOptions {
  /** Either backend's stores (SQLite's `openStores`, PostgreSQL's `openPgStores`). */
  stores: StoreSet;
  /** The reply delivery protocol over `stores` (the daemon passes the one its channel supervisor uses); default: one made here. */
  delivery?: ReplyDelivery;
  /** The pipeline: takes messages in, runs sub-agents, a running run's declared actions, what runs now. */
  orchestrator: ServerOrchestrator;
  /**
   * The facets built on the orchestrator (steering, approvals, chat rooms, conversation control
   * and views): teams' `orchestratorFacets(orchestrator)`, which the daemon passes. Default: made
   * here from `orchestrator`, which must then be @tinyagi/teams' Orchestrator (a TypeError otherwise).
   */
  orchestratorFacets?: ServerOrchestratorFacets;
  /** @deprecated The old name of `orchestratorFacets`, still read when that is absent. */
  orchestratorServices?: ServerOrchestratorFacets;
  /**
   * The task flow (teams' `TaskFlow`): the daemon passes the one it starts and stops as its own
   * service. Default: one made here on `orchestrator`, started when the server is ready and
   * stopped when it closes.
   */
  taskFlow?: TaskFlow;
  /**
   * The workflow engine (teams' `Workflows`): the daemon passes the one it starts and stops as its
   * own service. Default: one made here on `orchestrator`, started when the server is ready and
   * stopped when it closes.
   */
  workflows?: Workflows;
  /** TINYAGI_HOME: files/, logs/ and the token live here. */
  home: string;
  settingsFile: string;
  /**
   * Where the routes read settings and send their edits (core's SettingsSource: it validates,
   * writes under the lock and records `settings.changed`). The daemon passes its own (live
   * settings.json, or the shared row on PostgreSQL). Default: core's `fileSettingsSource` on
   * settingsFile, re-read when the file changes, recording into the stores' event log.
   */
  settings?: SettingsSource;
  /** The API token (see loadOrCreateApiToken). */
  token: string;
  version: string;
  startedAt?: number;
  /** What the server asks of the daemon it runs in; absent (or partly) when it runs without one (tests, embedders). */
  daemon?: {
    restart?: () => Promise<void>;
    channels?: ChannelControl;
    /** The scheduler's heartbeat state (last sends, next due), shown by GET /api/status. */
    heartbeat?: () => unknown;
    /** The nodes of a PostgreSQL installation (GET /api/status, `tinyagi status`). */
    nodes?: () => Promise<NodeStatus[]>;
    /** Agents placed on a node that is down (GET /api/status, `tinyagi status`). */
    waitingForNodes?: () => Promise<AgentWaitingForNode[]>;
    /** Why this node is unhealthy (PostgreSQL: its heartbeat cannot run), or undefined: GET /api/health answers 503 with it. */
    problem?: () => string | undefined;
    /**
     * This node's machine check, as its sandbox host holds it (its self-test's once ended): the
     * sandbox status of GET /api/status and of its agents. Absent, or undefined: none known yet.
     */
    sandbox?: () => MachineCheck | undefined;
  };
  /** TinyOffice's static export (apps/tinyoffice/out), served at / when given. */
  officeDir?: string;
  /** The daemon log served by GET /api/logs. */
  logFile?: string;
  /** Environment for path expansion (`~` in workspace.path); default process.env. */
  env?: Readonly<Record<string, string | undefined>>;
  /** Request limits (defaults suit one user; tests lower them). */
  limits?: Partial<ServerLimits>;
  /** Every 5xx (with its request id and stack) and every warning; default stderr. */
  log?: ServerLog;
  /**
   * TinyAGI's MCP server at `/mcp` (streamable HTTP) for people's MCP clients (the API token) and
   * agents' CLIs (a tools token): the daemon passes it (routes/mcp.ts); without it `/mcp` is not found.
   */
  mcp?: McpHttpHandler;
  /** Fastify logger: false (default) or pino options. */
  logger?: boolean | object;
}

export interface ServerLimits {
  bodyBytes: number;
  /** Containers nested in one another in a JSON body (settings need 8; the rest is headroom). */
  jsonDepth: number;
  /** Pairing requests and approvals per minute per credential (POST /api/message: settings server.rate_limit). */
  pairingPerMinute: number;
  /** SSE keep-alive comment interval. */
  sseKeepAliveMs: number;
  /** Events queued for one SSE client before it is disconnected (it resumes with Last-Event-ID). */
  sseClientBuffer: number;
  /** Events replayed per page from the log on (re)connect. */
  sseReplayPage: number;
  /** How often a task flow made by the server looks for a task step nobody drives (a stopped node's). */
  taskSweepMs: number;
}

export const DEFAULT_SERVER_LIMITS: ServerLimits = {
  bodyBytes: 1024 * 1024,
  jsonDepth: 64,
  pairingPerMinute: 30,
  sseKeepAliveMs: 15_000,
  sseClientBuffer: 5000,
  sseReplayPage: 500,
  taskSweepMs: 5_000,
};
