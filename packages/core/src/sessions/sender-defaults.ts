/**
 * Sticky default targets per (channel, sender id): `@coder` alone makes coder the sender's
 * default, `@default` clears it. Kept in the database, not settings.json, so channel traffic
 * never races the user's edits of the settings file.
 */
import type { TinyDatabase } from '../storage/database.ts';
import type { Awaitable } from '../storage/transaction.ts';

/** The statements of both backends, over the table's name (`?` placeholders: the PostgreSQL store numbers them). */
export function senderDefaultStatements(t: string) {
  return {
    get: `SELECT target FROM ${t} WHERE channel = ? AND sender_id = ?`,
    set: `INSERT INTO ${t} (channel, sender_id, target, updated_at) VALUES (?, ?, ?, ?) ON CONFLICT (channel, sender_id) DO UPDATE SET target = excluded.target, updated_at = excluded.updated_at`,
    clear: `DELETE FROM ${t} WHERE channel = ? AND sender_id = ?`,
  };
}

const S = senderDefaultStatements('sender_defaults');

export interface SenderDefaultsStoreApi {
  get(channel: string, senderId: string): Awaitable<string | undefined>;
  set(channel: string, senderId: string, target: string): Awaitable<void>;
  clear(channel: string, senderId: string): Awaitable<boolean>;
}

export class SenderDefaultsStore implements SenderDefaultsStoreApi {
  readonly #db: TinyDatabase;
  readonly #get;
  readonly #set;
  readonly #clear;

  constructor(db: TinyDatabase) {
    this.#db = db;
    this.#get = db.sqlite.prepare(S.get).pluck();
    this.#set = db.sqlite.prepare(S.set);
    this.#clear = db.sqlite.prepare(S.clear);
  }

  /** The agent or team id the sender talks to by default, if one is set. */
  get(channel: string, senderId: string): string | undefined {
    return (this.#get.get(channel, senderId) as string | undefined) ?? undefined;
  }

  set(channel: string, senderId: string, target: string): void {
    this.#db.write(() => this.#set.run(channel, senderId, target, Date.now()));
  }

  /** Returns true when a default existed. */
  clear(channel: string, senderId: string): boolean {
    return this.#db.write(() => this.#clear.run(channel, senderId).changes > 0);
  }
}
