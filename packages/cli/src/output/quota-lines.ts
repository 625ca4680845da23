/** Held accounts (`GET /api/quotas`) as `tinyagi status` prints them (docs/quotas.md). */
import type { QuotaHoldInfo } from '@tinyagi/client/contract';
import { formatDuration } from './print.ts';

/** One line per held account: who is waiting, until when, and why. */
export function quotaLines(holds: readonly QuotaHoldInfo[], now: number = Date.now()): string[] {
  return holds.map((h) => {
    const until = new Date(h.resetsAt)
      .toISOString()
      .replace('T', ' ')
      .replace(/\.\d+Z$/, ' UTC');
    const why = [h.limit, h.message].filter((s): s is string => typeof s === 'string' && s !== '').join(': ');
    const agents = h.agents.length > 0 ? `agents ${h.agents.join(', ')} wait` : 'no agent on it now';
    return `${h.label}: ${agents} until ${until} (in ${formatDuration(Math.max(0, h.resetsAt - now))})${why ? ` - ${why}` : ''}`;
  });
}
