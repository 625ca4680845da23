/** System: health, status, services, channels, logs, auth tickets. */
import * as z from 'zod';
import { route } from './route.ts';
import { Bool, IdText, Int, IntParam, NullableStr, NullableTimestamp, Num, ShortText, Str, StrArray, TimestampSchema } from './common.ts';
import { KIND_NAME_PATTERN } from './kinds.ts';
import { QueueCountsSchema } from './queue.ts';
import { NodeSandboxSchema, SandboxMachineSchema } from './sandbox.ts';
import { ChannelStatusSchema } from './channel-status.ts';

export * from './channel-status.ts';

/** A node of a PostgreSQL installation (docs/postgresql.md#several-nodes). */
export const NodeStatusSchema = z.object({
  id: Str,
  name: Str,
  role: z.enum(['api', 'worker']),
  hostname: Str,
  pid: Int,
  version: Str,
  /** live; stale: no heartbeat for 3 of its intervals (crashed, hung or cut off); stopped: stopped cleanly. */
  state: z.enum(['live', 'stale', 'stopped']),
  startedAt: TimestampSchema,
  heartbeatAt: TimestampSchema,
  heartbeatAgeMs: Num,
  /** This node is the one answering. */
  self: Bool,
  /** Its sandbox boundary as its own self-test found it (docs/sandbox.md); null until it published one. */
  sandbox: NodeSandboxSchema.nullable().optional(),
});
export type NodeStatus = z.infer<typeof NodeStatusSchema>;

/** An agent placed on a node that is down: its messages wait, pending, until that node runs (docs/postgresql.md#agent-placement-and-sessions). */
export const AgentWaitingForNodeSchema = z.object({
  agentId: Str,
  /** The node its settings place it on. */
  node: Str,
  /** `stale` (no heartbeat: crashed, hung, cut off), `stopped`, or `absent` (never registered, or its row aged out). */
  nodeState: z.enum(['stale', 'stopped', 'absent']),
  /** Its messages waiting in the queue. */
  pending: Int,
});
export type AgentWaitingForNode = z.infer<typeof AgentWaitingForNodeSchema>;

export const StatusSchema = z.object({
  ok: z.literal(true),
  version: Str,
  pid: Int,
  startedAt: TimestampSchema,
  uptimeS: Num,
  queue: QueueCountsSchema,
  outbox: z.record(Str, Int),
  lastEventId: Int,
  /** Runs running and paused on the node that answers (with several nodes, the API node's own). */
  orchestrator: z.unknown(),
  channels: z.array(ChannelStatusSchema),
  /** Heartbeat scheduler state, when the daemon provides it; null otherwise. */
  heartbeat: z.unknown(),
  /** Where the stores live: `sqlite`, or `postgres` (then `nodes` lists every node of the database). */
  storage: z.enum(['sqlite', 'postgres']),
  /** The nodes sharing this database, live ones first (PostgreSQL); empty on SQLite (one process). A stopped node whose name is live again is left out; other stopped nodes age out 10 minutes after they stopped, stale ones an hour after their last heartbeat. */
  nodes: z.array(NodeStatusSchema),
  /** Agents placed on a node that is down, whose messages wait for it (PostgreSQL; empty on SQLite). */
  waitingForNodes: z.array(AgentWaitingForNodeSchema).optional(),
  /** The boundary of sandboxed agents on this node's machine (docs/sandbox.md); null before its self-test. */
  sandbox: SandboxMachineSchema.nullable().optional(),
});
export type Status = z.infer<typeof StatusSchema>;

export const CHANNEL_ACTIONS = ['start', 'stop', 'restart'] as const;

export const CHANNEL_LOGIN_STATES = ['unknown', 'connecting', 'qr', 'open', 'closed', 'logged_out'] as const;

export const ChannelLoginSchema = z.object({
  channel: Str,
  /** `qr`: scan `qr` now; `open`: linked; `logged_out`: reset the channel and log in again; `unknown`: the channel has not run yet. */
  state: z.enum(CHANNEL_LOGIN_STATES),
  /** The QR code's text (render it as a QR code) while `state` is `qr`. */
  qr: NullableStr,
  at: NullableTimestamp,
});
export type ChannelLogin = z.infer<typeof ChannelLoginSchema>;

export const LOG_SOURCES = ['daemon'] as const;

export const RestartDaemonResultSchema = z.object({ ok: z.literal(true), action: z.literal('restart') });

export const systemContract = {
  health: route({
    method: 'GET',
    path: '/api/health',
    summary: 'Liveness probe (no token needed); 503 NOT_AVAILABLE with details { status: "degraded", reason } when this node cannot keep its heartbeat (PostgreSQL)',
    tag: 'system',
    auth: 'none',
    response: z.object({ ok: z.literal(true), version: Str }),
  }),
  status: route({
    method: 'GET',
    path: '/api/status',
    summary: 'Uptime, version, queue and outbox counts, running work, channels and heartbeat state',
    tag: 'system',
    response: StatusSchema,
  }),
  restartDaemon: route({
    method: 'POST',
    path: '/api/daemon/restart',
    summary: 'Restart the daemon (answers first, then restarts)',
    tag: 'system',
    status: 202,
    response: RestartDaemonResultSchema,
  }),
  /** The old name and path of restartDaemon, still served for the clients written against it. */
  restartServices: route({
    method: 'POST',
    path: '/api/services/restart',
    summary: 'Deprecated: the old name and path of restartDaemon (POST /api/daemon/restart), which it does the same as.',
    tag: 'system',
    status: 202,
    deprecated: true,
    response: RestartDaemonResultSchema,
  }),
  listChannels: route({
    method: 'GET',
    path: '/api/channels',
    summary: 'Channel clients supervised by the daemon',
    tag: 'system',
    response: z.array(ChannelStatusSchema),
  }),
  channelLogin: route({
    method: 'GET',
    path: '/api/channels/:name/login',
    summary: 'Login state of a QR-login channel (WhatsApp): the QR code to scan, or whether it is linked',
    tag: 'system',
    /** A registered channel kind that logs in by QR code (its descriptor's `login: 'qr'`); any other name is refused with VALIDATION_FAILED. */
    params: z.object({ name: z.string().regex(KIND_NAME_PATTERN, 'must be a channel name') }),
    response: ChannelLoginSchema,
  }),
  channelAction: route({
    method: 'POST',
    path: '/api/channels/:name/:action',
    summary: 'Start, stop or restart a channel client',
    tag: 'system',
    params: z.object({ name: ShortText, action: z.enum(CHANNEL_ACTIONS) }),
    response: z.object({ ok: z.literal(true), channel: Str, action: z.enum(CHANNEL_ACTIONS), status: ChannelStatusSchema.optional() }),
  }),
  logs: route({
    method: 'GET',
    path: '/api/logs',
    summary: 'The last lines of the daemon log (bounded)',
    tag: 'system',
    query: z.object({ lines: IntParam(1, 2000).optional() }),
    response: z.object({ file: Str, lines: StrArray, truncated: Bool }),
  }),
  createTicket: route({
    method: 'POST',
    path: '/api/auth/ticket',
    summary: 'A short-lived ticket for EventSource clients (GET /api/events?ticket=…)',
    tag: 'auth',
    status: 201,
    response: z.object({ ticket: Str, expiresAt: TimestampSchema }),
  }),
  createLoginCode: route({
    method: 'POST',
    path: '/api/auth/login-code',
    summary: 'A one-time TinyOffice login code (API token only; `tinyagi office` prints it as a link)',
    tag: 'auth',
    status: 201,
    response: z.object({ code: Str, expiresAt: TimestampSchema }),
  }),
  createSession: route({
    method: 'POST',
    path: '/api/auth/session',
    summary: 'Exchange a one-time login code for a session cookie (HttpOnly, SameSite=Strict)',
    tag: 'auth',
    auth: 'none',
    status: 201,
    body: z.object({ code: IdText }),
    response: z.object({ ok: z.literal(true), expiresAt: TimestampSchema }),
  }),
  getSession: route({
    method: 'GET',
    path: '/api/auth/session',
    summary: 'How this request is authenticated (the session cookie or the token)',
    tag: 'auth',
    response: z.object({ kind: z.enum(['session', 'token']), expiresAt: NullableTimestamp }),
  }),
  deleteSession: route({
    method: 'DELETE',
    path: '/api/auth/session',
    summary: 'Log out: revoke the session and clear its cookie',
    tag: 'auth',
    response: z.object({ ok: z.literal(true) }),
  }),
} as const;
