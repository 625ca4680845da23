/** The Discord channel's adapter factory (loads discord.js). */
import { optionalStringSetting, requiredString, type CreateChannelAdapter } from '../kind.ts';
import { DiscordAdapter } from './adapter.ts';

export const createAdapter: CreateChannelAdapter = (context) => {
  const restApi = optionalStringSetting(context, 'rest_api');
  const allowed = context.config.block['allowed_channels'];
  const allowedChannels = Array.isArray(allowed) ? allowed.filter((c): c is string => typeof c === 'string') : undefined;
  return new DiscordAdapter({
    token: requiredString(context, 'bot_token'),
    ...(restApi ? { restApi } : {}),
    ...(allowedChannels ? { allowedChannels } : {}),
    stateDir: context.stateDir,
    log: context.log,
    // A gateway closed for good (token, intents) exits like a configuration problem.
    onFatal: context.exitFatally(2),
  });
};
