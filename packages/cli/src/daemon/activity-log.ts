/**
 * Writes the notable events of the daemon (runs, retries, dead letters, guards, schedules, heartbeats,
 * channel and settings changes, plugin failures) to the daemon log as one readable line each,
 * under the `queue` scope that `tinyagi logs queue` shows. Progress chunks and SSE-only detail are left out.
 */
import type { TinyEvent } from '@tinyagi/core';
import type { EventLogApi } from '../core-internal.ts';
import type { Logger } from './logger.ts';

function str(value: unknown): string {
  return typeof value === 'string' ? value : value === undefined || value === null ? '' : JSON.stringify(value);
}

function firstLine(text: string, max = 200): string {
  const line = text.split('\n')[0] ?? '';
  return line.length > max ? `${line.slice(0, max)}…` : line;
}

/** The log line for an event, or undefined for events that are not logged. */
export function activityLine(e: TinyEvent): { level: 'info' | 'warn'; text: string } | undefined {
  const agent = e.agentId ? `@${e.agentId}` : '';
  const where = e.conversationId ? ` (${e.conversationId}${e.runId ? ` ${e.runId}` : ''})` : '';
  switch (e.type) {
    case 'run.started':
      return { level: 'info', text: `${agent} started (${e.data.cause}, depth ${e.depth ?? 0})${where}` };
    case 'run.completed':
      return { level: 'info', text: `${agent} completed${where}` };
    case 'run.failed':
      return { level: 'warn', text: `${agent} failed: ${firstLine(str(e.data.error))}${where}` };
    case 'run.cancelled':
    case 'run.rejected':
      return { level: 'warn', text: `${agent} ${e.type.slice(4)}: ${firstLine(str(e.data.error))}${where}` };
    case 'queue.retry': {
      // A rate-limit wait (and a lost lease of a batch) gives its attempt back: "attempt 0/3" would say nothing.
      const which =
        e.data.kind === 'rate_limited'
          ? `rate limited (wait ${e.data.rateLimitWaits}/${e.data.maxRateLimitWaits}, no attempt used)`
          : e.data.attempts === 0
            ? `failed (${e.data.failure}, no attempt used)`
            : `attempt ${e.data.attempts}/${e.data.maxAttempts} failed (${e.data.failure})`;
      return { level: 'warn', text: `${agent} ${which}, retry in ${Math.round(e.data.retryInMs / 1000)} s: ${firstLine(e.data.error)}${where}` };
    }
    case 'queue.dead':
      return { level: 'warn', text: `dead letter for ${agent} (${e.data.failure}, attempt ${e.data.attempts}/${e.data.maxAttempts}): ${firstLine(e.data.reason)} (tinyagi queue dead)${where}` };
    case 'guard.rejected':
    case 'budget.exceeded':
      return { level: 'warn', text: `${e.type}: ${firstLine(e.data.message)}${where}` };
    case 'conversation.completed':
      if (e.data.status === 'completed') return { level: 'info', text: `conversation completed${where}` };
      return { level: 'warn', text: `conversation ${e.data.status}${e.data.reason ? `: ${firstLine(e.data.reason)}` : ''}${where}` };
    case 'outbox.expired':
      return { level: 'warn', text: `a reply on ${e.data.channel} expired undelivered${where}` };
    case 'schedule.fired':
      return { level: 'info', text: `schedule ${e.data.label} fired${e.data.missed === true ? ' (missed run, policy run-once)' : ''}` };
    case 'heartbeat.sent':
      return { level: 'info', text: `heartbeat sent to ${agent}` };
    case 'channel.status': {
      const d = e.data;
      const exit = d.crashed === true ? ` (exited: code ${str(d.exitCode) || '-'}, signal ${str(d.signal) || '-'}${d.error ? `, ${firstLine(d.error)}` : ''})` : '';
      return { level: d.crashed === true ? 'warn' : 'info', text: `channel ${d.channel}: ${d.state}${exit}` };
    }
    case 'system.notice':
      // Only plugin failures: other notices are for the event stream.
      return e.data.where === 'plugin'
        ? { level: 'warn', text: `plugin ${str(e.data.plugin)} ${str(e.data.hook)} ${firstLine(str(e.data.error))}; the text passed through unchanged${where}` }
        : undefined;
    case 'pairing.requested':
      return { level: 'info', text: `pairing requested on ${e.data.channel} (tinyagi pairing pending)` };
    case 'pairing.approved':
      return { level: 'info', text: `pairing approved on ${e.data.channel}: ${e.data.sender || e.data.senderId}` };
    default:
      return undefined;
  }
}

export function logActivity(events: Pick<EventLogApi, 'subscribe'>, logger: Logger): () => void {
  return events.subscribe((event) => {
    const line = activityLine(event);
    if (line) logger[line.level](line.text);
  });
}
