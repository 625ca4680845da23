/**
 * GET /api/events: the event log as Server-Sent Events.
 *
 * Contract:
 * - Every event's SSE id is its events-table id. A client that reconnects with Last-Event-ID
 *   (header, or `?lastEventId=` for the first connection) gets every later event exactly once:
 *   the session subscribes to the live bus first (buffering), then replays the table after that
 *   id, then drains the buffer skipping ids it already sent. No gap, no duplicate.
 * - Without an id the stream starts with the next live event.
 * - Filters: ?conversation=, ?agent=, ?types=a,b (exact type names).
 * - A channel-scoped token sees only its own channel's outbox.enqueued and pairing.approved
 *   events (its wake-ups) and, for live replies, the run events (started, progress, ended) and
 *   conversation.completed of conversations that came in through its channel, and for approval
 *   prompts the approval.requested|decided|expired events of those conversations — whatever
 *   filters it asks for (nothing of other channels, nothing else).
 * - A keep-alive comment every 15 s.
 * - Each client has a bounded buffer: a client that falls too far behind is disconnected and
 *   resumes from its last id, instead of growing the server's memory.
 * - What is ready is written at once: the events buffered since the last write (or a page of the
 *   replay) go out in one socket write, and an event's frame is serialised once for every client
 *   that receives it (the bus hands them all the same object).
 */
import type { FastifyInstance, FastifyReply } from 'fastify';
import { EVENT_TYPES, matchesFilter, type EventFilter, type EventType, type TinyEvent } from '@tinyagi/core';
import type { ServerContext } from '../context.ts';
import { RequestError } from '../errors.ts';
import { EVENTS_PATH, EventSchema, EventsQuerySchema, type EventsQuery } from '@tinyagi/client/contract';

function parseTypes(types: string | undefined): EventType[] | undefined {
  if (types === undefined) return undefined;
  const list = types
    .split(',')
    .map((t) => t.trim())
    .filter(Boolean);
  const unknown = list.filter((t) => !(EVENT_TYPES as readonly string[]).includes(t));
  if (unknown.length > 0) {
    throw new RequestError('VALIDATION_FAILED', `Invalid query: query.types: unknown event type${unknown.length > 1 ? 's' : ''} ${unknown.join(', ')}. Known types: ${EVENT_TYPES.join(', ')}.`, {
      issues: [{ path: 'query.types', message: `unknown: ${unknown.join(', ')}` }],
    });
  }
  return list as EventType[];
}

function resumeId(headerValue: string | string[] | undefined, query: EventsQuery): number | undefined {
  const raw = (Array.isArray(headerValue) ? headerValue[0] : headerValue) ?? query.lastEventId;
  if (raw === undefined || raw.trim() === '') return undefined;
  if (!/^\d{1,15}$/.test(raw.trim())) {
    throw new RequestError('VALIDATION_FAILED', 'Invalid Last-Event-ID: use the numeric id of the last event received.', { issues: [{ path: 'headers.last-event-id', message: 'not a number' }] });
  }
  return Number(raw.trim());
}

/** The events a channel process needs to wake up: its own replies and approvals (the default). */
const CHANNEL_WAKE_TYPES: readonly EventType[] = ['outbox.enqueued', 'pairing.approved'];
/** What a channel may ask for besides: the progress (live replies) and the approval requests of its own conversations. */
const CHANNEL_LIVE_TYPES: readonly EventType[] = [
  'run.started',
  'run.progress',
  'run.completed',
  'run.failed',
  'run.cancelled',
  'conversation.completed',
  // Approval prompts in the chat (docs/approvals.md, "In the chat apps").
  'approval.requested',
  'approval.decided',
  'approval.expired',
  // Memory proposals in the chat (docs/channels.md#memory-proposals).
  'memory.proposed',
  'memory.decided',
];
const CHANNEL_EVENT_TYPES: readonly EventType[] = [...CHANNEL_WAKE_TYPES, ...CHANNEL_LIVE_TYPES];

type Visible = (event: TinyEvent) => boolean | Promise<boolean>;

/**
 * A channel token's view: its own wake-ups (the payload names the channel), and the live events
 * of conversations whose channel is its own (looked up once per conversation: it never changes).
 */
function channelVisibility(ctx: ServerContext, channel: string): Visible {
  /** conversation id → its channel once known (answered synchronously: other channels' progress is dropped on arrival), or the lookup under way. */
  const channels = new Map<string, string | Promise<string | null>>();
  return (event) => {
    if (!CHANNEL_LIVE_TYPES.includes(event.type)) return (event.data as { channel?: unknown }).channel === channel;
    const id = event.conversationId;
    if (id === null) return false;
    const known = channels.get(id);
    if (known === undefined) {
      if (channels.size > 10_000) channels.clear();
      const lookup = Promise.resolve(ctx.stores.runs.getConversation(id)).then(
        (c) => c?.channel ?? null,
        () => null,
      );
      channels.set(id, lookup);
      void lookup.then((c) => {
        // Not found (yet): asked again next time rather than hidden for good.
        if (channels.get(id) === lookup) {
          if (c === null) channels.delete(id);
          else channels.set(id, c);
        }
      });
      return lookup.then((c) => c === channel);
    }
    return typeof known === 'string' ? known === channel : known.then((c) => c === channel);
  };
}

/** The events of `events` that `visible` lets through, in order. */
async function visibleOnly(events: readonly TinyEvent[], visible: Visible): Promise<TinyEvent[]> {
  const answers = events.map((e) => visible(e));
  const out: TinyEvent[] = [];
  for (const [i, answer] of answers.entries()) if (answer === true || (answer !== false && (await answer))) out.push(events[i]!);
  return out;
}

/** An event's SSE frame (what @fastify/sse's `send` writes for `{ id, event, data }`), made once per event. */
const frames = new WeakMap<TinyEvent, string>();
function frameOf(event: TinyEvent): string {
  let frame = frames.get(event);
  if (frame === undefined) {
    // JSON.stringify never emits a raw newline, so the data is one `data:` line.
    frame = `id: ${event.id}\nevent: ${event.type}\ndata: ${JSON.stringify(event)}\n\n`;
    frames.set(event, frame);
  }
  return frame;
}

class EventStreamSession {
  readonly #ctx: ServerContext;
  readonly #reply: FastifyReply;
  readonly #filter: EventFilter;
  readonly #visible: Visible;
  #queue: TinyEvent[] = [];
  #lastSent: number;
  #replayDone = false;
  #pumping = false;
  #closed = false;
  #unsubscribe: () => void = () => {};

  constructor(ctx: ServerContext, reply: FastifyReply, filter: EventFilter, lastSent: number, visible: Visible = () => true) {
    this.#ctx = ctx;
    this.#reply = reply;
    this.#filter = filter;
    this.#visible = visible;
    this.#lastSent = lastSent;
  }

  async start(): Promise<void> {
    // Subscribe before reading the table: anything committed from now on is buffered.
    this.#unsubscribe = this.#ctx.stores.events.subscribe((event) => this.#onEvent(event));
    this.#reply.sse.onClose(() => this.#close());
    this.#reply.sse.keepAlive();
    this.#reply.sse.sendHeaders();
    this.#reply.raw.write(': connected\n\n');
    await this.#replay();
    this.#replayDone = true;
    await this.#pump();
  }

  #onEvent(event: TinyEvent): void {
    // Visibility (a channel token's scope) is checked again when the events are sent: it may need a lookup.
    if (this.#closed || !matchesFilter(event, this.#filter) || this.#visible(event) === false) return;
    this.#queue.push(event);
    // During replay the buffer also holds events the replay already sent: those do not count.
    if (this.#queue.length > this.#ctx.limits.sseClientBuffer) this.#queue = this.#queue.filter((e) => e.id > this.#lastSent);
    if (this.#queue.length > this.#ctx.limits.sseClientBuffer) {
      // Too far behind: drop the connection; the client resumes from its last id.
      this.#reply.sse.close();
      this.#close();
      return;
    }
    if (this.#replayDone) void this.#pump();
  }

  async #replay(): Promise<void> {
    const page = this.#ctx.limits.sseReplayPage;
    // Its own cursor: a page of events the scope hides advances it without sending anything.
    let cursor = this.#lastSent;
    for (;;) {
      const events = await this.#ctx.stores.events.readSince(cursor, this.#filter, page);
      if (events.length > 0) cursor = events.at(-1)!.id;
      if (!(await this.#send(await visibleOnly(events, this.#visible)))) return;
      if (events.length < page) return;
    }
  }

  async #pump(): Promise<void> {
    if (this.#pumping) return;
    this.#pumping = true;
    try {
      while (!this.#closed && this.#queue.length > 0) {
        const ready = this.#queue.filter((e) => e.id > this.#lastSent);
        this.#queue = [];
        const last = ready.at(-1)?.id;
        if (!(await this.#send(await visibleOnly(ready, this.#visible)))) return;
        // Events the scope hid count as sent: they are not looked at again.
        if (last !== undefined && last > this.#lastSent) this.#lastSent = last;
      }
    } finally {
      this.#pumping = false;
    }
  }

  /** Writes the events in one go (waiting for the socket to drain if it is full); false once closed. */
  async #send(events: readonly TinyEvent[]): Promise<boolean> {
    if (this.#closed || !this.#reply.sse.isConnected) return false;
    if (events.length === 0) return true;
    let text = '';
    for (const event of events) text += frameOf(event);
    const raw = this.#reply.raw;
    try {
      if (!raw.write(text)) await drained(raw);
    } catch {
      this.#close();
      return false;
    }
    this.#lastSent = events.at(-1)!.id;
    return !this.#closed;
  }

  #close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#queue = [];
    this.#unsubscribe();
  }
}

/** Resolves when a full socket has drained; rejects when it errors or closes first. */
function drained(raw: FastifyReply['raw']): Promise<void> {
  return new Promise((resolve, reject) => {
    const done = (err?: Error) => {
      raw.off('drain', onDrain);
      raw.off('error', done);
      raw.off('close', onClose);
      if (err) reject(err);
      else resolve();
    };
    const onDrain = () => done();
    const onClose = () => done(new Error('the client went away'));
    raw.once('drain', onDrain);
    raw.once('error', done);
    raw.once('close', onClose);
  });
}

export const EVENTS_ROUTE_SCHEMA = {
  operationId: 'events',
  summary: 'Live events as Server-Sent Events (resume with Last-Event-ID; filters conversation, agent, types). EventSource clients pass ?ticket= from POST /api/auth/ticket.',
  tags: ['events'],
  querystring: EventsQuerySchema,
  response: { 200: { description: 'text/event-stream: `id: <event id>`, `event: <type>`, `data: <Event JSON>`', content: { 'text/event-stream': { schema: EventSchema } } } },
};

export function registerEventStream(app: FastifyInstance, ctx: ServerContext): void {
  app.get(
    EVENTS_PATH,
    {
      // No Accept negotiation: this route always streams (EventSource, fetch and curl all get events).
      sse: { kind: 'manual' },
      // HEAD would open a stream with no body to carry it.
      exposeHeadRoute: false,
      config: { auth: 'events' },
      schema: EVENTS_ROUTE_SCHEMA,
    },
    async (request, reply) => {
      const query = request.query as EventsQuery;
      const auth = request.auth;
      const asked = parseTypes(query.types);
      const types = auth.kind === 'channel' ? (asked ?? CHANNEL_WAKE_TYPES).filter((t) => CHANNEL_EVENT_TYPES.includes(t)) : asked;
      const filter: EventFilter = {
        ...(query.conversation ? { conversationId: query.conversation } : {}),
        ...(query.agent ? { agentId: query.agent } : {}),
        ...(types ? { types } : {}),
      };
      const from = resumeId(request.headers['last-event-id'], query) ?? (await ctx.stores.events.lastId());
      const visible: Visible | undefined = auth.kind === 'channel' ? channelVisibility(ctx, auth.channel) : undefined;
      await new EventStreamSession(ctx, reply, filter, from, visible).start();
    },
  );
}
