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
