/**
 * Agent sessions, the agents' chat history and sender defaults on PostgreSQL: the statements,
 * values and mappers of the SQLite stores (./store.ts, ./sqlite-stores.ts) over a `PgScope`.
 */
import { deleteInBatches } from '../storage/pg/helpers.ts';
import { positionalAll, type PgScope } from '../storage/pg/scope.ts';
import type { AgentMessageRow, AgentSessionRow } from '../storage/rows.ts';
import {
  agentMessagePage,
  agentMessageStatements,
  agentMessageValues,
  nextTurn,
  senderDefaultStatements,
  sessionStatements,
  sessionValues,
  toAgentMessage,
  toSessionRecord,
  type AgentMessageRecord,
  type AgentMessageStoreApi,
  type AgentSessionRecord,
  type AgentSessionStoreApi,
  type AppendAgentMessageInput,
  type RecordTurnInput,
  type SenderDefaultsStoreApi,
} from './store.ts';

/** A store over a scope with its table's statements (`?` placeholders numbered for PostgreSQL). */
abstract class PgTableStore<S extends Record<string, string | ((...args: never[]) => string)>> {
  protected readonly scope: PgScope;
  protected readonly s: S;

  constructor(scope: PgScope, table: string, statements: (table: string) => S) {
    this.scope = scope;
    this.s = positionalAll(statements(scope.table(table)));
  }
}

export class PgAgentSessionStore extends PgTableStore<ReturnType<typeof sessionStatements>> implements AgentSessionStoreApi {
  constructor(scope: PgScope) {
    super(scope, 'agent_sessions', sessionStatements);
  }

  async get(agentId: string, sessionKey: string): Promise<AgentSessionRecord | undefined> {
    const [row] = await this.scope.query<AgentSessionRow>(this.s.get, [agentId, sessionKey]);
    return row ? toSessionRecord(row) : undefined;
  }

  async list(agentId: string): Promise<AgentSessionRecord[]> {
    return (await this.scope.query<AgentSessionRow>(this.s.list, [agentId])).map(toSessionRecord);
  }

  /**
   * Read-then-write, so the row is locked while the turn is added (two nodes recording turns of
   * one session do not lose one). A first turn inserts; if another inserted the row meanwhile,
   * its row is locked and read again.
   */
  recordTurn(agentId: string, sessionKey: string, input: RecordTurnInput): Promise<AgentSessionRecord> {
    return this.scope.transaction(async (tx) => {
      for (;;) {
        const [row] = await tx.query<AgentSessionRow>(`${this.s.get} FOR UPDATE`, [agentId, sessionKey]);
        const next = nextTurn(agentId, sessionKey, row ? toSessionRecord(row) : undefined, input);
        if (row) {
          await tx.query(this.s.upsert, sessionValues(next));
          return next;
        }
        const inserted = await tx.query(`${this.s.insertNew} RETURNING 1`, sessionValues(next));
        if (inserted.length === 1) return next;
      }
    });
  }

  prune(beforeTs: number, batchSize = 1000): Promise<number> {
    return deleteInBatches(this.scope, this.s.prune, [beforeTs], batchSize);
  }

  async resetKeys(sessionKeys: readonly string[]): Promise<number> {
    if (sessionKeys.length === 0) return 0;
    return (await this.scope.query(`${this.s.resetKeys(sessionKeys.length)} RETURNING 1`, [...sessionKeys])).length;
  }

  async reset(agentId: string, sessionKey?: string): Promise<number> {
    const rows = await (sessionKey === undefined ? this.scope.query(`${this.s.resetAgent} RETURNING 1`, [agentId]) : this.scope.query(`${this.s.resetOne} RETURNING 1`, [agentId, sessionKey]));
    return rows.length;
  }
}

export class PgAgentMessageStore extends PgTableStore<ReturnType<typeof agentMessageStatements>> implements AgentMessageStoreApi {
  constructor(scope: PgScope) {
    super(scope, 'agent_messages', agentMessageStatements);
  }

  async append(input: AppendAgentMessageInput): Promise<number> {
    return (await this.scope.query<{ id: number }>(`${this.s.insert} RETURNING id`, agentMessageValues(input)))[0]!.id;
  }

  async list(agentId: string, query: { beforeId?: number; sinceId?: number; limit?: number } = {}): Promise<AgentMessageRecord[]> {
    const page = agentMessagePage(agentId, query);
    return (await this.scope.query<AgentMessageRow>(page.after ? this.s.after : this.s.page, page.values)).map(toAgentMessage);
  }

  prune(beforeTs: number, batchSize = 5000): Promise<number> {
    return deleteInBatches(this.scope, this.s.prune, [beforeTs], batchSize);
  }
}

export class PgSenderDefaultsStore extends PgTableStore<ReturnType<typeof senderDefaultStatements>> implements SenderDefaultsStoreApi {
  constructor(scope: PgScope) {
    super(scope, 'sender_defaults', senderDefaultStatements);
  }

  async get(channel: string, senderId: string): Promise<string | undefined> {
    return (await this.scope.query<{ target: string }>(this.s.get, [channel, senderId]))[0]?.target;
  }

  async set(channel: string, senderId: string, target: string): Promise<void> {
    await this.scope.query(this.s.set, [channel, senderId, target, Date.now()]);
  }

  async clear(channel: string, senderId: string): Promise<boolean> {
    return (await this.scope.query(`${this.s.clear} RETURNING 1`, [channel, senderId])).length > 0;
  }
}
