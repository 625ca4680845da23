/**
 * The channel process: `node runner.js <channel>`, started by the daemon's supervisor (one per
 * enabled channel). It builds the platform's adapter, runs a ChannelHost around it and stops
 * cleanly on SIGTERM/SIGINT. A configuration problem (no token, unknown channel) exits with
 * code 2 and says what to set; the supervisor's status shows the exit.
 */
import { createApiClient } from '@tinyagi/client';
import type { ChannelAdapter } from './adapter.ts';
import { botToken, ChannelConfigError, filesDir, optionalNumber, optionalString, readChannelConfig, type ChannelProcessConfig } from './config.ts';
import { ChannelHost, channelStateDir, type ChannelLog } from './host.ts';
import { TelegramAdapter } from './telegram/adapter.ts';

const log: ChannelLog = (level, message) => {
  process.stdout.write(`${new Date().toISOString()} ${level.toUpperCase().padEnd(5)} ${message}\n`);
};

function createAdapter(config: ChannelProcessConfig, env: NodeJS.ProcessEnv): ChannelAdapter {
  switch (config.channel) {
    case 'telegram': {
      const apiRoot = optionalString(config.block, 'api_root');
      return new TelegramAdapter({ token: botToken(config, env, 'TELEGRAM_BOT_TOKEN'), ...(apiRoot ? { apiRoot } : {}), log });
    }
    default:
      throw new ChannelConfigError(`There is no ${config.channel} channel in this version of @tinyagi/channels (available: telegram).`);
  }
}

async function main(): Promise<void> {
  const config = readChannelConfig(process.env, process.argv.slice(2));
  const adapter = createAdapter(config, process.env);
  const maxFileBytes = optionalNumber(config.block, 'max_file_bytes');
  const host = new ChannelHost({
    channel: config.channel,
    adapter,
    api: createApiClient({ baseUrl: config.apiUrl, token: config.apiToken }),
    stateDir: channelStateDir(config.home, config.channel),
    filesDir: filesDir(config.home),
    ...(maxFileBytes ? { maxFileBytes } : {}),
    log,
  });
  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    log('info', `${signal}: stopping`);
    host.stop().then(
      () => process.exit(process.exitCode ?? 0),
      (err: unknown) => {
        log('error', `stop failed: ${err instanceof Error ? err.message : String(err)}`);
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('unhandledRejection', (err) => log('error', `unhandled: ${err instanceof Error ? err.message : String(err)}`));
  await host.start();
}

main().catch((err: unknown) => {
  log('error', err instanceof Error ? err.message : String(err));
  process.exit(err instanceof ChannelConfigError ? 2 : 1);
});
