/** A channel's status: one word per state, the same on every surface (docs/channels.md#channel-states). */
import * as z from 'zod';
import { Bool, Int, NullableStr, OptionalInt, Str } from './common.ts';

/**
 * - `connecting`: its process started, the platform has not answered yet.
 * - `connected`: the platform answered (Telegram `getMe` and a poll, Discord's READY, Slack's hello, WhatsApp's open).
 * - `reconnecting`: the connection failed or dropped; it tries again (`attempt`, `lastError`).
 * - `stopped`: enabled, but stopped (`tinyagi channel start <name>` starts it).
 * - `disabled`: not in `channels.enabled`.
 * - `not_installed`: enabled, but this daemon has no channel runner or no kind of that name (`lastError` says which).
 */
export const CHANNEL_STATES = ['connecting', 'connected', 'reconnecting', 'stopped', 'disabled', 'not_installed'] as const;
export type ChannelState = (typeof CHANNEL_STATES)[number];

export const ChannelStatusSchema = z.looseObject({
  name: Str,
  /** Its process is alive (which is not `connected`: see `state`). */
  running: Bool,
  state: z.enum(CHANNEL_STATES).optional(),
  enabled: Bool.optional(),
  /** While `reconnecting`: which attempt this is (1 for the first after a failure). */
  attempt: OptionalInt,
  pid: Int.nullable().optional(),
  restarts: OptionalInt,
  /** Why it is not connected (the platform's or the network's error), null once connected. */
  lastError: NullableStr.optional(),
});
export type ChannelStatus = z.infer<typeof ChannelStatusSchema>;

/** A channel's state as every surface writes it: `reconnecting (attempt 3: connect ECONNREFUSED …)`, `not installed`. */
export function channelStateText(c: Pick<ChannelStatus, 'state' | 'attempt' | 'lastError' | 'running'>): string {
  const state = c.state ?? (c.running ? 'connecting' : 'stopped');
  if (state === 'reconnecting') return `reconnecting (attempt ${c.attempt ?? 1}${c.lastError ? `: ${c.lastError}` : ''})`;
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
