/**
 * Which chat (route) each conversation of this channel lives in: learned when the host hands a
 * message over (the daemon answers with its conversation), kept in the state folder
 * (conversations.json) so a restarted channel process still knows where a conversation's
 * progress (live.ts) and approval prompts (approvals.ts) go. The newest 2000 are kept.
 */
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const MAX_CONVERSATIONS = 2000;

export class ConversationRoutes {
  readonly #file: string;
  readonly #routes = new Map<string, string>();
  readonly #listeners = new Set<(conversationId: string, route: string) => void>();

  constructor(stateDir: string, onError: (message: string) => void = () => {}) {
    mkdirSync(stateDir, { recursive: true, mode: 0o700 });
    this.#file = join(stateDir, 'conversations.json');
    try {
      if (existsSync(this.#file)) this.#merge((JSON.parse(readFileSync(this.#file, 'utf8')) as { conversations?: unknown }).conversations);
      else {
        // Before conversations.json, live replies kept the map in live.json.
        const legacy = join(stateDir, 'live.json');
        if (existsSync(legacy)) this.#merge((JSON.parse(readFileSync(legacy, 'utf8')) as { conversations?: unknown }).conversations);
      }
    } catch (err) {
      onError(`${this.#file} is unreadable (${err instanceof Error ? err.message : String(err)}); starting without it`);
    }
  }

  get(conversationId: string): string | undefined {
    return this.#routes.get(conversationId);
  }

  /** Records where a conversation lives (written at once) and tells the listeners. */
  set(conversationId: string, route: string): void {
    if (conversationId === '') return;
    if (this.#routes.get(conversationId) !== route) {
      this.#routes.delete(conversationId);
      this.#routes.set(conversationId, route);
      while (this.#routes.size > MAX_CONVERSATIONS) this.#routes.delete(this.#routes.keys().next().value!);
      this.#save();
    }
    for (const listener of this.#listeners) listener(conversationId, route);
  }

  /** Called on every `set` (a conversation's route became known, or was confirmed). */
  onSet(listener: (conversationId: string, route: string) => void): void {
    this.#listeners.add(listener);
  }

  #merge(conversations: unknown): void {
    if (conversations === null || typeof conversations !== 'object') return;
    for (const [id, route] of Object.entries(conversations)) if (typeof route === 'string') this.#routes.set(id, route);
  }

  #save(): void {
    const tmp = `${this.#file}.${process.pid}.tmp`;
    writeFileSync(tmp, JSON.stringify({ conversations: Object.fromEntries(this.#routes) }), { mode: 0o600 });
    renameSync(tmp, this.#file);
  }
}
