/**
 * Asking another node (docs/git-tasks.md, "Several nodes"): with several nodes on one PostgreSQL
 * database, a step or a read that needs a disk (a repository, a task's worktree) runs on the node
 * that holds it, whichever node the request landed on. The ask goes through the event log, which
 * every node hears (`node.asked`, answered by `node.answered` with the same id); no node serves
 * another an API.
 *
 * Contract:
 * - `ask(node, kind, args)` appends `node.asked` and waits for its answer: the value, or the
 *   handler's TinyError again (its code, message and hint). A node that is not live is not waited
 *   for (NODE_UNAVAILABLE, naming it); one that does not answer within `waitMs` neither.
 * - `serve(kind, handler)`: this node answers the asks for it of that kind, each once, in the
 *   background (an ask that arrives while the node is stopping is left: the asker gives up).
 * - An ask is not durable by itself: what must survive a node that is down (a task's step) is
 *   recorded on the task first (`git.request`), and the node carries it out when it is back.
 */
import { errorMessage, newId, TinyError } from '@tinyagi/core';
import type { StoreSet } from '../core-internal.ts';

export interface NodeInfoSource {
  /** This node's name. */
  readonly name: string;
  /** Whether the named node is live (its heartbeat is fresh); false for a node not registered. */
  isLive(name: string): Promise<boolean>;
}

export type AskHandler = (args: Record<string, unknown>, taskId: string | undefined) => Promise<unknown>;

/** How long an ask waits for its answer by default: a merge or a removal of a large worktree answers within it. */
export const ASK_WAIT_MS = 120_000;
const LIVE_CACHE_MS = 1_000;

type Answer = { ok: true; value: unknown } | { ok: false; error: { code: string; message: string; hint?: string } };

export class NodeAsks {
  readonly #events: StoreSet['events'];
  readonly #node: NodeInfoSource;
  readonly #handlers = new Map<string, AskHandler>();
  readonly #waiting = new Map<string, (answer: Answer) => void>();
  readonly #running = new Set<Promise<unknown>>();
  readonly #live = new Map<string, { at: number; live: Promise<boolean> }>();
  readonly #log: { warn(message: string): void };
  #unsubscribe: (() => void) | undefined;

  constructor(events: StoreSet['events'], node: NodeInfoSource, log: { warn(message: string): void }) {
    this.#events = events;
    this.#node = node;
    this.#log = log;
  }

  get here(): string {
    return this.#node.name;
  }

  /** Whether the node is live, read at most once a second per name (a sweep asks it for every task of a down node). */
  isLive(name: string): Promise<boolean> {
    const known = this.#live.get(name);
    if (known !== undefined && Date.now() - known.at < LIVE_CACHE_MS) return known.live;
    const live = this.#node.isLive(name);
    this.#live.set(name, { at: Date.now(), live });
    return live;
  }

  serve(kind: string, handler: AskHandler): void {
    this.#handlers.set(kind, handler);
  }

  start(): void {
    this.#unsubscribe ??= this.#events.subscribe((event) => {
      if (event.type === 'node.asked' && event.data.node === this.#node.name) this.#answer(event.data.id, event.data.kind, event.data.args, event.data.taskId);
      if (event.type === 'node.answered')
        this.#waiting.get(event.data.id)?.(event.data.ok ? { ok: true, value: event.data.value } : { ok: false, error: event.data.error ?? { code: 'INTERNAL', message: 'no error was given' } });
    });
  }

  async stop(): Promise<void> {
    this.#unsubscribe?.();
    this.#unsubscribe = undefined;
    await Promise.allSettled([...this.#running]);
  }

  /** Runs `kind` on `node` and returns its value; `what` names the step in the refusals ("the merge of T-1"). */
  async ask<T>(node: string, kind: string, args: Record<string, unknown>, what: string, options: { taskId?: string; waitMs?: number } = {}): Promise<T> {
    // Read now, not from the sweeps' cache: a node stopped within the last second is refused at once,
    // not waited for until `waitMs`.
    const live = this.#node.isLive(node);
    this.#live.set(node, { at: Date.now(), live });
    if (!(await live)) throw unavailable(node, what, 'is not running (no heartbeat)');
    const id = newId('ask');
    const waitMs = options.waitMs ?? ASK_WAIT_MS;
    const answer = new Promise<Answer | undefined>((resolve) => {
      const timer = setTimeout(() => resolve(undefined), waitMs);
      this.#waiting.set(id, (a) => {
        clearTimeout(timer);
        resolve(a);
      });
    });
    try {
      await this.#events.append({ type: 'node.asked', data: { id, node, kind, ...(options.taskId === undefined ? {} : { taskId: options.taskId }), args } });
      const got = await answer;
      if (got === undefined) throw unavailable(node, what, `did not answer within ${Math.round(waitMs / 1000)} s`);
      if (!got.ok) throw new TinyError(got.error.code as 'INTERNAL', got.error.message, got.error.hint === undefined ? {} : { hint: got.error.hint });
      return got.value as T;
    } finally {
      this.#waiting.delete(id);
    }
  }

  #answer(id: string, kind: string, args: Record<string, unknown>, taskId: string | undefined): void {
    const handler = this.#handlers.get(kind);
    const work = (async () => {
      let answer: Answer;
      try {
        if (!handler) throw new TinyError('INTERNAL', `Node ${this.#node.name} does not know the step "${kind}" (is it running an older version?).`);
        answer = { ok: true, value: (await handler(args, taskId)) ?? null };
      } catch (err) {
        answer = { ok: false, error: err instanceof TinyError ? { code: err.code, message: err.message, ...(err.hint ? { hint: err.hint } : {}) } : { code: 'INTERNAL', message: errorMessage(err) } };
      }
      await this.#events.append({ type: 'node.answered', data: { id, node: this.#node.name, ...answer } });
    })().catch((err: unknown) => this.#log.warn(`Answering ${kind} for another node failed: ${errorMessage(err)}`));
    this.#running.add(work);
    void work.finally(() => this.#running.delete(work));
  }
}

function unavailable(node: string, what: string, why: string): TinyError {
  return new TinyError('NODE_UNAVAILABLE', `${what} runs on node ${node}, which holds its disk, and that node ${why}.`, {
    hint: `Start node ${node} (tinyagi worker --name ${node} on its machine), or check its log; tinyagi status lists the nodes.`,
  });
}
