/**
 * The reply delivery protocol, the daemon's side (docs/queue.md, "Delivery"). A reply is stored
 * by whoever produces it, inside its own transaction (`outbox.enqueue`); everything after that is
 * here, in one place:
 *
 * - Held or delivered (`heldForClient`): a reply is held (`pending`) for a channel that has a
 *   delivering client, and stored `delivered` at once otherwise (api, cli, web, heartbeat,
 *   schedule, chatroom…: it lives in the conversation history). A channel has a client when its
 *   kind is registered in core's `channelKinds`, when it is named in the stores'
 *   `clientChannels`, or once its client signed in with its channel token (`clientSignedIn`).
 *   The store applies this rule when it inserts a reply; nothing else decides it.
 * - What happens to a stored reply (`ReplyDelivery`): the channel's client claims it under a
 *   lease, acks it once the platform confirmed every chunk, or fails it (retried after a delay,
 *   or failed for good); a dead channel process's claimed rows are handed back at once with the
 *   wake-up (`outbox.enqueued`) its next process claims on; rows past their TTL expire; a
 *   proactive message goes only to a paired sender of a channel with a client.
 *
 * `ReplyDelivery` keeps no state of its own (which channels have signed in is kept with the store
 * set's outbox, shared by its transactions), so the server and the daemon each make one over the
 * same stores.
 */
import { TinyError } from '../errors.ts';
import type { EventLogApi } from '../events/store.ts';
import type { EventInput } from '../events/types.ts';
import { newId } from '../ids.ts';
import { channelKinds } from '../kinds/registry.ts';
import type { PairingStoreApi } from '../pairing/store.ts';
import type { Awaitable } from '../storage/transaction.ts';
import type { OutboxRecipient, OutboxRow, OutboxStoreApi } from './store.ts';

/** The one rule of held or delivered: true when a client delivers `channel` (its replies wait in the outbox for it). */
export function heldForClient(channel: string, signedIn: ReadonlySet<string>): boolean {
  return signedIn.has(channel) || channelKinds.has(channel);
}

/** The wake-up of a reply handed back to its channel: the channel's running client claims on it. */
export function reofferedEvent(row: OutboxRow): EventInput {
  return { type: 'outbox.enqueued', data: { outboxId: row.id, channel: row.channel, status: 'pending', text: row.text } };
}

/** The stores delivery works on (a `StoreSet` has them). */
export interface DeliveryStores {
  outbox: OutboxStoreApi;
  events: EventLogApi;
  pairings: PairingStoreApi;
}

export interface ProactiveMessage {
  channel: string;
  senderId: string;
  sender?: string;
  text: string;
  /** The files, confined to the allowed roots by the caller; asked for after the pairing check (so an unpaired sender's message is refused for that first). */
  files: () => string[];
  agentId?: string | null;
}

/** Everything that happens to a stored reply until it is delivered, failed or expired. */
export class ReplyDelivery {
  readonly #outbox: OutboxStoreApi;
  readonly #events: EventLogApi;
  readonly #pairings: PairingStoreApi;

  constructor(stores: DeliveryStores) {
    this.#outbox = stores.outbox;
    this.#events = stores.events;
    this.#pairings = stores.pairings;
  }

  /** A client of `channel` signed in with its channel token: its replies are held for it from now on, registered kind or not (a library user's server). */
  clientSignedIn(channel: string): void {
    this.#outbox.registerClientChannel(channel);
  }

  /** Whether a reply to `channel` waits for a client (true) or is stored as delivered. */
  heldForClient(channel: string): boolean {
    return this.#outbox.hasClient(channel);
  }

  /** The channel's client leases up to `limit` deliverable rows, oldest first (expiring what is past its TTL). */
  claim(options: { channel: string; owner: string; limit?: number; leaseMs?: number }): Awaitable<OutboxRow[]> {
    return this.#outbox.claim(options);
  }

  /** The platform confirmed every chunk. Acking twice is fine. */
  ack(id: string): Awaitable<OutboxRow> {
    return this.#outbox.ack(id);
  }

  /** A send failed, or the client hands the row back: tried again after a delay (`retryAfterMs`, else backoff), or failed for good (`permanent`, or the last attempt). */
  fail(id: string, error: string, options: { retryAfterMs?: number; permanent?: boolean } = {}): Awaitable<OutboxRow> {
    return this.#outbox.fail(id, error, options);
  }

  /**
   * The channel process that claimed `channel`'s rows is gone (`gone(leaseOwner)`): its rows go
   * out again now, not when their lease runs out, and the wake-up tells the channel's next
   * process to claim them. Returns how many.
   */
  async handBackFrom(channel: string, gone: (owner: string) => boolean): Promise<number> {
    let n = 0;
    for (const row of await this.#outbox.list({ channel, status: 'delivering', limit: 1000 })) {
      if (row.leaseOwner === null || !gone(row.leaseOwner)) continue;
      await this.#outbox.fail(row.id, 'handed back: the channel process that claimed it exited', { retryAfterMs: 0 });
      await this.#events.append(reofferedEvent(row));
      n += 1;
    }
    return n;
  }

  /** Rows past their TTL become `expired` (an `outbox.expired` event each): the daemon runs this periodically, so nothing waits forever for a channel that never connects. */
  expire(): Awaitable<OutboxRow[]> {
    return this.#outbox.expire();
  }

  /** A message to a sender nobody asked (an agent's or a person's): only a paired sender of a channel with a client may get one; replies to api/web/cli are stored. */
  async sendProactive(message: ProactiveMessage): Promise<OutboxRow> {
    if (this.heldForClient(message.channel) && !(await this.#pairings.isApproved(message.channel, message.senderId))) {
      throw new TinyError('PAIRING_NOT_FOUND', `Sender ${message.senderId} on ${message.channel} is not paired, so it cannot receive proactive messages.`, {
        hint: 'Approve the sender first (`tinyagi pairing approve <code>`); GET /api/pairing lists approved senders.',
      });
    }
    const files = message.files();
    const recipient: OutboxRecipient = { senderId: message.senderId, ...(message.sender ? { sender: message.sender } : {}) };
    const { row } = await this.#outbox.enqueue({
      idempotencyKey: newId('proactive'),
      channel: message.channel,
      text: message.text,
      recipient,
      files,
      agentId: message.agentId ?? null,
      meta: { proactive: true },
    });
    return row;
  }
}
