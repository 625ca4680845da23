/** What the daemon refused, as every page shows it: `CODE: message`. */
import { useState } from 'react';
import { isApiError } from '@tinyagi/client';
import { messageOf } from './api';

/** The daemon's refusal as the page shows it: `CODE: message`. */
export function refusalText(err: unknown): string {
  return isApiError(err) ? `${err.code}: ${err.message}` : messageOf(err);
}

/** A request a person makes from a form: busy while it runs, the daemon's refusal (`CODE: message`) kept to show when it refuses. */
export function useRefusable(): { busy: boolean; refusal: string | null; run: (work: () => Promise<void>) => Promise<void> } {
  const [busy, setBusy] = useState(false);
  const [refusal, setRefusal] = useState<string | null>(null);
  async function run(work: () => Promise<void>): Promise<void> {
    setBusy(true);
    setRefusal(null);
    try {
      await work();
    } catch (err) {
      setRefusal(refusalText(err));
    } finally {
      setBusy(false);
    }
  }
  return { busy, refusal, run };
}
