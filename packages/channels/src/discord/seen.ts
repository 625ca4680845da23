/**
 * The last message of each Discord channel the adapter has dealt with (handed to the host, or
 * skipped as not for the bot): `<stateDir>/seen.json`. Discord does not redeliver what was written
 * while no session was connected; after a start or a new session the adapter reads each channel's
 * history after this mark.
 */
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export class SeenMessages {
  readonly #file: string;
  #marks: Record<string, { id: string; at: number }> = {};

  constructor(dir: string) {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    this.#file = join(dir, 'seen.json');
    if (!existsSync(this.#file)) return;
    try {
      this.#marks = JSON.parse(readFileSync(this.#file, 'utf8')) as Record<string, { id: string; at: number }>;
    } catch {
      // A torn file loses the marks only: the next messages set them again.
    }
  }

  /** Channels with a mark set within `maxAgeMs`, and the mark. */
  recent(maxAgeMs: number, now = Date.now()): Array<[channelId: string, messageId: string]> {
    return Object.entries(this.#marks)
      .filter(([, mark]) => now - mark.at <= maxAgeMs)
      .map(([channelId, mark]) => [channelId, mark.id]);
  }

  has(channelId: string, messageId: string): boolean {
    const mark = this.#marks[channelId];
    return mark !== undefined && BigInt(mark.id) >= BigInt(messageId);
  }

  /** Moves the channel's mark forward to `messageId` (never back). */
  advance(channelId: string, messageId: string): void {
    if (this.has(channelId, messageId)) return;
    this.#marks[channelId] = { id: messageId, at: Date.now() };
    const tmp = `${this.#file}.${process.pid}.tmp`;
    writeFileSync(tmp, JSON.stringify(this.#marks), { mode: 0o600 });
    renameSync(tmp, this.#file);
  }
}
