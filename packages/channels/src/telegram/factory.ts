/** The Telegram channel's adapter factory (loads grammY). */
import { optionalStringSetting, requiredString, settingValue, type CreateChannelAdapter } from '../kind.ts';
import { TelegramAdapter } from './adapter.ts';

export const createAdapter: CreateChannelAdapter = (context) => {
  const apiRoot = optionalStringSetting(context, 'api_root');
  const drafts = settingValue(context, 'live_drafts') === true;
  return new TelegramAdapter({ token: requiredString(context, 'bot_token'), ...(apiRoot ? { apiRoot } : {}), log: context.log, ...(drafts ? { drafts } : {}) });
};
