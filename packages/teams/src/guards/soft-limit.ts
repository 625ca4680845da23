/**
 * The one-time "continue?" prompt: when a conversation reaches `soft_limit_fraction` of any of
 * its raisable limits, the human is told what it has used and can reply `continue` (the limits
 * are multiplied) or `stop` (outstanding work is cancelled). Pure.
 */
import { formatUsd, scaled, tokensOf, type ConversationUsage, type GuardSettings } from './limits.ts';

export interface SoftLimitHit {
  limitName: 'max_hops' | 'max_messages' | 'conversation_timeout' | 'conversation_usd' | 'conversation_tokens';
  used: number;
  limit: number;
}

export function softLimitReached(c: ConversationUsage, settings: GuardSettings, now: number): SoftLimitHit | undefined {
  const fraction = settings.budgets.soft_limit_fraction;
  const candidates: SoftLimitHit[] = [
    { limitName: 'max_hops', used: c.hops, limit: scaled(settings.limits.max_hops, c.limitScale) },
    { limitName: 'max_messages', used: c.messageCount, limit: scaled(settings.limits.max_messages, c.limitScale) },
    { limitName: 'conversation_timeout', used: (now - c.createdAt) / 1000, limit: scaled(settings.limits.conversation_timeout_s, c.limitScale) },
  ];
  if (settings.budgets.conversation_usd !== undefined) candidates.push({ limitName: 'conversation_usd', used: c.costUsd, limit: scaled(settings.budgets.conversation_usd, c.limitScale) });
  if (settings.budgets.conversation_tokens !== undefined) candidates.push({ limitName: 'conversation_tokens', used: tokensOf(c), limit: scaled(settings.budgets.conversation_tokens, c.limitScale) });
  return candidates.find((hit) => hit.limit > 0 && hit.used >= hit.limit * fraction);
}

export function softLimitMessage(c: ConversationUsage, hit: SoftLimitHit): string {
  const what: Record<SoftLimitHit['limitName'], string> = {
    max_hops: `${hit.used} of ${hit.limit} handoffs in a chain`,
    max_messages: `${hit.used} of ${hit.limit} messages`,
    conversation_timeout: `${Math.round(hit.used)} of ${Math.round(hit.limit)} seconds`,
    conversation_usd: `${formatUsd(hit.used)} of ${formatUsd(hit.limit)}`,
    conversation_tokens: `${hit.used} of ${hit.limit} tokens`,
  };
  return (
    `This conversation has used ${formatUsd(c.costUsd)} (${tokensOf(c)} tokens) across ${c.messageCount} agent messages ` +
    `and is at ${what[hit.limitName]}. Reply \`continue\` to raise the limit or \`stop\` to end it.`
  );
}
