/**
 * One event stream per browser for every tab of the office. Browsers allow six HTTP/1.1
 * connections per host, so a stream per tab left the seventh tab loading forever. The tabs elect
 * a leader with a Web Lock (`navigator.locks`): the tab holding the lock opens the stream and
 * forwards every event and connection state over a BroadcastChannel; the others wait for the
 * lock. When the leader closes (or crashes) the browser releases its lock, the next tab gets it
 * and resumes the stream after the last event it saw, so nothing is lost or doubled (tabs
 * apply only ids above the last one they applied).
 *
 * Without Web Locks (a page served over plain http from a non-loopback address is not a secure
 * context) every tab keeps its own stream, as before.
 */
import type { ConnectionState, TinyEvent } from '@tinyagi/client';

/** The connection state as every tab sees it (cloneable: no Error objects cross the channel). */
export interface StreamInfo {
  attempt: number;
  retryInMs?: number;
  error?: { status: number; message: string };
}

export type BusMessage =
  | { kind: 'event'; event: TinyEvent }
  | { kind: 'state'; connection: ConnectionState; info: StreamInfo }
  /** A tab that just started asks the leader for the current state. */
  | { kind: 'hello' };

const CHANNEL = 'tinyoffice-events';
const LOCK = 'tinyoffice-event-stream';

export interface TabBus {
  /** Sends to the other tabs (never to this one). */
  post(message: BusMessage): void;
  /**
   * Waits for the lock, then calls `start`; what it returns runs when this tab stops leading
   * (resign or close). Once per tab at a time.
   */
  lead(start: () => () => void): void;
  /** Gives the lock up (another tab leads) but keeps listening. */
  resign(): void;
  /** Leaves: resigns and stops listening. */
  close(): void;
}

/** Whether this browser can share one stream between tabs. */
export function canShare(): boolean {
  return typeof BroadcastChannel === 'function' && typeof navigator !== 'undefined' && navigator.locks !== undefined;
}

/** Joins the other tabs of the office: `onMessage` gets what they post. */
export function joinTabs(onMessage: (message: BusMessage) => void): TabBus {
  const channel = new BroadcastChannel(CHANNEL);
  channel.onmessage = (e: MessageEvent<BusMessage>) => onMessage(e.data);
  let release: (() => void) | undefined;
  const resign = () => {
    release?.();
    release = undefined;
  };
  return {
    post: (message) => channel.postMessage(message),
    lead(start) {
      if (release) return;
      let resigned = false;
      const held = new Promise<void>((resolve) => {
        release = () => {
          resigned = true;
          resolve();
        };
      });
      void navigator.locks.request(LOCK, async () => {
        if (resigned) return; // gave up while waiting
        const stop = start();
        await held;
        stop();
      });
    },
    resign,
    close() {
      resign();
      channel.close();
    },
  };
}
