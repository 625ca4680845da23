/**
 * The one interface every chat platform implements. An adapter only speaks its platform: it
 * turns platform updates into InboundMessages (after its own mention-gating) and sends what the
 * host gives it. Pairing, idempotency, chunking, the outbox and the API are the host's job
 * (host.ts), so they behave the same on every platform.
 */

/** A file of an inbound message; the host decides whether and where to store it. */
export interface InboundFile {
  /** The name the sender gave it (unsanitised), or a made-up one. */
  name: string;
  /** Size when the platform tells it up front (for the size cap before downloading). */
  size?: number;
  download(): Promise<Uint8Array>;
}

export interface InboundMessage {
  /** Unique per channel and stable across redeliveries: the idempotency key's base. */
  platformMessageId: string;
  /** Who wrote it (pairing is per sender). */
  senderId: string;
  /** Display name. */
  sender: string;
  /**
   * Where replies go, in the adapter's own encoding (a chat, a chat's topic, a thread): also
   * the conversation's thread key, so each chat/thread is its own session.
   */
  route: string;
  text: string;
  files: InboundFile[];
  /**
   * False when written in a group or channel that others read (a pairing code then goes to the
   * sender privately); true or left out for a private chat.
   */
  isPrivate?: boolean;
}

export interface OutboundMessage {
  text: string;
  /** Absolute paths of files to attach (already confined by the server). */
  files: string[];
  /** The outbox row id plus the chunk index: the platform's idempotency key where it has one. */
  idempotencyKey: string;
}

export interface InboundSink {
  receive(message: InboundMessage): Promise<void>;
}

/** A platform answer that says "not before": the host waits, then retries. */
export class RetryAfterError extends Error {
  readonly retryAfterMs: number;
  constructor(message: string, retryAfterMs: number) {
    super(message);
    this.name = 'RetryAfterError';
    this.retryAfterMs = retryAfterMs;
  }
}

/** A send that can never succeed (chat gone, bot blocked): the row fails for good. */
export class PermanentSendError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PermanentSendError';
  }
}

export interface ChannelAdapter {
  readonly name: string;
  /** The platform's per-message text limit. */
  readonly maxMessageLength: number;
  /** Connects and starts delivering inbound messages to `sink`; resolves once connected. */
  start(sink: InboundSink): Promise<void>;
  stop(): Promise<void>;
  /**
   * Sends one message (text within the limit, maybe files) to a route (or, for a proactive
   * message with no route, to the sender's id); resolves only once the platform confirmed.
   */
  send(route: string, message: OutboundMessage): Promise<void>;
  /** Shows "typing…" once (platforms expire it after a few seconds; the host refreshes it). */
  sendTyping?(route: string): Promise<void>;
}
