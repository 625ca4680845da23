/** The WhatsApp channel's adapter factory (loads Baileys when it connects). */
import { optionalStringSetting, type CreateChannelAdapter } from '../kind.ts';
import { moduleSocketFactory, WhatsAppAdapter } from './adapter.ts';

export const createAdapter: CreateChannelAdapter = (context) => {
  const socketModule = optionalStringSetting(context, 'socket_module');
  return new WhatsAppAdapter({
    stateDir: context.stateDir,
    log: context.log,
    ...(socketModule ? { factory: moduleSocketFactory(socketModule, context.config.block) } : {}),
    // Logged out: nothing to retry with this session (the message logged says what to do).
    onFatal: context.exitFatally(3),
  });
};
