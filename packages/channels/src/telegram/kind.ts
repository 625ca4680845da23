/** The Telegram channel's descriptor (docs/kinds.md): pure data, grammY is loaded by factory.ts only. */
import * as z from 'zod';
import { defineChannelKind } from '@tinyagi/client/contract';
import { botToken, hostSettings, httpUrl } from '../common-settings.ts';
import type { BuiltinChannelKind } from '../kind.ts';

export const telegramKind: BuiltinChannelKind = {
  ...defineChannelKind({
    name: 'telegram',
    title: 'Telegram',
    description: 'A Telegram bot (long polling); a token from @BotFather.',
    settings: z.looseObject({
      bot_token: botToken,
      /** A self-hosted Bot API server instead of https://api.telegram.org. */
      api_root: httpUrl,
      ...hostSettings,
    }),
    secrets: ['bot_token'],
    env: [{ variable: 'TELEGRAM_BOT_TOKEN', path: 'bot_token' }],
    login: 'token',
    processEnv: ['HTTPS_PROXY', 'HTTP_PROXY', 'NO_PROXY'],
    maxMessageChars: 4096,
    capabilities: { threads: true, editsMessages: false, privateReplies: true, files: true, buttons: false },
  }),
  loadAdapter: () => import('./factory.ts'),
};
