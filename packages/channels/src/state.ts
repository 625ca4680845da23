/**
 * The little a channel process keeps on disk (TINYAGI_HOME/channels/<name>/, 0700, files 0600):
 * - held.json: messages of senders waiting for pairing approval, delivered after approval;
 * - sent.log: which chunks of which outbox rows the platform already confirmed, so a crash
 *   between the send and the ack does not send them again after the restart.
 */
import { appendFileSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface HeldMessage {
  platformMessageId: string;
  senderId: string;
  sender: string;
  route: string;
  text: string;
  attachments: string[];
  heldAt: number;
}

function ensureDir(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
}

function writeAtomic(file: string, text: string): void {
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, text, { mode: 0o600 });
  renameSync(tmp, file);
}

export class HeldMessages {
  readonly #file: string;
  readonly #perSender: number;
  readonly #total: number;
  #items: HeldMessage[];

  constructor(dir: string, limits: { perSender?: number; total?: number } = {}) {
    ensureDir(dir);
    this.#file = join(dir, 'held.json');
    this.#perSender = limits.perSender ?? 5;
    this.#total = limits.total ?? 200;
    this.#items = existsSync(this.#file) ? (JSON.parse(readFileSync(this.#file, 'utf8')) as HeldMessage[]) : [];
  }

  /** Holds a message; false when a cap is reached or it is already held (a redelivery). */
  hold(message: HeldMessage): boolean {
    if (this.#items.some((m) => m.platformMessageId === message.platformMessageId)) return false;
    if (this.#items.length >= this.#total) return false;
    if (this.#items.filter((m) => m.senderId === message.senderId).length >= this.#perSender) return false;
    this.#items.push(message);
    this.#save();
    return true;
  }

  senders(): string[] {
    return [...new Set(this.#items.map((m) => m.senderId))];
  }

  forSender(senderId: string): HeldMessage[] {
    return this.#items.filter((m) => m.senderId === senderId);
  }

  /** Removes one message once it was handed to the daemon. */
  release(platformMessageId: string): void {
    this.#items = this.#items.filter((m) => m.platformMessageId !== platformMessageId);
    this.#save();
  }

  /** Drops what waited longer than `maxAgeMs` (its pairing request expired too). */
  expire(maxAgeMs: number, now = Date.now()): void {
    const kept = this.#items.filter((m) => now - m.heldAt <= maxAgeMs);
    if (kept.length === this.#items.length) return;
    this.#items = kept;
    this.#save();
  }

  #save(): void {
    writeAtomic(this.#file, JSON.stringify(this.#items));
  }
}

export class SentLedger {
  readonly #file: string;
  readonly #sent = new Map<string, Set<number>>();

  constructor(dir: string, keepLines = 5000) {
    ensureDir(dir);
    this.#file = join(dir, 'sent.log');
    if (!existsSync(this.#file)) return;
    const lines = readFileSync(this.#file, 'utf8').split('\n').filter(Boolean).slice(-keepLines);
    for (const line of lines) {
      const [id, index] = line.split('\t');
      if (id !== undefined && index !== undefined) this.#mark(id, Number(index));
    }
    // Compacted on start: older rows were acked long ago.
    writeAtomic(this.#file, lines.length > 0 ? `${lines.join('\n')}\n` : '');
  }

  has(outboxId: string, chunk: number): boolean {
    return this.#sent.get(outboxId)?.has(chunk) ?? false;
  }

  /** Records a confirmed chunk before anything else happens (appendFileSync). */
  add(outboxId: string, chunk: number): void {
    appendFileSync(this.#file, `${outboxId}\t${chunk}\n`, { mode: 0o600 });
    this.#mark(outboxId, chunk);
  }

  #mark(outboxId: string, chunk: number): void {
    let set = this.#sent.get(outboxId);
    if (set === undefined) {
      set = new Set();
      this.#sent.set(outboxId, set);
    }
    set.add(chunk);
  }
}
