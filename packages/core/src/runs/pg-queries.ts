/**
 * The orchestrator's read queries across queue, runs and conversations on PostgreSQL: the
 * statements and mappers of the SQLite `ConversationQueries` (runs/store.ts, runs/sqlite-store.ts), over a `PgScope`
 * (inside a transaction they see its uncommitted writes).
 */
import type { ConversationQueriesApi } from './store.ts';
import { positionalAll, type PgScope } from '../storage/pg/scope.ts';
import { queryStatements, toOpenRun, type OpenRunRow } from './store.ts';

const statementsBySchema = new Map<string, ReturnType<typeof pgStatements>>();

function pgStatements(scope: PgScope) {
  const q = positionalAll(queryStatements({ messages: scope.table('messages'), runs: scope.table('runs'), conversations: scope.table('conversations') }, 'false'));
  // Ties of created_at by id (ULIDs, increasing within a process), where SQLite uses rowid.
  return { ...q, openRuns: q.openRuns('created_at, id'), openRunsOf: q.openRunsOf('depth DESC, created_at, id') };
}

export class PgConversationQueries implements ConversationQueriesApi {
  readonly #scope: PgScope;
  readonly #q: ReturnType<typeof pgStatements>;

  constructor(scope: PgScope) {
    this.#scope = scope;
    let q = statementsBySchema.get(scope.schema);
    if (!q) {
      q = pgStatements(scope);
      statementsBySchema.set(scope.schema, q);
    }
    this.#q = q;
  }

  async #count(sql: string, values: unknown[]): Promise<number> {
    return (await this.#scope.query<{ n: number }>(sql, values))[0]!.n;
  }

  async #ids(sql: string, values: unknown[]): Promise<string[]> {
    return (await this.#scope.query<{ id: string }>(sql, values)).map((r) => r.id);
  }

  unfinishedMessages(conversationId: string): Promise<number> {
    return this.#count(this.#q.unfinishedMessages, [conversationId]);
  }

  pendingMessagesOf(conversationId: string): Promise<string[]> {
    return this.#ids(this.#q.pendingOf, [conversationId]);
  }

  async messageStatus(messageId: string): Promise<string | undefined> {
    return (await this.#scope.query<{ status: string }>(this.#q.messageStatus, [messageId]))[0]?.status;
  }

  activeStartedBefore(createdBefore: number, limit: number): Promise<string[]> {
    return this.#ids(this.#q.oldestActive, [createdBefore, limit]);
  }

  async openRuns(): Promise<OpenRunRow[]> {
    return (await this.#scope.query<Parameters<typeof toOpenRun>[0]>(this.#q.openRuns)).map(toOpenRun);
  }

  async openRunsOf(conversationId: string): Promise<OpenRunRow[]> {
    return (await this.#scope.query<Parameters<typeof toOpenRun>[0]>(this.#q.openRunsOf, [conversationId])).map(toOpenRun);
  }

  recentConversationsOf(channel: string, senderId: string, sinceTs: number): Promise<string[]> {
    return this.#ids(this.#q.latestOfSender, [channel, senderId, sinceTs]);
  }

  async activeRoomConversation(teamId: string): Promise<string | undefined> {
    return (await this.#ids(this.#q.activeRoom, [teamId]))[0];
  }

  async spawnedChildren(runId: string): Promise<{ total: number; running: number }> {
    return { total: await this.#count(this.#q.spawnedChildren, [runId]), running: await this.#count(this.#q.runningChildren, [runId]) };
  }
}
