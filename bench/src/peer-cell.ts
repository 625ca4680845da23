/**
 * Peers are measured, not trusted: a peer that fails (plainjob's deferred transactions die with
 * SQLITE_BUSY on slower disks) is retried a bounded number of times and then reported in its
 * table cell, and the run goes on. Our own measurements are not wrapped: their failure fails
 * the run.
 */

export const PEER_ATTEMPTS = 3;

export type PeerOutcome<T> = { ok: true; value: T; attempts: number } | { ok: false; error: string; attempts: number };

export async function measurePeer<T>(name: string, run: () => Promise<T>, options: { attempts?: number; log?: (line: string) => void } = {}): Promise<PeerOutcome<T>> {
  const attempts = options.attempts ?? PEER_ATTEMPTS;
  const log = options.log ?? ((line: string) => console.error(line));
  let error = '';
  for (let attempt = 1; attempt <= attempts; attempt++) {
    try {
      return { ok: true, value: await run(), attempts: attempt };
    } catch (err) {
      error = err instanceof Error ? err.message : String(err);
      log(`${name}: attempt ${attempt} of ${attempts} failed: ${error}`);
    }
  }
  return { ok: false, error, attempts };
}

/** The text of a failed peer's cell (one line, no table separators). */
export function failedCell(outcome: { error: string; attempts: number }): string {
  const error = outcome.error.replace(/\s+/g, ' ').replace(/\|/g, '\\|').slice(0, 160);
  return `failed (${outcome.attempts} attempts): ${error}`;
}
