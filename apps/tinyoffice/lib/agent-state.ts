/**
 * What an agent is doing, in the words every page uses: working, paused, failed (its last run,
 * with when, until the person dismisses it) or idle.
 */
import type { AgentFailure } from '@/lib/store';

/** When a failure happened: the time today, else the date and time. */
export function failedAt(failure: AgentFailure, now: number = Date.now()): string {
  const at = new Date(failure.at);
  const sameDay = at.toDateString() === new Date(now).toDateString();
  return sameDay ? at.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' }) : at.toLocaleString([], { dateStyle: 'medium', timeStyle: 'short' });
}

export function agentStateText(state: { working: boolean; paused: boolean; failure: AgentFailure | undefined }): string {
  if (state.paused) return 'paused';
  if (state.working) return 'working';
  if (state.failure) return `last run failed at ${failedAt(state.failure)}`;
  return 'idle';
}
