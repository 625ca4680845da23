/**
 * Lets a page react to the tab's live events (from the one stream in lib/live.ts) without a
 * second connection: the callback sees every event the store applied since the last render.
 */
import { useEffect, useRef } from 'react';
import type { TinyEvent } from '@tinyagi/client';
import { getState, subscribeStore } from './store';

export function useLiveEvents(onEvents: (events: TinyEvent[]) => void): void {
  const callback = useRef(onEvents);
  callback.current = onEvents;
  useEffect(() => {
    let seen = getState().lastEventId;
    return subscribeStore(() => {
      const s = getState();
      if (s.lastEventId === seen) return;
      const fresh = s.feed.filter((e) => e.id > seen);
      seen = s.lastEventId;
      if (fresh.length > 0) callback.current(fresh);
    });
  }, []);
}
