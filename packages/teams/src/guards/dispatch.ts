/**
 * Guards applied to the work an agent's reply wants to dispatch (handoffs and chat-room
 * deliveries), before anything is enqueued. Pure: the orchestrator turns rejections into
 * `guard.rejected` events and a note to the human, and a `stop` into a hard stop of the
 * conversation (outstanding work cancelled).
 */
import { checkBudgets, type SpendSnapshot } from './budgets.ts';
import { scaled, type ConversationUsage, type GuardRejection, type GuardSettings } from './limits.ts';

export interface GuardedDelivery {
  kind: 'mention' | 'chatroom';
  target: string;
  hop: number;
  pingPongCount: number;
}

export interface DispatchVerdict<T extends GuardedDelivery> {
  accepted: T[];
  rejected: Array<{ delivery: T; rejection: GuardRejection }>;
  /** Set when the conversation must stop (a budget is exhausted): nothing may run any more. */
  stop?: GuardRejection;
}

export function guardDeliveries<T extends GuardedDelivery>(
  deliveries: readonly T[],
  context: { conversation: ConversationUsage; settings: GuardSettings; spend?: Omit<SpendSnapshot, 'conversation'>; now: number },
): DispatchVerdict<T> {
  const { conversation: c, settings, now } = context;
  const verdict: DispatchVerdict<T> = { accepted: [], rejected: [] };
  if (deliveries.length === 0) return verdict;

  const budget = checkBudgets(settings.budgets, { conversation: c, ...context.spend });
  if (budget !== undefined) {
    verdict.stop = budget;
    verdict.rejected = deliveries.map((delivery) => ({ delivery, rejection: budget }));
    return verdict;
  }
  const timeoutS = scaled(settings.limits.conversation_timeout_s, c.limitScale);
  const ageS = (now - c.createdAt) / 1000;
  const maxHops = scaled(settings.limits.max_hops, c.limitScale);
  const maxMessages = scaled(settings.limits.max_messages, c.limitScale);
  let mentions = 0;
  for (const delivery of deliveries) {
    const reject = (rejection: GuardRejection) => verdict.rejected.push({ delivery, rejection });
    if (ageS >= timeoutS) {
      reject({ limitName: 'conversation_timeout', limit: timeoutS, actual: Math.round(ageS), message: `the conversation has run for ${Math.round(ageS)} s, its limit is ${timeoutS} s` });
      continue;
    }
    if (delivery.kind === 'mention' && ++mentions > settings.limits.max_fanout) {
      reject({ limitName: 'max_fanout', limit: settings.limits.max_fanout, actual: mentions, message: `one reply may hand work to at most ${settings.limits.max_fanout} teammates` });
      continue;
    }
    if (delivery.hop > maxHops) {
      reject({ limitName: 'max_hops', limit: maxHops, actual: delivery.hop, message: `the handoff chain reached ${maxHops} hops` });
      continue;
    }
    if (delivery.kind === 'mention' && delivery.pingPongCount > settings.limits.ping_pong_max) {
      reject({
        limitName: 'ping_pong',
        limit: settings.limits.ping_pong_max,
        actual: delivery.pingPongCount,
        message: `two agents have passed the work back and forth ${settings.limits.ping_pong_max} times without new input from you`,
      });
      continue;
    }
    const messages = c.messageCount + verdict.accepted.length + 1;
    if (messages > maxMessages) {
      reject({ limitName: 'max_messages', limit: maxMessages, actual: messages, message: `the conversation reached ${maxMessages} agent messages` });
      continue;
    }
    verdict.accepted.push(delivery);
  }
  return verdict;
}
