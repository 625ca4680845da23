/** The Slack channel's descriptor (docs/kinds.md): pure data, the Slack SDK is loaded by factory.ts only (found by the folder's name). */
import * as z from 'zod';
import { defineChannelKind } from '@tinyagi/client/contract';
import { hostSettings, httpUrl } from '../common-settings.ts';

export const slackKind = defineChannelKind({
  name: 'slack',
  title: 'Slack',
  description: 'A Slack app over Socket Mode (no public URL): a bot token (xoxb-) and an app-level token (xapp-) with connections:write.',
  settings: z.looseObject({
    /** The bot user OAuth token, `xoxb-…` (secret). */
    bot_token: z.string().optional(),
    /** The app-level token with `connections:write`, `xapp-…` (secret): opens the Socket Mode connection. */
    app_token: z.string().optional(),
    api_url: httpUrl.describe("Slack's Web API base (e.g. a proxy, https://slack-proxy.example/api/) instead of https://slack.com/api/"),
    /** Channel ids (C…) the bot answers mentions in (direct messages always); absent: every channel it is in. */
    allowed_channels: z.array(z.string()).optional(),
    ...hostSettings,
  }),
  secrets: ['bot_token', 'app_token'],
  env: [
    { variable: 'SLACK_BOT_TOKEN', path: 'bot_token' },
    { variable: 'SLACK_APP_TOKEN', path: 'app_token' },
  ],
  login: 'token',
  processEnv: [],
  maxMessageChars: 4000,
  capabilities: { threads: true, editsMessages: true, privateReplies: true, files: true, buttons: false },
});
