/** `tinyagi status`'s lines for accounts held until their rate limit resets (GET /api/quotas). */
import { describe, expect, it } from 'vitest';
import { quotaLines } from '../src/output/quota-lines.ts';

describe('quota lines', () => {
  it('says who waits, until when (UTC), how long and why', () => {
    const now = Date.UTC(2026, 10, 23, 20, 0, 0);
    const base = { runtime: 'codex', status: 'exhausted' as const, reportedBy: 'a', createdAt: now, updatedAt: now };
    expect(
      quotaLines(
        [
          { ...base, account: 'codex:abc', label: 'codex · abc', resetsAt: now + 90 * 60_000, limit: 'primary', message: 'usage limit reached', agents: ['a', 'b'] },
          { ...base, account: 'codex:def', label: 'codex · def', resetsAt: now + 5000, limit: null, message: null, agents: [] },
        ],
        now,
      ),
    ).toEqual(['codex · abc: agents a, b wait until 2026-11-23 21:30:00 UTC (in 1h 30m) - primary: usage limit reached', 'codex · def: no agent on it now until 2026-11-23 20:00:05 UTC (in 5s)']);
  });
});
