/**
 * Stand-ins for the chat channels' kinds, for the tests of packages below @tinyagi/channels (core,
 * teams, the server), which cannot import the real descriptors: a daemon registers the real ones
 * at start (the CLI, packages/cli/src/kinds.ts); these give the same names, secrets and
 * environment bindings, so replies to those channels wait in the outbox for a client, bot tokens
 * are masked and TELEGRAM_BOT_TOKEN overrides, as in the product. @tinyagi/channels' own tests
 * check that its descriptors say the same (test/kinds.test.ts).
 */
import * as z from 'zod';
import { defineChannelKind, type ChannelKind } from '@tinyagi/client/contract';

const capabilities = { threads: false, editsMessages: false, privateReplies: true, files: true, buttons: false };

function tokenKind(name: string, variable: string, maxMessageChars: number): ChannelKind {
  return defineChannelKind({
    name,
    title: `${name} (stand-in)`,
    description: `The test kit's stand-in for the ${name} channel kind.`,
    settings: z.looseObject({ bot_token: z.string().optional() }),
    secrets: ['bot_token'],
    env: [{ variable, path: 'bot_token' }],
    login: 'token',
    processEnv: [],
    maxMessageChars,
    capabilities,
  });
}

export function standInChannelKinds(): ChannelKind[] {
  return [
    tokenKind('discord', 'DISCORD_BOT_TOKEN', 2000),
    tokenKind('telegram', 'TELEGRAM_BOT_TOKEN', 4096),
    defineChannelKind({
      name: 'whatsapp',
      title: 'whatsapp (stand-in)',
      description: "The test kit's stand-in for the whatsapp channel kind.",
      settings: z.looseObject({}),
      secrets: [],
      env: [],
      login: 'qr',
      processEnv: [],
      maxMessageChars: 65_000,
      capabilities,
    }),
  ];
}

/** Registers the stand-ins with `register` (core's `channelKinds.register`); returns a function that removes them. */
export function registerStandInChannelKinds(register: (kind: ChannelKind) => () => void): () => void {
  const undo = standInChannelKinds().map((kind) => register(kind));
  return () => {
    for (const u of undo.reverse()) u();
  };
}
