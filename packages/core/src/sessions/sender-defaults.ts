/**
 * Sticky default targets per (channel, sender id): `@coder` alone makes coder the sender's
 * default, `@default` clears it. Kept in the database, not settings.json, so channel traffic
 * never races the user's edits of the settings file.
 */
import type { TinyDatabase } from '../storage/database.ts';
import type { SenderDefaultsStoreApi } from '../storage/interfaces.ts';

export class SenderDefaultsStore implements SenderDefaultsStoreApi {
  readonly #db: TinyDatabase;
  readonly #get;
  readonly #set;
  readonly #clear;

  constructor(db: TinyDatabase) {
    this.#db = db;
    this.#get = db.sqlite.prepare('SELECT target FROM sender_defaults WHERE channel = ? AND sender_id = ?').pluck();
    this.#set = db.sqlite.prepare(
      'INSERT INTO sender_defaults (channel, sender_id, target, updated_at) VALUES (?, ?, ?, ?) ON CONFLICT (channel, sender_id) DO UPDATE SET target = excluded.target, updated_at = excluded.updated_at',
    );
    this.#clear = db.sqlite.prepare('DELETE FROM sender_defaults WHERE channel = ? AND sender_id = ?');
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
