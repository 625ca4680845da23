/**
 * The PostgreSQL schema (drizzle pg dialect), next to the SQLite one (`../schema.ts`): same table
 * and column names, PostgreSQL types (bigint ms timestamps read as numbers, booleans, jsonb).
 * Migrations: `drizzle-pg/` (drizzle-kit generate with `drizzle-pg.config.ts`), applied by
 * `migratePg` into one schema per installation (or per test). Only the queue's table so far.
 */
import { sql } from 'drizzle-orm';
import { bigint, bigserial, boolean, index, integer, jsonb, pgTable, text } from 'drizzle-orm/pg-core';

export const messages = pgTable(
  'messages',
  {
    seq: bigserial('seq', { mode: 'number' }).primaryKey(),
    id: text('id').notNull().unique(),
    kind: text('kind').notNull(),
    agentId: text('agent_id').notNull(),
    teamId: text('team_id'),
    conversationId: text('conversation_id').notNull(),
    parentMessageId: text('parent_message_id'),
    parentRunId: text('parent_run_id'),
    runId: text('run_id'),
    depth: integer('depth').notNull().default(0),
    channel: text('channel').notNull(),
    sender: text('sender').notNull().default(''),
    senderId: text('sender_id').notNull().default(''),
    threadKey: text('thread_key'),
    content: text('content').notNull(),
    attachments: jsonb('attachments').$type<string[]>().notNull().default([]),
    meta: jsonb('meta').$type<Record<string, unknown>>().notNull().default({}),
    status: text('status').notNull().default('pending'),
    attempts: integer('attempts').notNull().default(0),
    maxAttempts: integer('max_attempts').notNull().default(5),
    rateLimitWaits: integer('rate_limit_waits').notNull().default(0),
    availableAt: bigint('available_at', { mode: 'number' }).notNull(),
    leaseOwner: text('lease_owner'),
    leaseExpiresAt: bigint('lease_expires_at', { mode: 'number' }),
    cancelRequested: boolean('cancel_requested').notNull().default(false),
    /** Set when a collected batch failed or crashed: claim this message alone from now on. */
    solo: boolean('solo').notNull().default(false),
    lastError: text('last_error'),
    lastFailure: text('last_failure'),
    idempotencyKey: text('idempotency_key').unique(),
    createdAt: bigint('created_at', { mode: 'number' }).notNull(),
    updatedAt: bigint('updated_at', { mode: 'number' }).notNull(),
    finishedAt: bigint('finished_at', { mode: 'number' }),
  },
  // Partial indexes over live rows, as on SQLite: queries repeat the literal `status = '…'` term.
  (t) => [
    index('messages_pending_seq').on(t.seq).where(sql`status = 'pending'`),
    index('messages_pending_agent').on(t.agentId, t.seq).where(sql`status = 'pending'`),
    index('messages_pending_available').on(t.availableAt).where(sql`status = 'pending'`),
    index('messages_processing_agent').on(t.agentId).where(sql`status = 'processing'`),
    index('messages_processing_lease').on(t.leaseExpiresAt).where(sql`status = 'processing'`),
    index('messages_conversation').on(t.conversationId),
    index('messages_finished').on(t.status, t.finishedAt),
  ],
);
