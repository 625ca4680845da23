/**
 * The nodes on one PostgreSQL database (the daemon serving the API and `tinyagi worker`s), with
 * their heartbeat (docs/postgresql.md#registry-and-heartbeat).
 *
 * Contract:
 * - `register()` adds this process as a node: id a new ULID (`node_…`), a name unique among
 *   live nodes (a second live node with the same name is refused with ALREADY_EXISTS; a
 *   predecessor on the same host whose process is gone is taken over at once), and starts the
 *   heartbeat: `heartbeat_at` is updated every `heartbeatMs` (default 5 s).
 * - Times are the database's clock (`clock_timestamp()`), so machines whose clocks differ agree
 *   on who is live.
 * - A node is `live` while its last heartbeat is at most three of its intervals old, `stale`
 *   after that (it crashed, hangs or lost the database), `stopped` once it stopped cleanly
 *   (`stop()` sets `stopped_at`) or was replaced: a node registering under the name of a stale
 *   one marks that one stopped. A stale node that beats again is live again (a replaced one is
 *   told it was lost, `onLost`).
 * - Retention: `prune()` deletes stopped rows 10 minutes after they stopped and stale rows an
 *   hour after their last heartbeat (`NODE_RETENTION`); every node runs it (the CLI's cluster.ts).
 * - When the heartbeat cannot reach the database the node keeps beating at its interval and logs
 *   once when the beats start failing and once when they succeed again, not at every beat.
 * - Queue lease owners of a node's workers are `node:<node id>:<worker>` (`leaseOwner`), so lease
 *   recovery can tell from an owner whether its node is dead (`deadOwnerPredicate`).
 * - What a node publishes about itself is in its row's `meta` (JSON): its sandbox boundary
 *   (`publishSandbox`, docs/sandbox.md), read back as `sandbox` (null until published, or unreadable).
 */
import { hostname } from 'node:os';
import type { Pool } from 'pg';
import { NODE_NAME_PATTERN, type NodeSandbox, NodeSandboxSchema } from '@tinyagi/client/contract';
import { TinyError, errorMessage } from '../errors.ts';
import { newId } from '../ids.ts';
import { processExists } from '../process-exists.ts';
import { PgPoolScope, type PgScope } from '../storage/pg/scope.ts';

export const NODE_ROLES = ['api', 'worker'] as const;
export type NodeRole = (typeof NODE_ROLES)[number];
export type NodeState = 'live' | 'stale' | 'stopped';

export const DEFAULT_HEARTBEAT_MS = 5000;
/** A node is stale after this many heartbeat intervals without one. */
export const MISSED_HEARTBEATS = 3;

/** How long the rows of gone nodes stay listed before `prune` deletes them (docs/postgresql.md#registry-and-heartbeat). */
export interface NodeRetention {
  /** After the node stopped (cleanly, or replaced by a node of its name). */
  stoppedMs: number;
  /** After the last heartbeat of a node that went stale and never came back. */
  staleMs: number;
}

export const NODE_RETENTION: NodeRetention = { stoppedMs: 10 * 60_000, staleMs: 60 * 60_000 };

export interface NodeInfo {
  id: string;
  name: string;
  role: NodeRole;
  hostname: string;
  pid: number;
  version: string;
  startedAt: number;
  heartbeatAt: number;
  heartbeatMs: number;
  stoppedAt: number | null;
  state: NodeState;
  /** Milliseconds since the last heartbeat, by the database's clock. */
  heartbeatAgeMs: number;
  /** Its sandbox boundary as it published it (`LocalNode.publishSandbox`); null before. */
  sandbox: NodeSandbox | null;
}

/** Where the registry reports heartbeat trouble (the daemon's logger fits). */
export interface NodeLog {
  info(message: string): void;
  warn(message: string): void;
}

export interface NodeRegistryOptions {
  /** Default `tinyagi`. */
  schema?: string;
}

export interface RegisterNodeOptions {
  role: NodeRole;
  /** Default the host name. */
  name?: string;
  version?: string;
  /** Default 5000. */
  heartbeatMs?: number;
  log?: NodeLog;
  /**
   * Called once when a heartbeat finds this node's row stopped or gone (another node of the
   * same name took over, or it was pruned): this process should stop working as that node.
   */
  onLost?: () => void;
}

const LEASE_OWNER_PREFIX = 'node:';

/** The queue lease owner for a worker of node `nodeId`: `node:<node id>:<worker>`. */
export function leaseOwner(nodeId: string, worker: string = newId('w')): string {
  return `${LEASE_OWNER_PREFIX}${nodeId}:${worker}`;
}

/** The node id a lease owner embeds, or undefined for owners of another form (a SQLite daemon's). */
export function leaseOwnerNode(owner: string): string | undefined {
  if (!owner.startsWith(LEASE_OWNER_PREFIX)) return undefined;
  const end = owner.indexOf(':', LEASE_OWNER_PREFIX.length);
  const id = end === -1 ? owner.slice(LEASE_OWNER_PREFIX.length) : owner.slice(LEASE_OWNER_PREFIX.length, end);
  return id === '' ? undefined : id;
}

interface NodeRow {
  id: string;
  name: string;
  role: string;
  hostname: string;
  pid: number;
  version: string;
  started_at: number;
  heartbeat_at: number;
  heartbeat_ms: number;
  stopped_at: number | null;
  meta: string;
  now: number;
}

/** The sandbox a row's `meta` holds, or null (none published, or not readable by this version). */
function publishedSandbox(meta: string): NodeSandbox | null {
  try {
    const parsed = NodeSandboxSchema.safeParse((JSON.parse(meta) as { sandbox?: unknown }).sandbox);
    return parsed.success ? parsed.data : null;
  } catch {
    return null;
  }
}

/** The database's clock in ms: every node's times come from it. */
const DB_NOW = '(extract(epoch from clock_timestamp()) * 1000)::bigint';

function toNode(row: NodeRow): NodeInfo {
  const age = Math.max(0, row.now - row.heartbeat_at);
  const state: NodeState = row.stopped_at !== null ? 'stopped' : age > MISSED_HEARTBEATS * row.heartbeat_ms ? 'stale' : 'live';
  return {
    id: row.id,
    name: row.name,
    role: row.role as NodeRole,
    hostname: row.hostname,
    pid: row.pid,
    version: row.version,
    startedAt: row.started_at,
    heartbeatAt: row.heartbeat_at,
    heartbeatMs: row.heartbeat_ms,
    stoppedAt: row.stopped_at,
    state,
    heartbeatAgeMs: age,
    sandbox: publishedSandbox(row.meta),
  };
}

export class NodeRegistry {
  readonly #scope: PgScope;

  constructor(pool: Pool, options: NodeRegistryOptions = {}) {
    this.#scope = new PgPoolScope(pool, options.schema ?? 'tinyagi');
  }

  get #t(): string {
    return this.#scope.table('nodes');
  }

  /** Every node, oldest first, with its state by the database's clock. */
  async list(): Promise<NodeInfo[]> {
    const rows = await this.#scope.query<NodeRow>(`SELECT *, ${DB_NOW} AS now FROM ${this.#t} ORDER BY started_at, id`);
    return rows.map(toNode);
  }

  async get(id: string): Promise<NodeInfo | undefined> {
    const [row] = await this.#scope.query<NodeRow>(`SELECT *, ${DB_NOW} AS now FROM ${this.#t} WHERE id = $1`, [id]);
    return row ? toNode(row) : undefined;
  }

  /**
   * A predicate for `QueueStore.expireLeases`: true for owners whose node is stopped or stale,
   * from one read of the nodes now. Owners of another form and of nodes not in the table (never
   * registered, or pruned) are not called dead: their leases end by expiry, never early.
   */
  async deadOwnerPredicate(): Promise<(owner: string) => boolean> {
    const dead = new Set((await this.list()).filter((n) => n.state !== 'live').map((n) => n.id));
    return (owner) => {
      const id = leaseOwnerNode(owner);
      return id !== undefined && dead.has(id);
    };
  }

  /** Whether the node a lease owner embeds is stopped or stale (see `deadOwnerPredicate` for many owners). */
  async isNodeDead(owner: string): Promise<boolean> {
    const id = leaseOwnerNode(owner);
    if (id === undefined) return false;
    const node = await this.get(id);
    return node !== undefined && node.state !== 'live';
  }

  /**
   * Deletes the rows of nodes that are gone (by the database's clock): stopped ones stopped
   * `retention.stoppedMs` ago or longer (inclusive: the clock is read in whole milliseconds, so a
   * node stopped within the same millisecond is `stoppedMs: 0` old), stale ones whose last
   * heartbeat is more than `retention.staleMs` old. Live nodes are never deleted. Every node
   * calls it (`NODE_RETENTION`).
   */
  async prune(retention: NodeRetention = NODE_RETENTION): Promise<number> {
    const rows = await this.#scope.query(
      `DELETE FROM ${this.#t} WHERE (stopped_at IS NOT NULL AND stopped_at <= ${DB_NOW} - $1::bigint)
        OR (stopped_at IS NULL AND heartbeat_at < ${DB_NOW} - GREATEST($2::bigint, ${MISSED_HEARTBEATS} * heartbeat_ms::bigint)) RETURNING 1`,
      [retention.stoppedMs, retention.staleMs],
    );
    return rows.length;
  }

  /** Adds this process as a node and starts its heartbeat (see the module comment). */
  async register(options: RegisterNodeOptions): Promise<LocalNode> {
    const name = options.name ?? hostname();
    if (!NODE_NAME_PATTERN.test(name)) {
      throw new TinyError('CONFIG_INVALID', `Invalid node name "${name}": use letters, digits, ".", "_" or "-", starting with a letter or digit, at most 63 characters.`, {
        hint: 'Set another name with `--name` or node.name in settings.json.',
        details: { name },
      });
    }
    const heartbeatMs = Math.max(10, Math.floor(options.heartbeatMs ?? DEFAULT_HEARTBEAT_MS));
    const host = hostname();
    const id = newId('node');
    const t = this.#t;
    await this.#scope.transaction(async (tx) => {
      // Registrations of one name are serialised, so two nodes starting together cannot both pass the check.
      await tx.query('SELECT pg_advisory_xact_lock(hashtext($1), hashtext($2))', [`tinyagi.node.${tx.schema}`, name]);
      const rows = (await tx.query<NodeRow>(`SELECT *, ${DB_NOW} AS now FROM ${t} WHERE name = $1 AND stopped_at IS NULL`, [name])).map(toNode);
      // Stale predecessors of this name are replaced: stopped now (they are pruned with the stopped rows).
      const stale = rows.filter((n) => n.state === 'stale').map((n) => n.id);
      if (stale.length > 0) await tx.query(`UPDATE ${t} SET stopped_at = ${DB_NOW} WHERE id = ANY($1::text[])`, [stale]);
      for (const other of rows.filter((n) => n.state === 'live')) {
        // The same host and its process is gone: a crashed predecessor (restarted before it went stale).
        if (other.hostname === host && !processExists(other.pid)) {
          await tx.query(`UPDATE ${t} SET stopped_at = ${DB_NOW} WHERE id = $1`, [other.id]);
          continue;
        }
        throw new TinyError(
          'ALREADY_EXISTS',
          `A node named "${name}" is already running (${other.id}, ${other.role} on ${other.hostname}, pid ${other.pid}, last heartbeat ${(other.heartbeatAgeMs / 1000).toFixed(1)} s ago).`,
          {
            hint: `Give this node another name (\`--name\` or node.name in its settings.json), or stop the other one. A node that died counts as gone ${((MISSED_HEARTBEATS * other.heartbeatMs) / 1000).toFixed(0)} s after its last heartbeat.`,
            details: { name, node: other },
          },
        );
      }
      await tx.query(`INSERT INTO ${t} (id, name, role, hostname, pid, version, started_at, heartbeat_at, heartbeat_ms) VALUES ($1, $2, $3, $4, $5, $6, ${DB_NOW}, ${DB_NOW}, $7)`, [
        id,
        name,
        options.role,
        host,
        process.pid,
        options.version ?? '',
        heartbeatMs,
      ]);
    });
    const node = new LocalNode(this.#scope, { id, name, role: options.role, heartbeatMs, log: options.log, onLost: options.onLost });
    node.startHeartbeat();
    return node;
  }
}

interface LocalNodeInit {
  id: string;
  name: string;
  role: NodeRole;
  heartbeatMs: number;
  log: NodeLog | undefined;
  onLost: (() => void) | undefined;
}

/** This process as a registered node: its heartbeat runs until `stop()`. */
export class LocalNode {
  readonly id: string;
  readonly name: string;
  readonly role: NodeRole;
  readonly heartbeatMs: number;
  readonly #scope: PgScope;
  readonly #log: NodeLog | undefined;
  readonly #onLost: (() => void) | undefined;
  #timer: NodeJS.Timeout | undefined;
  #beating: Promise<void> | undefined;
  #failingSince: number | undefined;
  #failures = 0;
  /** When a heartbeat last reached the database (this process's clock; registration counts). */
  #beatAt = Date.now();
  #lastError: string | undefined;
  #lost = false;
  #stopped = false;

  constructor(scope: PgScope, init: LocalNodeInit) {
    this.#scope = scope;
    this.id = init.id;
    this.name = init.name;
    this.role = init.role;
    this.heartbeatMs = init.heartbeatMs;
    this.#log = init.log;
    this.#onLost = init.onLost;
  }

  /** A queue lease owner for one of this node's workers (`node:<id>:<worker>`). */
  leaseOwner(worker?: string): string {
    return leaseOwner(this.id, worker);
  }

  /** Heartbeats failed in a row (0 while the database answers). */
  get heartbeatFailures(): number {
    return this.#failures;
  }

  /**
   * Why this node is not healthy, or undefined (GET /api/health answers 503 with it): its row was
   * taken over, or no heartbeat reached the database for more than two intervals (failing, or
   * stuck waiting for a connection), so the other nodes will soon count it stale.
   */
  problem(now = Date.now()): string | undefined {
    if (this.#stopped) return undefined;
    if (this.#lost) return `node "${this.name}" (${this.id}) is marked stopped in the database (taken over by another node of this name, or pruned)`;
    const age = now - this.#beatAt;
    if (age <= 2 * this.heartbeatMs) return undefined;
    const why = this.#lastError !== undefined ? `last error: ${this.#lastError}` : 'a heartbeat is still waiting for the database';
    return `no heartbeat of node "${this.name}" reached the database for ${(age / 1000).toFixed(1)} s (${why}); the other nodes count it stale after ${(MISSED_HEARTBEATS * this.heartbeatMs) / 1000} s`;
  }

  /** @internal called by `NodeRegistry.register`. */
  startHeartbeat(): void {
    this.#schedule();
  }

  #schedule(): void {
    if (this.#stopped) return;
    this.#timer = setTimeout(() => {
      this.#beating = this.beat().finally(() => {
        this.#beating = undefined;
        this.#schedule();
      });
    }, this.heartbeatMs);
    this.#timer.unref();
  }

  /** One heartbeat now (the timer calls it; never throws: failures are logged once per outage). */
  async beat(): Promise<void> {
    try {
      const rows = await this.#scope.query(`UPDATE ${this.#scope.table('nodes')} SET heartbeat_at = ${DB_NOW} WHERE id = $1 AND stopped_at IS NULL RETURNING 1`, [this.id]);
      this.#failures = 0;
      this.#beatAt = Date.now();
      this.#lastError = undefined;
      if (this.#failingSince !== undefined) {
        this.#log?.info(`node ${this.name}: heartbeat restored after ${((Date.now() - this.#failingSince) / 1000).toFixed(1)} s without the database`);
        this.#failingSince = undefined;
      }
      if (rows.length === 0 && !this.#lost && !this.#stopped) {
        this.#lost = true;
        this.#log?.warn(`node ${this.name} (${this.id}) is marked stopped in the database (another node of this name took over, or it was pruned); this process should stop`);
        this.#onLost?.();
      }
    } catch (err) {
      this.#failures++;
      this.#lastError = errorMessage(err);
      if (this.#failingSince === undefined) {
        this.#failingSince = Date.now();
        this.#log?.warn(`node ${this.name}: heartbeat failed (${errorMessage(err)}); retrying every ${this.heartbeatMs} ms, logged again once it succeeds`);
      }
    }
  }

  /** Publishes this node's sandbox boundary in its row (read by every node: `NodeInfo.sandbox`); throws when the database cannot be reached. */
  async publishSandbox(sandbox: NodeSandbox): Promise<void> {
    await this.#scope.query(`UPDATE ${this.#scope.table('nodes')} SET meta = $2 WHERE id = $1`, [this.id, JSON.stringify({ sandbox })]);
  }

  /** Stops the heartbeat and marks the node stopped (its leases may then be recovered at once). */
  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    clearTimeout(this.#timer);
    await this.#beating;
    try {
      await this.#scope.query(`UPDATE ${this.#scope.table('nodes')} SET stopped_at = ${DB_NOW} WHERE id = $1 AND stopped_at IS NULL`, [this.id]);
    } catch (err) {
      this.#log?.warn(`node ${this.name}: cannot mark it stopped (${errorMessage(err)}); the other nodes will see it stale after ${MISSED_HEARTBEATS} missed heartbeats`);
    }
  }
}
