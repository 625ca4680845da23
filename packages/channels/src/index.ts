/**
 * @tinyagi/channels: chat platforms as supervised API clients of the daemon. One ChannelAdapter
 * interface (adapter.ts), the shared host around it (pairing, idempotency, chunking, outbox
 * delivery: host.ts), and the adapters. The process entry is `@tinyagi/channels/runner`.
 */
export { PermanentSendError, RetryAfterError, type ChannelAdapter, type InboundFile, type InboundMessage, type InboundSink, type OutboundMessage } from './adapter.ts';
export { splitMessage } from './chunk.ts';
export { ChannelHost, type ChannelHostOptions, type ChannelLog } from './host.ts';
export { TelegramAdapter, TELEGRAM_MAX_MESSAGE, TELEGRAM_COMMANDS, type TelegramAdapterOptions } from './telegram/adapter.ts';
export { DiscordAdapter, DISCORD_MAX_MESSAGE, type DiscordAdapterOptions } from './discord/adapter.ts';
export {
  WhatsAppAdapter,
  WHATSAPP_MAX_MESSAGE,
  baileysFactory,
  renderQr,
  type WhatsAppAdapterOptions,
  type WhatsAppMessage,
  type WhatsAppSocket,
  type WhatsAppSocketFactory,
} from './whatsapp/adapter.ts';
