/**
 * @tinyagi/channels: chat platforms as supervised API clients of the daemon. One ChannelAdapter
 * interface (adapter.ts), the shared host around it (host.ts: intake.ts takes messages in —
 * sender checks, pairing, files, commands —, delivery.ts delivers the outbox's replies — chunks,
 * retries, acks, typing, live replies), and the adapters, one folder per channel kind with its descriptor (kind.ts)
 * and its factory (factory.ts). The built-in kinds are listed in kinds.ts (`@tinyagi/channels/kinds`,
 * which loads no platform SDK); the process entry is `@tinyagi/channels/runner`.
 */
export {
  CredentialsRejectedError,
  isCredentialsRejected,
  PermanentSendError,
  RetryAfterError,
  type ApprovalClick,
  type ApprovalPrompt,
  type ApprovalPromptAction,
  type ApprovalPromptAdapter,
  type ChannelAdapter,
  type InboundFile,
  type InboundMessage,
  type InboundSink,
  type LiveReplyAdapter,
  type OutboundMessage,
} from './adapter.ts';
export { splitMessage } from './chunk.ts';
export { settingValue, requiredString, optionalStringSetting, type ChannelAdapterContext, type ChannelAdapterModule, type CreateChannelAdapter } from './kind.ts';
export { BUILTIN_CHANNEL_KINDS, registerBuiltinChannelKinds } from './kinds.ts';
export { ChannelConfigError, type ChannelProcessConfig } from './config.ts';
export { ChannelHost, type ChannelHostOptions, type ConnectionReport } from './host.ts';
export type { ChannelLog } from './log.ts';
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
