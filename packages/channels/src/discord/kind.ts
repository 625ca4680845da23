/** The Discord channel's descriptor (docs/kinds.md): pure data, discord.js is loaded by factory.ts only (found by the folder's name). */
import * as z from 'zod';
import { defineChannelKind } from '@tinyagi/client/contract';
import { botToken, hostSettings, httpUrl } from '../common-settings.ts';

export const discordKind = defineChannelKind({
  name: 'discord',
  title: 'Discord',
  description: 'A Discord bot (gateway); needs the Message Content intent.',
  settings: z.looseObject({
    bot_token: botToken,
    rest_api: httpUrl.describe("a proxy of Discord's REST API (e.g. https://my-discord-proxy.example/api) instead of discord.com/api"),
    /** Guild channel ids the bot answers in (direct messages always); absent: every channel it can read. */
    allowed_channels: z.array(z.string()).optional(),
    ...hostSettings,
  }),
  secrets: ['bot_token'],
  env: [{ variable: 'DISCORD_BOT_TOKEN', path: 'bot_token' }],
  login: 'token',
  processEnv: [],
  maxMessageChars: 2000,
  capabilities: { threads: false, editsMessages: true, privateReplies: true, files: true, buttons: true },
});
