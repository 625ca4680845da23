/**
 * A conversation as people read it: its run tree and its transcript (JSON or Markdown), each run
 * with the steering commands it accepted (and, in the tree, the memory that went into its context). Reads the stores only (any backend, any node): it needs
 * no orchestrator.
 */
import { steerEntry } from '@tinyagi/client';
import type { RunSteerEntry } from '@tinyagi/client/contract';
import type { StoreSet } from '../core-internal.ts';
import { buildTranscript, transcriptToMarkdown, type TranscriptEntry } from '../conversations/transcript.ts';
import { nestRuns, runNode, type ConversationTree } from '../conversations/tree.ts';

export class ConversationViews {
  readonly #stores: Pick<StoreSet, 'runs' | 'events' | 'memory'>;

  constructor(stores: Pick<StoreSet, 'runs' | 'events' | 'memory'>) {
    this.#stores = stores;
  }

  /** The conversation and its runs as a tree (CONVERSATION_NOT_FOUND for an unknown id). */
  async tree(conversationId: string): Promise<ConversationTree> {
    const { runs } = this.#stores;
    const conversation = await runs.mustGetConversation(conversationId);
    const steering = await this.#steeringOf(conversationId);
    const list = await runs.listRuns(conversationId);
    const memory = await this.#stores.memory.injectionsOf(list.map((r) => r.id));
    return { conversation, roots: nestRuns(list.map((r) => runNode(r, steering.get(r.id), memory.get(r.id)))) };
  }

  /** What was said, in order: the messages, the agents' answers and handoffs, the steering. */
  async transcript(conversationId: string): Promise<TranscriptEntry[]> {
    const { runs } = this.#stores;
    return buildTranscript(await runs.mustGetConversation(conversationId), await runs.listRuns(conversationId), await this.#steeringOf(conversationId));
  }

  /** The transcript as a Markdown document. */
  async transcriptMarkdown(conversationId: string): Promise<string> {
    const { runs } = this.#stores;
    const conversation = await runs.mustGetConversation(conversationId);
    return transcriptToMarkdown(conversation, buildTranscript(conversation, await runs.listRuns(conversationId), await this.#steeringOf(conversationId)));
  }

  /** The accepted steering commands of a conversation's runs (their `run.steered` events), by run. */
  async #steeringOf(conversationId: string): Promise<Map<string, RunSteerEntry[]>> {
    const byRun = new Map<string, RunSteerEntry[]>();
    for (const event of await this.#stores.events.readSince(0, { conversationId, types: ['run.steered'] }, 10_000)) {
      const entry = event.runId ? steerEntry(event) : undefined;
      if (!entry) continue;
      const list = byRun.get(event.runId!);
      if (list) list.push(entry);
      else byRun.set(event.runId!, [entry]);
    }
    return byRun;
  }
}
