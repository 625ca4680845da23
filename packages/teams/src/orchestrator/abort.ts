/** Why an in-process run was aborted (read back from `signal.reason`), and controllers that follow a parent's abort. */

/** Why an in-process run was aborted; read back from `signal.reason`. */
export type AbortCause = 'cancelled' | 'budget' | 'shutdown' | 'timeout';

export function abortCause(signal: AbortSignal): AbortCause | undefined {
  if (!signal.aborted) return undefined;
  // Our own aborts pass the cause as the reason; the queue worker passes Error('shutdown'),
  // Error('cancelled') or Error('lease lost').
  return toAbortCause(signal.reason instanceof Error ? signal.reason.message : signal.reason);
}

/** An abort reason (ours, the queue worker's message, or a `run.cancelled` event's `reason`) as a cause. */
export function toAbortCause(reason: unknown): AbortCause {
  return reason === 'budget' || reason === 'shutdown' || reason === 'timeout' ? reason : 'cancelled';
}

/** A controller that also aborts (with the same reason) when `parent` aborts. */
export function linkedController(parent: AbortSignal | undefined): AbortController {
  const controller = new AbortController();
  if (!parent) return controller;
  if (parent.aborted) controller.abort(parent.reason);
  else parent.addEventListener('abort', () => controller.abort(parent.reason), { once: true });
  return controller;
}
