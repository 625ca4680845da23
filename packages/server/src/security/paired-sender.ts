/**
 * A channel-scoped token acts for the people of its chats: it posts their messages, resets their
 * chats and answers approval prompts for them. The daemon, not the channel process, checks that
 * the sender it names is paired on its channel, with the rule the channel's own sender check uses
 * (core's pairing store: an approved row for the channel and sender id), so a compromised or
 * buggy channel process cannot pass a stranger's work on. The API token and TinyOffice's session
 * act for their owner and are not checked.
 */
import type { PairingStoreApi } from '../core-internal.ts';
import { RequestError } from '../errors.ts';

/**
 * Refuses (`SCOPE_FORBIDDEN` without a sender, `403 SENDER_NOT_PAIRED` for one not paired) unless
 * `senderId` is paired on `channel`. `doing` completes "…, so it may not <doing>".
 */
export async function requirePairedSender(pairings: Pick<PairingStoreApi, 'isApproved'>, channel: string, senderId: string | undefined, doing: string): Promise<void> {
  if (senderId === undefined || senderId === '') {
    throw new RequestError('SCOPE_FORBIDDEN', `A channel acts for one of its senders only: name the sender (senderId) to ${doing}.`);
  }
  if (!(await pairings.isApproved(channel, senderId))) {
    throw new RequestError(
      'SENDER_NOT_PAIRED',
      `Sender ${senderId} is not paired on ${channel}, so it may not ${doing}. A sender is paired once the owner approves its pairing code (tinyagi pairing approve <code>).`,
    );
  }
}
