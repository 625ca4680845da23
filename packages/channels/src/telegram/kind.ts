/** The Telegram channel's descriptor (docs/kinds.md): pure data, grammY is loaded by factory.ts only (found by the folder's name). */
import * as z from 'zod';
import { defineChannelKind } from '@tinyagi/client/contract';
import { botToken, hostSettings, httpUrl } from '../common-settings.ts';

export const telegramKind = defineChannelKind({
  name: 'telegram',
  title: 'Telegram',
  description: 'A Telegram bot (long polling); a token from @BotFather.',
  settings: z.looseObject({
    bot_token: botToken,
    api_root: httpUrl.describe('a self-hosted Telegram Bot API server (e.g. http://127.0.0.1:8081) instead of api.telegram.org'),
    live_drafts: z.boolean().describe('live replies in private chats as message drafts (sendMessageDraft) instead of an edited message').optional(),
    ...hostSettings,
  }),
  secrets: ['bot_token'],
  env: [{ variable: 'TELEGRAM_BOT_TOKEN', path: 'bot_token' }],
  login: 'token',
  processEnv: [],
  maxMessageChars: 4096,
  capabilities: { threads: true, editsMessages: true, privateReplies: true, files: true, buttons: false },
});
