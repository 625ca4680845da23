/** The Discord channel's descriptor (docs/kinds.md): pure data, discord.js is loaded by factory.ts only. */
import * as z from 'zod';
import { defineChannelKind } from '@tinyagi/client/contract';
import { botToken, hostSettings, httpUrl } from '../common-settings.ts';
import type { BuiltinChannelKind } from '../kind.ts';

export const discordKind: BuiltinChannelKind = {
  ...defineChannelKind({
    name: 'discord',
    title: 'Discord',
    description: 'A Discord bot (gateway); needs the Message Content intent.',
    settings: z.looseObject({
      bot_token: botToken,
      /** A proxy of Discord's REST API instead of https://discord.com/api. */
      rest_api: httpUrl,
      /** Guild channel ids the bot answers in (direct messages always); absent: every channel it can read. */
      allowed_channels: z.array(z.string()).optional(),
      ...hostSettings,
    }),
    secrets: ['bot_token'],
    env: [{ variable: 'DISCORD_BOT_TOKEN', path: 'bot_token' }],
    login: 'token',
    processEnv: ['HTTPS_PROXY', 'HTTP_PROXY', 'NO_PROXY'],
    maxMessageChars: 2000,
    capabilities: { threads: false, editsMessages: false, privateReplies: true, files: true, buttons: false },
  }),
  loadAdapter: () => import('./factory.ts'),
};
