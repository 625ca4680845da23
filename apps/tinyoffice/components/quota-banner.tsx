'use client';
/**
 * Accounts held until their rate limit resets (docs/quotas.md): a
 * banner on every page naming the agents that wait and the time left, from GET /api/quotas,
 * fetched again whenever a `runtime.quota` event arrives; a hold is hidden once its reset passed.
 */
import { useCallback, useEffect, useState } from 'react';
import type { QuotaHoldInfo } from '@tinyagi/client';
import { api } from '@/lib/api';
import { useStore } from '@/lib/store';
import { useLiveEvents } from '@/lib/use-events';
import { useNow } from '@/lib/use-now';

function left(ms: number): string {
  const s = Math.max(0, Math.ceil(ms / 1000));
  if (s < 60) return `${s}s`;
  const m = Math.ceil(s / 60);
  return m < 60 ? `${m} min` : `${Math.floor(m / 60)} h ${m % 60} min`;
}

export function QuotaBanner() {
  const auth = useStore((s) => s.auth);
  const [holds, setHolds] = useState<QuotaHoldInfo[]>([]);
  const load = useCallback(() => {
    // A daemon older than the route answers 404: nothing to show.
    api()
      .listQuotas()
      .then((q) => setHolds(q.holds))
      .catch(() => {});
  }, []);
  useEffect(() => {
    if (auth === 'ok') load();
  }, [auth, load]);
  useLiveEvents((events) => {
    if (events.some((e) => e.type === 'runtime.quota')) load();
  });
  const now = useNow(holds.length > 0);
  const live = holds.filter((h) => h.resetsAt > now);
  if (auth !== 'ok' || live.length === 0) return null;
  return (
    <div
      role="status"
      data-testid="quota-banner"
      className="mb-4 rounded-lg border border-amber-300 bg-amber-50 px-4 py-2 text-sm text-amber-950 dark:border-amber-800 dark:bg-amber-950 dark:text-amber-100"
    >
      <p className="font-medium">Rate limited: agents wait until their account's limit resets (no attempts are spent meanwhile).</p>
      <ul className="mt-1 list-disc pl-5">
        {live.map((h) => (
          <li key={h.account} data-account={h.account}>
            {h.label}
            {h.limit ? ` (${h.limit})` : ''}: {h.agents.length > 0 ? h.agents.map((a) => `@${a}`).join(', ') : 'no agent on it now'}, until{' '}
            <time dateTime={new Date(h.resetsAt).toISOString()}>{new Date(h.resetsAt).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' })}</time> (in {left(h.resetsAt - now)})
          </li>
        ))}
      </ul>
    </div>
  );
}
