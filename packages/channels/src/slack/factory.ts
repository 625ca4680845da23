/** The Slack channel's adapter factory (loads the Slack SDK). */
import { optionalStringSetting, requiredString, type CreateChannelAdapter } from '../kind.ts';
import { SlackAdapter } from './adapter.ts';

/** The Events API endpoint's port when `events_port` is not set. */
const SLACK_EVENTS_PORT = 3790;

export const createAdapter: CreateChannelAdapter = (context) => {
  const apiUrl = optionalStringSetting(context, 'api_url');
  const block = context.config.block;
  // mode "http": the HTTP Events API (events-http.ts) instead of Socket Mode.
  const http =
    block['mode'] === 'http'
      ? {
          signingSecret: requiredString(context, 'signing_secret'),
          port: typeof block['events_port'] === 'number' ? block['events_port'] : SLACK_EVENTS_PORT,
          ...(typeof block['events_host'] === 'string' ? { host: block['events_host'] } : {}),
          ...(typeof block['events_path'] === 'string' ? { path: block['events_path'] } : {}),
        }
      : undefined;
  const allowed = block['allowed_channels'];
  const allowedChannels = Array.isArray(allowed) ? allowed.filter((c): c is string => typeof c === 'string') : undefined;
  return new SlackAdapter({
    botToken: requiredString(context, 'bot_token'),
    ...(http ? { http } : { appToken: requiredString(context, 'app_token') }),
    ...(apiUrl ? { apiUrl } : {}),
    ...(allowedChannels ? { allowedChannels } : {}),
    stateDir: context.stateDir,
    log: context.log,
    // The socket down for good (the SDK stopped reconnecting): exit, the supervisor starts the channel again.
    onFatal: context.exitFatally(1),
  });
};
