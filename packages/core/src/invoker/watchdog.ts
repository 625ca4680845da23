/**
 * One watchdog per invocation: a wall-clock deadline, a silence deadline, and the caller's
 * AbortSignal. The first of the three to fire wins and is reported once through `onExpire`; the
 * runtime then stops its process or request. Until the first sign of life (`touch`) the silence
 * deadline is the start grace (`startGraceMs`: a CLI starting on a loaded machine says nothing
 * for a while); from then on every touch pushes it back by the silence limit (`inactivityMs`).
 * While `isBusy()` says the run is legitimately silent (waiting on a sub-agent it spawned), the
 * silence deadline re-arms instead of firing; the wall clock keeps counting.
 */
import { InvokeError } from './invoke-error.ts';
import type { RunLimits } from './types.ts';

/** `start`: silent for the whole start grace; `inactivity`: silent for the silence limit after some output. */
export type WatchdogExpiry = 'timeout' | 'start' | 'inactivity' | 'cancelled';

export interface Watchdog {
  touch(): void;
  dispose(): void;
  readonly expired: WatchdogExpiry | undefined;
}

export interface WatchdogOptions {
  limits: RunLimits;
  signal: AbortSignal | undefined;
  onExpire: (kind: WatchdogExpiry) => void;
  isBusy?: () => boolean;
}

export function startWatchdog(opts: WatchdogOptions): Watchdog {
  let expired: WatchdogExpiry | undefined;
  let disposed = false;
  const fire = (kind: WatchdogExpiry): void => {
    if (expired || disposed) return;
    expired = kind;
    dispose();
    opts.onExpire(kind);
  };
  let started = false;
  const onIdle = (): void => {
    if (opts.isBusy?.()) idle.refresh();
    else fire(started ? 'inactivity' : 'start');
  };
  const wall = setTimeout(() => fire('timeout'), opts.limits.timeoutMs);
  let idle = setTimeout(onIdle, opts.limits.startGraceMs);
  const onAbort = (): void => fire('cancelled');
  opts.signal?.addEventListener('abort', onAbort, { once: true });

  function dispose(): void {
    disposed = true;
    clearTimeout(wall);
    clearTimeout(idle);
    opts.signal?.removeEventListener('abort', onAbort);
  }

  if (opts.signal?.aborted) fire('cancelled');

  return {
    touch: () => {
      if (disposed) return;
      if (started) {
        idle.refresh();
        return;
      }
      // The first sign of life: from now on the silence limit applies.
      started = true;
      clearTimeout(idle);
      idle = setTimeout(onIdle, opts.limits.inactivityMs);
    },
    dispose,
    get expired() {
      return expired;
    },
  };
}

export function expiryError(kind: WatchdogExpiry, limits: RunLimits, what: string, stderrTail?: string): InvokeError {
  switch (kind) {
    case 'cancelled':
      return new InvokeError('cancelled', `${what} was cancelled.`, { stderrTail });
    case 'timeout':
      return new InvokeError('timeout', `${what} did not finish within ${formatMs(limits.timeoutMs)}.`, {
        stderrTail,
        hint: "Raise the agent's timeout_s if this task legitimately needs longer.",
      });
    case 'start':
      return new InvokeError('timeout', `${what} produced no output for ${formatMs(limits.startGraceMs)} after it started.`, {
        stderrTail,
        hint: 'The agent looked stuck before its first output; raise start_grace_s if it legitimately starts slower.',
      });
    case 'inactivity':
      return new InvokeError('timeout', `${what} produced no output for ${formatMs(limits.inactivityMs)}.`, {
        stderrTail,
        hint: 'The agent looked stuck; raise inactivity_s if it legitimately works silently for longer.',
      });
  }
}

function formatMs(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000} s` : `${ms} ms`;
}
