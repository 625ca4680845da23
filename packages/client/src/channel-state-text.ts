/**
 * A channel's states and how every surface writes them (docs/channels.md#channel-states). No zod:
 * the client's root entry (TinyOffice's pages) loads it; the contract's `ChannelStatusSchema` uses the same states.
 */
/**
 * - `connecting`: its process started, the platform has not answered yet.
 * - `connected`: the platform answered (Telegram `getMe` and a poll, Discord's READY, Slack's hello, WhatsApp's open).
 * - `reconnecting`: the connection failed or dropped; it tries again (`attempt`, `lastError`).
 * - `rejected`: the platform refused its credentials (a wrong or revoked token); not tried again
 *   until its settings change or it is started by hand (`lastError` says which and the fix).
 * - `stopped`: enabled, but stopped (`tinyagi channel start <name>` starts it).
 * - `disabled`: not in `channels.enabled`.
 * - `not_installed`: enabled, but this daemon has no channel runner or no kind of that name (`lastError` says which).
 */
export const CHANNEL_STATES = ['connecting', 'connected', 'reconnecting', 'rejected', 'stopped', 'disabled', 'not_installed'] as const;

/** The channel runner's exit code when the platform refused its credentials: the daemon does not restart it (`rejected`). */
export const CHANNEL_EXIT_REJECTED = 4;
export type ChannelState = (typeof CHANNEL_STATES)[number];

/** A channel's state as every surface writes it: `reconnecting (attempt 3: connect ECONNREFUSED …)`, `not installed`. */
export function channelStateText(c: { state?: ChannelState | undefined; attempt?: number | undefined; lastError?: string | null | undefined; running: boolean }): string {
  const state = c.state ?? (c.running ? 'connecting' : 'stopped');
  if (state === 'reconnecting') return `reconnecting (attempt ${c.attempt ?? 1}${c.lastError ? `: ${c.lastError}` : ''})`;
  if (state === 'rejected') return c.lastError ? `rejected (${c.lastError})` : 'rejected';
  if (state === 'not_installed') return 'not installed';
  return state;
}

/** What a surface draws a state as: good (connected), waiting (connecting, reconnecting), off (disabled) or bad. */
export function channelStateTone(state: ChannelState | undefined): 'good' | 'waiting' | 'off' | 'bad' {
  if (state === 'connected') return 'good';
  if (state === 'connecting' || state === 'reconnecting') return 'waiting';
  if (state === 'disabled') return 'off';
  return 'bad';
}
