/**
 * Opens the database and the stores on it: the one object the orchestrator, the server and
 * the CLI share inside a process.
 */
import { openDatabase, type Durability, type TinyDatabase } from './storage/database.ts';
import { EventLog } from './events/log.ts';
import { SqliteQueueStore } from './queue/sqlite-store.ts';
import type { BackoffPolicy } from './queue/types.ts';
import { OutboxStore } from './outbox/store.ts';
import { RunStore } from './runs/store.ts';
import { RunSteeringStore } from './runs/steering-store.ts';
import { ConversationQueries } from './runs/queries.ts';
import { ChatroomStore } from './chatroom/index.ts';
import { AgentMessageStore, AgentSessionStore, SenderDefaultsStore } from './sessions/index.ts';
import { PairingStore } from './pairing/index.ts';
import { ScheduleStore } from './schedules/index.ts';
import { TaskStore } from './tasks/index.ts';

export interface OpenStoresOptions {
  dbPath: string;
  durability?: Durability;
  maxAttempts?: number;
  backoff?: BackoffPolicy;
  outboxTtlMs?: number;
  clientChannels?: readonly string[];
}

export interface Stores {
  db: TinyDatabase;
  events: EventLog;
  queue: SqliteQueueStore;
  outbox: OutboxStore;
  runs: RunStore;
  steering: RunSteeringStore;
  /** Read queries across queue, runs and conversations (what the orchestrator asks). */
  queries: ConversationQueries;
  chatroom: ChatroomStore;
  agentSessions: AgentSessionStore;
  agentMessages: AgentMessageStore;
  senderDefaults: SenderDefaultsStore;
  pairings: PairingStore;
  schedules: ScheduleStore;
  tasks: TaskStore;
  /**
   * Deletes data older than `days`: finished messages, delivered outbox rows, runs, events, the
   * agents' chat history, chat-room posts and sessions not used in that time. Dead letters are kept.
   */
  prune(days: number): PruneCounts;
  /**
   * Resolves once every commit made so far is on disk (commits are fsynced off the event loop:
   * storage/durable-commit.ts). Acknowledge a write to anyone outside only after this.
   */
  whenDurable(): Promise<void>;
  close(): void;
}

export interface PruneCounts {
  messages: number;
  outbox: number;
  runs: number;
  events: number;
  agentMessages: number;
  chatroom: number;
  sessions: number;
}

export function openStores(options: OpenStoresOptions): Stores {
  const db = openDatabase({ path: options.dbPath, ...(options.durability ? { durability: options.durability } : {}) });
  const events = new EventLog(db);
  const queue = new SqliteQueueStore(db, {
    events,
    ...(options.maxAttempts !== undefined ? { defaultMaxAttempts: options.maxAttempts } : {}),
    ...(options.backoff ? { backoff: options.backoff } : {}),
  });
  const outbox = new OutboxStore(db, {
    events,
    ...(options.outboxTtlMs !== undefined ? { defaultTtlMs: options.outboxTtlMs } : {}),
    ...(options.clientChannels ? { clientChannels: options.clientChannels } : {}),
  });
  const runs = new RunStore(db);
  const chatroom = new ChatroomStore(db);
  const agentSessions = new AgentSessionStore(db);
  const agentMessages = new AgentMessageStore(db);
  return {
    db,
    events,
    queue,
    outbox,
    runs,
    steering: new RunSteeringStore(db),
    queries: new ConversationQueries(db),
    chatroom,
    agentSessions,
    agentMessages,
    senderDefaults: new SenderDefaultsStore(db),
    pairings: new PairingStore(db, { events }),
    schedules: new ScheduleStore(db, { events }),
    tasks: new TaskStore(db),
    whenDurable: () => db.whenDurable(),
    prune(days) {
      const before = Date.now() - days * 86_400_000;
      return {
        messages: queue.prune(before),
        outbox: outbox.prune(before),
        runs: runs.prune(before),
        events: events.prune(before),
        agentMessages: agentMessages.prune(before),
        chatroom: chatroom.prune(before),
        sessions: agentSessions.prune(before),
      };
    },
    close() {
      events.flush();
      events.close();
      db.close();
    },
  };
}
