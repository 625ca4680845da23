/**
 * What a channel process is started with (environment only; the daemon's supervisor sets it):
 * TINYAGI_API_URL, TINYAGI_API_TOKEN (channel-scoped), TINYAGI_HOME, TINYAGI_CHANNEL and
 * TINYAGI_CHANNEL_CONFIG (the `channels.<name>` block of settings.json as JSON), and for a kind
 * outside this package TINYAGI_CHANNEL_MODULE (its adapter module). A value the kind binds to an
 * environment variable (a bot token: TELEGRAM_BOT_TOKEN) comes from that variable when it is set
 * (kind.ts `settingValue`).
 */
import { join } from 'node:path';

export interface ChannelProcessConfig {
  channel: string;
  apiUrl: string;
  apiToken: string;
  home: string;
  /** The channels.<name> block (tokens included: never log it). */
  block: Record<string, unknown>;
}

export class ChannelConfigError extends Error {
  override name = 'ChannelConfigError';
}

function required(env: Readonly<Record<string, string | undefined>>, key: string): string {
  const value = env[key];
  if (value === undefined || value === '') throw new ChannelConfigError(`${key} is not set: channel processes are started by the TinyAGI daemon (tinyagi start), which sets it.`);
  return value;
}

export function readChannelConfig(env: Readonly<Record<string, string | undefined>>, argv: readonly string[]): ChannelProcessConfig {
  const channel = argv[0] ?? env['TINYAGI_CHANNEL'];
  if (channel === undefined || channel === '') throw new ChannelConfigError('Which channel? Pass its name (a channel kind, e.g. `tinyagi channel list` shows them).');
  let block: Record<string, unknown> = {};
  const raw = env['TINYAGI_CHANNEL_CONFIG'];
  if (raw !== undefined && raw !== '') {
    try {
      const parsed = JSON.parse(raw) as unknown;
      if (parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed)) block = parsed as Record<string, unknown>;
    } catch {
      throw new ChannelConfigError('TINYAGI_CHANNEL_CONFIG is not valid JSON.');
    }
  }
  return { channel, apiUrl: required(env, 'TINYAGI_API_URL'), apiToken: required(env, 'TINYAGI_API_TOKEN'), home: required(env, 'TINYAGI_HOME'), block };
}

export function optionalNumber(block: Record<string, unknown>, key: string): number | undefined {
  const value = block[key];
  return typeof value === 'number' && Number.isFinite(value) && value > 0 ? value : undefined;
}

export function filesDir(home: string): string {
  return join(home, 'files');
}
