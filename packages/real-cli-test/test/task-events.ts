/**
 * A git task's events as a real-CLI test follows them: every `task.*` event from the first (the
 * daemon is the test's alone, and the worktree's event may come before a connection opens), and
 * `event(type, nth)` that waits for the nth of a type, on the events as they come, never polled.
 */
import type { EventOf } from '@tinyagi/client';
import { waitOnEvents } from '@tinyagi/test-kit';
import type { Rig } from './harness.ts';

export const TASK_EVENTS = ['task.worktree_created', 'task.checking', 'task.checked', 'task.feedback_sent', 'task.merged', 'task.worktree_removed'] as const;
export type TaskEvent = EventOf<(typeof TASK_EVENTS)[number]>;

export function watchTaskEvents(rig: Rig, timeoutMs: number) {
  const events: TaskEvent[] = [];
  const seen = new Set<() => void>();
  const subscription = rig.daemon.api.subscribe({ types: TASK_EVENTS, lastEventId: 0 });
  subscription.onEvent((event) => {
    events.push(event);
    for (const listener of [...seen]) listener();
  });
  const event = <T extends TaskEvent['type']>(type: T, nth = 1): Promise<Extract<TaskEvent, { type: T }>> =>
    waitOnEvents(
      seen,
      () => events.filter((e): e is Extract<TaskEvent, { type: T }> => e.type === type)[nth - 1],
      timeoutMs,
      () => `timed out waiting for ${type} #${nth}; events: ${events.map((e) => e.type).join(', ')}\n${rig.daemon.logs()}`,
    );
  return { events, event, close: () => subscription.close() };
}
