/**
 * The `channels.<name>` blocks of settings.json, each checked against its registered channel
 * kind's schema (docs/kinds.md). The static schema (contract settings-schema.ts) knows only
 * `channels.enabled` and `channels.defaults`; a block whose kind is not registered in this
 * process is kept as it is (it may belong to a plugin that is not loaded here). Issues carry the
 * full path (`channels.telegram.bot_token`), as the static schema's do.
 */
import type { z } from 'zod';
import { ChannelCommonSettingsSchema } from '@tinyagi/client/contract';
import { channelKinds } from '../kinds/registry.ts';
import { isPlainObject } from './object-path.ts';

/** Keys of `channels` that are not a channel's block. */
const NOT_BLOCKS = new Set(['enabled', 'defaults']);

export function channelBlockIssues(settings: unknown): z.core.$ZodIssue[] {
  if (!isPlainObject(settings) || !isPlainObject(settings['channels'])) return [];
  const channels = settings['channels'];
  const issues: z.core.$ZodIssue[] = [];
  for (const [name, block] of Object.entries(channels)) {
    if (NOT_BLOCKS.has(name) || block === undefined) continue;
    const kind = channelKinds.get(name);
    if (kind === undefined) continue;
    const result = kind.settings.safeParse(block, { jitless: true });
    const seen = new Set<string>();
    if (!result.success) for (const issue of result.error.issues) seen.add(issue.path.join('.'));
    // The settings every channel takes (the host reads them), also for a kind whose schema leaves them out.
    const common = ChannelCommonSettingsSchema.safeParse(block, { jitless: true });
    const all = [...(result.success ? [] : result.error.issues), ...(common.success ? [] : common.error.issues.filter((i) => !seen.has(i.path.join('.'))))];
    for (const issue of all) issues.push({ ...issue, path: ['channels', name, ...issue.path] } as z.core.$ZodIssue);
  }
  return issues;
}
