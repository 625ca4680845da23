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
  /**
   * A person pressed one of an approval prompt's buttons (ApprovalPromptAdapter). The host checks
   * that the sender may answer, sends the decision and tells the presser the outcome through
   * `click.notify`; it never throws for a refused or late answer.
   */
  click?(click: ApprovalClick): Promise<void>;
  /**
   * The platform's connection changed (docs/channels.md#channel-states): `connected` only once the
   * platform answered (Telegram `getMe` and a poll, Discord's READY, Slack's hello, WhatsApp's open),
   * `reconnecting` with the error when it failed or dropped and the adapter tries again,
   * `rejected` when the platform refused the credentials (the process then exits: CredentialsRejectedError).
   */
  connection?(state: ConnectionState, error?: string): void;
}

export type ConnectionState = 'connected' | 'reconnecting' | 'rejected';

/**
 * Approvals and questions in the chat (docs/approvals.md, "In the chat apps"): the host posts a
 * prompt into the chat of the conversation that asked, with one button per answer, and settles
 * it (buttons gone, the outcome shown) once anybody answered anywhere.
 */
export interface ApprovalPromptAction {
  /** The button's text. */
  label: string;
  /**
   * What the button carries back (`ApprovalClick.token`): short, at most 8 ASCII characters, so
   * `<approval id>:<token>` fits the platforms' callback data limits (Telegram: 64 bytes).
   */
  token: string;
  /** Shown as the dangerous choice where the platform styles buttons (Discord, Slack). */
  style?: 'primary' | 'danger';
}

export interface ApprovalPrompt {
  /** The approval's id (`apr_…`). */
  id: string;
  kind: 'permission' | 'question';
  /**
   * The whole prompt text, in Markdown like a reply's (`OutboundMessage.text`): the adapter
   * formats it as it formats a reply (Telegram HTML, Slack mrkdwn, Discord as it is). The
   * outcome text `settle` gets is Markdown too.
   */
  text: string;
  actions: ApprovalPromptAction[];
}

export interface ApprovalPromptAdapter {
  /** Posts a prompt with its buttons; resolves with the platform's message id once confirmed. */
  post(route: string, prompt: ApprovalPrompt): Promise<string>;
  /** Replaces a posted prompt's text with its outcome and removes its buttons (a message that is gone is not an error). */
  settle(route: string, messageId: string, text: string): Promise<void>;
  /**
   * Replaces a posted prompt's text and buttons with another prompt's (a burst: requests that ask
   * alike join one message, docs/approvals.md). Where it is missing, each request keeps its own.
   */
  update?(route: string, messageId: string, prompt: ApprovalPrompt): Promise<void>;
}

export interface ApprovalClick {
  approvalId: string;
  /** The pressed button's `token`. */
  token: string;
  /** Who pressed it, as the platform names them (the same ids as InboundMessage.senderId). */
  senderId: string;
  sender: string;
  /** The chat the prompt is in. */
  route: string;
  /** Tells the presser, and only them where the platform can, a short note (Telegram answerCallbackQuery, Discord's ephemeral reply, Slack's ephemeral message). */
  notify(text: string): Promise<void>;
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

/**
 * The platform refused the channel's credentials (Telegram's 401 or 404 to the bot token): trying
 * again cannot help. The message says which credential and how to set it; the channel process
 * reports `rejected` and exits with CHANNEL_EXIT_REJECTED, and the daemon does not restart it.
 */
export class CredentialsRejectedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CredentialsRejectedError';
  }
}

/** By name: an adapter module outside this package may carry its own copy of the class. */
export function isCredentialsRejected(err: unknown): err is Error {
  return err instanceof Error && err.name === 'CredentialsRejectedError';
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
  /**
   * Live replies (docs/channels.md#live-replies): the host posts one progress message per
   * chat while an agent works, edits it no more often than `editIntervalMs` (when the adapter
   * can edit), and removes it once the answer is confirmed. Adapters without it get typing only.
   */
  live?: LiveReplyAdapter;
  /**
   * Approval prompts with buttons (Telegram inline keyboard, Discord buttons, Slack Block Kit).
   * Adapters without it get the prompt as a plain message answered by a numbered reply.
   */
  approvals?: ApprovalPromptAdapter;
}

export interface LiveReplyAdapter {
  /** The platform's edit limit for one message (Telegram ~1 s, Discord 5 per 5 s, Slack chat.update tier 3). */
  readonly editIntervalMs: number;
  /** A chat whose limit differs (Telegram groups: 20 messages a minute); left out or undefined: `editIntervalMs`. */
  editIntervalFor?(route: string): number | undefined;
  /**
   * Posts a progress message; resolves with the platform's message id once confirmed.
   * `idempotencyKey` is the same for every attempt at one progress message (a platform with
   * idempotent sends, Discord's nonce, uses it so a retry after a lost answer creates none).
   */
  post(route: string, text: string, idempotencyKey?: string): Promise<string>;
  /**
   * False where the platform cannot edit reliably (WhatsApp): `edit` is never called, and the
   * message shows its first status until it is removed. Left out: true.
   */
  readonly editable?: boolean;
  /** Replaces the text of a posted progress message. */
  edit(route: string, messageId: string, text: string): Promise<void>;
  /** Removes a posted progress message (a message that is already gone is not an error). */
  remove(route: string, messageId: string): Promise<void>;
}
