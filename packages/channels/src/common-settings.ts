/**
 * Settings every channel's block takes (the shared host's options), for the kinds' schemas:
 * `channels.<name>.max_file_bytes`, `lease_ms`, `max_inline_retry_ms`, `live_replies` (the last
 * is checked for every kind, a plugin's too: ChannelCommonSettingsSchema).
 */
import * as z from 'zod';
import { ChannelCommonSettingsSchema } from '@tinyagi/client/contract';

const positive = z.number().positive().optional();

export const hostSettings = {
  /** Inbound files above this (default 20 MiB) are not stored; the agent is told. */
  max_file_bytes: positive,
  /** How long a claimed reply stays leased to this channel process. */
  lease_ms: positive,
  /** Retries of a send waited for inline up to this long; longer ones go back to the outbox. */
  max_inline_retry_ms: positive,
  /** Progress in the chat while an agent works: off, status (default) or text. */
  live_replies: ChannelCommonSettingsSchema.shape.live_replies,
};

/** A bot token (secret: masked on every read). */
export const botToken = z.string().optional();

export const httpUrl = z
  .string()
  .refine((url) => url === '' || (URL.canParse(url) && /^https?:$/.test(new URL(url).protocol)), { error: (issue) => `${String(issue.input)} is not an http(s) URL` })
  .optional();
