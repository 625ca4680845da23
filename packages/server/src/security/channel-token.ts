/**
 * Channel-scoped tokens: what a channel process (one per enabled channel kind) gets instead of the
 * API token. The token is `channel.<name>.<HMAC(name)>`: it may post messages as its channel,
 * claim, ack and fail its channel's outbox rows, check its channel's senders and raise pairing requests for them, cancel,
 * read the status of and reset its channel's conversations and chats (/stop, /status, /reset), and read
 * the event stream filtered to its own outbox and pairing events — nothing else. The daemon
 * mints one per channel child (mintChannelToken) and passes it in the child's environment.
 */
import { secretsEqual, sign } from './secrets.ts';

const PREFIX = 'channel.';
/** Channel names a token can carry: the same shape as ids elsewhere, never a dot. */
export const CHANNEL_NAME_PATTERN = /^[a-z][a-z0-9_-]{0,63}$/;

export function mintChannelToken(secret: string, channel: string): string {
  if (!CHANNEL_NAME_PATTERN.test(channel)) throw new Error(`Invalid channel name for a token: ${channel}`);
  return `${PREFIX}${channel}.${sign(secret, 'channel', channel)}`;
}

export function isChannelToken(token: string): boolean {
  return token.startsWith(PREFIX);
}

/** The channel a valid channel token belongs to, or undefined when it is not valid. */
export function verifyChannelToken(secret: string, token: string): string | undefined {
  const rest = token.slice(PREFIX.length);
  const dot = rest.indexOf('.');
  if (dot <= 0) return undefined;
  const channel = rest.slice(0, dot);
  if (!CHANNEL_NAME_PATTERN.test(channel)) return undefined;
  return secretsEqual(token, mintChannelToken(secret, channel)) ? channel : undefined;
}
