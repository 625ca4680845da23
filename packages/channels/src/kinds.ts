/**
 * The channel kinds built into @tinyagi/channels: one line per channel (docs/kinds.md). This
 * module and the descriptors it lists load zod and the contract only, never a platform's SDK
 * (`@tinyagi/channels/kinds`, side-effect free): the CLI registers them into core's
 * `channelKinds` at start (it is bundled with the CLI), and the channel process runs the
 * factory in the folder of the kind's name (`<name>/factory.ts`).
 */
import type { ChannelKind } from '@tinyagi/client/contract';
import { discordKind } from './discord/kind.ts';
import { slackKind } from './slack/kind.ts';
import { telegramKind } from './telegram/kind.ts';
import { whatsappKind } from './whatsapp/kind.ts';

export const BUILTIN_CHANNEL_KINDS: readonly ChannelKind[] = [discordKind, slackKind, telegramKind, whatsappKind];

/** Registers every built-in kind with `register` (core's `channelKinds.register`); returns a function that removes them again. */
export function registerBuiltinChannelKinds(register: (kind: ChannelKind) => () => void): () => void {
  const undo = BUILTIN_CHANNEL_KINDS.map((kind) => register(kind));
  return () => {
    for (const u of undo.reverse()) u();
  };
}

export { discordKind, slackKind, telegramKind, whatsappKind };
