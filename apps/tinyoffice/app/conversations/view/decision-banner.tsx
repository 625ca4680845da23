'use client';
/**
 * The banner of a conversation that waits for the person's decision (lib/decision.ts): what the
 * guard did, and Continue / Stop, which answer this conversation by its id
 * (POST /api/conversations/:id/answer).
 */
import { useState } from 'react';
import { type ConversationView, type Decision, isApiError } from '@tinyagi/client';
import { api, messageOf } from '@/lib/api';
import { Button, ErrorLine } from '@/components/ui';

const LABEL: Record<Decision, string> = { continue: 'Continue', stop: 'Stop' };

export function DecisionBanner({ conversation, note, onAnswered }: { conversation: ConversationView; note: string | null; onAnswered: (reply: string | null) => void }) {
  const [busy, setBusy] = useState<Decision | null>(null);
  const [error, setError] = useState<string | null>(null);

  const decide = async (decision: Decision) => {
    setBusy(decision);
    setError(null);
    try {
      const result = await api().answerConversation({ params: { id: conversation.id }, body: { decision } });
      onAnswered(result.reply);
    } catch (err) {
      // Decided meanwhile (in a terminal, another tab): the page reloads the conversation.
      if (isApiError(err, 'INVALID_STATE')) onAnswered(null);
      else setError(`${LABEL[decision]} was not sent: ${messageOf(err)} The conversation still waits for your decision; try again.`);
    } finally {
      setBusy(null);
    }
  };

  return (
    <section
      aria-labelledby="decision-title"
      data-testid="decision-banner"
      className="space-y-2 rounded-lg border border-amber-400 bg-amber-50 p-4 text-amber-950 dark:border-amber-700 dark:bg-amber-950 dark:text-amber-50"
    >
      <h2 id="decision-title" className="font-semibold">
        Waiting for your decision
      </h2>
      <p data-testid="decision-note" className="whitespace-pre-line break-words text-sm">
        {note ?? 'A loop or budget guard held work back in this conversation.'}
      </p>
      <p className="text-sm">Continue raises this conversation’s limits and delivers the work that was held back; Stop ends the conversation.</p>
      <div className="flex flex-wrap gap-2">
        <Button tone="primary" disabled={busy !== null} onClick={() => void decide('continue')}>
          {busy === 'continue' ? 'Continuing…' : 'Continue'}
        </Button>
        <Button tone="danger" className="bg-white dark:bg-transparent" disabled={busy !== null} onClick={() => void decide('stop')}>
          {busy === 'stop' ? 'Stopping…' : 'Stop'}
        </Button>
      </div>
      <ErrorLine error={error} />
    </section>
  );
}
