/**
 * The login state a QR-login channel process (a kind with `login: 'qr'`, WhatsApp) writes to
 * TINYAGI_HOME/channels/<name>/state.json: `{state, qr, at}`. Read as is; anything missing or
 * unreadable is `unknown` (the channel has not run yet), never an error.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CHANNEL_LOGIN_STATES, type ChannelLogin } from '@tinyagi/client/contract';

export function readChannelLogin(home: string, channel: string): ChannelLogin {
  const unknown: ChannelLogin = { channel, state: 'unknown', qr: null, at: null };
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(join(home, 'channels', channel, 'state.json'), 'utf8'));
  } catch {
    return unknown;
  }
  const value = raw as { state?: unknown; qr?: unknown; at?: unknown } | null;
  const state = CHANNEL_LOGIN_STATES.find((s) => s === value?.state);
  if (state === undefined) return unknown;
  return {
    channel,
    state,
    qr: state === 'qr' && typeof value?.qr === 'string' ? value.qr : null,
    at: typeof value?.at === 'number' ? value.at : null,
  };
}
