/** A channel's status: one word per state, the same on every surface (docs/channels.md#channel-states). */
import * as z from 'zod';
import { Bool, Int, NullableStr, OptionalInt, Str } from './common.ts';
import { CHANNEL_STATES } from '../channel-state-text.ts';

export { CHANNEL_STATES, channelStateText, channelStateTone, type ChannelState } from '../channel-state-text.ts';

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
