/**
 * Waiting for a state, never for a time: `waitFor` polls a probe (every 25 ms) until it yields a
 * value. The deadline only bounds a failure (and the error names what was awaited); a passing test
 * never waits it out, so it may be generous on a loaded machine.
 */

/** Polls `probe` until it returns something other than undefined, null or false, and returns that. */
export async function waitFor<T>(probe: () => T | undefined | null | false | Promise<T | undefined | null | false>, timeoutMs = 20_000, what = 'condition', intervalMs = 25): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== null && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

/**
 * Waits for a state that changes only on events: `probe` is checked now and each time the owner
 * calls the listeners in `listeners` (the fake platform servers do on every request), never polled.
 * `failure` builds the timeout message (it may add what was seen so far).
 */
export function waitOnEvents<T>(listeners: Set<() => void>, probe: () => T | undefined | false, timeoutMs: number, failure: () => string): Promise<T> {
  const first = probe();
  if (first !== undefined && first !== false) return Promise.resolve(first);
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => {
      listeners.delete(check);
      reject(new Error(failure()));
    }, timeoutMs);
    const check = (): void => {
      const value = probe();
      if (value === undefined || value === false) return;
      clearTimeout(timer);
      listeners.delete(check);
      resolve(value);
    };
    listeners.add(check);
  });
}
