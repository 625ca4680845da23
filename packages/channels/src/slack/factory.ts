/** The Slack channel's adapter factory (loads the Slack SDK). */
import { optionalStringSetting, requiredString, type CreateChannelAdapter } from '../kind.ts';
import { SlackAdapter } from './adapter.ts';

export const createAdapter: CreateChannelAdapter = (context) => {
  const apiUrl = optionalStringSetting(context, 'api_url');
  const allowed = context.config.block['allowed_channels'];
  const allowedChannels = Array.isArray(allowed) ? allowed.filter((c): c is string => typeof c === 'string') : undefined;
  return new SlackAdapter({
    botToken: requiredString(context, 'bot_token'),
    appToken: requiredString(context, 'app_token'),
    ...(apiUrl ? { apiUrl } : {}),
    ...(allowedChannels ? { allowedChannels } : {}),
    stateDir: context.stateDir,
    log: context.log,
    // The socket down for good (the SDK stopped reconnecting): exit, the supervisor starts the channel again.
    onFatal: context.exitFatally(1),
  });
};
