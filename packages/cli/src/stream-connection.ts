/**
 * What a wait on the event stream (`send --wait`, `workflow run --wait`) shares: telling the
 * person when the stream drops and comes back, and ending the wait once this home's daemon is gone
 * for good (the stream down and no live daemon for DAEMON_GONE_MS; a restart comes back well
 * within that).
 */
import type { EventSubscription } from '@tinyagi/client';

/** How long the daemon must stay gone, the stream down, before the wait says it stopped. */
const DAEMON_GONE_MS = 5000;

export interface StreamConnection {
  /** Since when the stream has been down (undefined while it is open). */
  lostAt(): number | undefined;
  /** Whether the daemon was found gone (the wait was aborted for it). */
  gone(): boolean;
  stop(): void;
}

export function watchConnection(
  events: Pick<EventSubscription<never>, 'onStateChange'>,
  abort: AbortController,
  options: { onConnection?: ((change: 'lost' | 'back') => void) | undefined; daemonGone?: (() => boolean) | undefined },
): StreamConnection {
  let lostAt: number | undefined;
  let goneSince: number | undefined;
  let gone = false;
  events.onStateChange((state) => {
    if (state === 'reconnecting' && lostAt === undefined) {
      lostAt = Date.now();
      options.onConnection?.('lost');
    } else if (state === 'open' && lostAt !== undefined) {
      lostAt = undefined;
      options.onConnection?.('back');
    }
  });
  const daemonGone = options.daemonGone;
  const check = daemonGone
    ? setInterval(() => {
        if (lostAt === undefined || !daemonGone()) {
          goneSince = undefined;
          return;
        }
        goneSince ??= Date.now();
        if (Date.now() - goneSince >= DAEMON_GONE_MS) {
          gone = true;
          abort.abort();
        }
      }, 500)
    : undefined;
  return { lostAt: () => lostAt, gone: () => gone, stop: () => clearInterval(check) };
}
