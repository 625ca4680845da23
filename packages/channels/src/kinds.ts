/**
 * The channel kinds built into @tinyagi/channels: one line per channel (docs/kinds.md). This
 * module and the descriptors it lists load zod and the contract only, never a platform's SDK
 * (`@tinyagi/channels/kinds`, side-effect free): the CLI registers them into core's
 * `channelKinds` at start, the channel process looks its adapter up here.
 */
import type { ChannelKind } from '@tinyagi/client/contract';
import { discordKind } from './discord/kind.ts';
import type { BuiltinChannelKind } from './kind.ts';
import { telegramKind } from './telegram/kind.ts';
import { whatsappKind } from './whatsapp/kind.ts';

export const BUILTIN_CHANNEL_KINDS: readonly BuiltinChannelKind[] = [discordKind, telegramKind, whatsappKind];

/** Registers every built-in kind with `register` (core's `channelKinds.register`); returns a function that removes them again. */
export function registerBuiltinChannelKinds(register: (kind: ChannelKind) => () => void): () => void {
  const undo = BUILTIN_CHANNEL_KINDS.map((kind) => register(kind));
  return () => {
    for (const u of undo.reverse()) u();
  };
}

export type { BuiltinChannelKind, ChannelAdapterContext, ChannelAdapterModule, CreateChannelAdapter } from './kind.ts';
export { discordKind, telegramKind, whatsappKind };
