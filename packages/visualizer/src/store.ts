/**
 * Holds a view's state and decouples the event rate from the frame rate: every action is reduced
 * at once (so nothing is lost or reordered), but listeners (the renderer) are told at most `fps`
 * times a second, with the latest state. 1,000 events a second cost 1,000 reductions and at most
 * `fps` frames.
 */

export interface Store<S, A> {
  getState(): S;
  dispatch(action: A): void;
  /** Called at most `fps` times a second after changes; returns the unsubscribe function. */
  subscribe(listener: () => void): () => void;
  /** How many times listeners were told (one per frame the renderer may draw). */
  readonly notifications: number;
  close(): void;
}

export const DEFAULT_FPS = 10;

export function createStore<S, A>(reducer: (state: S, action: A) => S, initial: S, fps: number = DEFAULT_FPS): Store<S, A> {
  const interval = 1000 / Math.max(1, fps);
  const listeners = new Set<() => void>();
  let state = initial;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let lastFlush = 0;
  let notifications = 0;
  let closed = false;

  const flush = (): void => {
    timer = undefined;
    lastFlush = Date.now();
    notifications += 1;
    for (const listener of listeners) listener();
  };

  return {
    getState: () => state,
    dispatch(action) {
      if (closed) return;
      const next = reducer(state, action);
      if (next === state) return;
      state = next;
      if (timer !== undefined) return;
      // A key press after a quiet spell draws at once; a stream of events waits for the next frame.
      timer = setTimeout(flush, Math.max(0, lastFlush + interval - Date.now()));
    },
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    get notifications() {
      return notifications;
    },
    close() {
      closed = true;
      if (timer !== undefined) clearTimeout(timer);
      timer = undefined;
      listeners.clear();
    },
  };
}
