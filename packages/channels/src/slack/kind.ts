/** The Slack channel's descriptor (docs/kinds.md): pure data, the Slack SDK is loaded by factory.ts only (found by the folder's name). */
import * as z from 'zod';
import { defineChannelKind } from '@tinyagi/client/contract';
import { hostSettings, httpUrl } from '../common-settings.ts';

export const slackKind = defineChannelKind({
  name: 'slack',
  title: 'Slack',
  description:
    'A Slack app over Socket Mode (no public URL; a bot token xoxb- and an app-level token xapp- with connections:write) or the HTTP Events API (mode "http": a bot token and the signing secret; Slack posts to a URL of yours).',
  settings: z.looseObject({
    /** The bot user OAuth token, `xoxb-…` (secret). */
    bot_token: z.string().optional(),
    /** The app-level token with `connections:write`, `xapp-…` (secret): opens the Socket Mode connection. */
    app_token: z.string().optional(),
    mode: z.enum(['socket', 'http']).describe('how Slack reaches the bot: socket (Socket Mode, the default: no public URL) or http (the HTTP Events API at events_path)').optional(),
    /** The app's signing secret (secret; mode http): every request Slack sends is checked against it. */
    signing_secret: z.string().optional(),
    events_port: z.number().int().min(0).max(65535).describe('mode http: the port the Events API endpoint listens on (default 3790)').optional(),
    events_host: z.string().min(1).describe('mode http: the address it listens on (default 127.0.0.1: put your HTTPS reverse proxy or tunnel in front)').optional(),
    events_path: z
      .string()
      .regex(/^\/[\w./-]*$/)
      .describe('mode http: the path of the Request URL, for events and interactivity (default /slack/events)')
      .optional(),
    api_url: httpUrl.describe("Slack's Web API base (e.g. a proxy, https://slack-proxy.example/api/) instead of https://slack.com/api/"),
    /** Channel ids (C…) the bot answers mentions in (direct messages always); absent: every channel it is in. */
    allowed_channels: z.array(z.string()).optional(),
    ...hostSettings,
  }),
  secrets: ['bot_token', 'app_token', 'signing_secret'],
  requiredSecrets: { by: 'mode', default: 'socket', when: { socket: ['bot_token', 'app_token'], http: ['bot_token', 'signing_secret'] } },
  env: [
    { variable: 'SLACK_BOT_TOKEN', path: 'bot_token' },
    { variable: 'SLACK_APP_TOKEN', path: 'app_token' },
    { variable: 'SLACK_SIGNING_SECRET', path: 'signing_secret' },
  ],
  login: 'token',
  processEnv: [],
  maxMessageChars: 4000,
  capabilities: { threads: true, editsMessages: true, privateReplies: true, files: true, buttons: true },
});
