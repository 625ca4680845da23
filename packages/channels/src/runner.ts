/**
 * The channel process: `node runner.js <channel>`, started by the daemon's supervisor (one per
 * enabled channel). It builds the platform's adapter, runs a ChannelHost around it and stops
 * cleanly on SIGTERM/SIGINT. A configuration problem (no token, unknown channel) exits with
 * code 2 and says what to set; the supervisor's status shows the exit.
 */
import { createApiClient } from '@tinyagi/client';
import { extname } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { LIVE_REPLY_MODES, type ChannelKind, type LiveReplyMode } from '@tinyagi/client/contract';
import type { ChannelAdapter } from './adapter.ts';
import { ChannelConfigError, filesDir, optionalNumber, readChannelConfig, type ChannelProcessConfig } from './config.ts';
import { ChannelHost, channelStateDir, type ChannelLog } from './host.ts';
import type { ChannelAdapterModule } from './kind.ts';
import { BUILTIN_CHANNEL_KINDS } from './kinds.ts';

const STOP_GRACE_MS = 10_000;

// stdout is a pipe to the daemon (which writes logs/<channel>.log). If the daemon died, writing
// fails with EPIPE: that must not crash us mid-delivery, so the lines are dropped instead.
process.stdout.on('error', () => {});

const log: ChannelLog = (level, message) => {
  if (process.stdout.writable) process.stdout.write(`${new Date().toISOString()} ${level.toUpperCase().padEnd(5)} ${message}\n`);
};

/** An adapter's session that cannot continue: stop cleanly, then exit with `code`. */
function exitFatally(code: number): () => void {
  return () => {
    process.exitCode = code;
    process.kill(process.pid, 'SIGTERM');
  };
}

/**
 * The adapter of the channel: a kind built into this package (kinds.ts; its folder's factory.ts), or one whose factory
 * module the daemon names in TINYAGI_CHANNEL_MODULE (a plugin's kind, its `adapterModule`).
 */
async function createAdapter(config: ChannelProcessConfig, env: NodeJS.ProcessEnv): Promise<ChannelAdapter> {
  const builtin = BUILTIN_CHANNEL_KINDS.find((k) => k.name === config.channel);
  const specifier = env['TINYAGI_CHANNEL_MODULE'];
  let module: ChannelAdapterModule;
  let kind: Pick<ChannelKind, 'name' | 'env'> | undefined = builtin;
  if (specifier !== undefined && specifier !== '') {
    const url = /^[a-z][a-z0-9+.-]*:/i.test(specifier) ? specifier : specifier.startsWith('/') ? pathToFileURL(specifier).href : specifier;
    module = (await import(url)) as ChannelAdapterModule;
    if (typeof module.createAdapter !== 'function') throw new ChannelConfigError(`${specifier} (the ${config.channel} channel's adapter module) exports no createAdapter function.`);
    kind ??= (module as { kind?: ChannelKind }).kind;
  } else if (builtin) {
    // Each built-in kind's folder is named after it and holds its factory (kind.ts).
    module = (await import(new URL(`./${builtin.name}/factory${extname(fileURLToPath(import.meta.url))}`, import.meta.url).href)) as ChannelAdapterModule;
  } else {
    const names = BUILTIN_CHANNEL_KINDS.map((k) => k.name).join(', ');
    throw new ChannelConfigError(`There is no ${config.channel} channel in this version of @tinyagi/channels (available: ${names}), and no adapter module was given for it (TINYAGI_CHANNEL_MODULE).`);
  }
  return module.createAdapter({
    kind: kind ?? { name: config.channel, env: [] },
    config,
    env,
    log,
    stateDir: channelStateDir(config.home, config.channel),
    exitFatally,
  });
}

/** `live_replies` of the block (the settings check refuses other values; an unknown one here means the default). */
function liveReplyMode(value: unknown): LiveReplyMode {
  if (value === undefined) return 'status';
  if ((LIVE_REPLY_MODES as readonly unknown[]).includes(value)) return value as LiveReplyMode;
  log('warn', `live_replies: ${JSON.stringify(value)} is not one of ${LIVE_REPLY_MODES.join(', ')}; using status`);
  return 'status';
}

async function main(): Promise<void> {
  // Everything a channel writes (session keys, held messages, files) is for this user only.
  process.umask(0o077);
  const config = readChannelConfig(process.env, process.argv.slice(2));
  const adapter = await createAdapter(config, process.env);
  const maxFileBytes = optionalNumber(config.block, 'max_file_bytes');
  const leaseMs = optionalNumber(config.block, 'lease_ms');
  const maxInlineRetryMs = optionalNumber(config.block, 'max_inline_retry_ms');
  const liveReplies = liveReplyMode(config.block['live_replies']);
  const host = new ChannelHost({
    channel: config.channel,
    adapter,
    api: createApiClient({ baseUrl: config.apiUrl, token: config.apiToken }),
    stateDir: channelStateDir(config.home, config.channel),
    filesDir: filesDir(config.home),
    ...(maxFileBytes ? { maxFileBytes } : {}),
    ...(leaseMs ? { leaseMs } : {}),
    ...(maxInlineRetryMs ? { maxInlineRetryMs } : {}),
    liveReplies,
    log,
  });
  let stopping = false;
  const stop = (reason: string): void => {
    if (stopping) return;
    stopping = true;
    log('info', `${reason}: stopping`);
    // A send the platform never answers must not keep the process alive for ever.
    setTimeout(() => {
      log('warn', 'stop took too long; exiting');
      process.exit(1);
    }, STOP_GRACE_MS).unref();
    host.stop().then(
      () => process.exit(process.exitCode ?? 0),
      (err: unknown) => {
        log('error', `stop failed: ${err instanceof Error ? err.message : String(err)}`);
        process.exit(1);
      },
    );
  };
  // A daemon that died without stopping us (SIGKILL) leaves us orphaned: a new daemon starts its
  // own channel process, and two pollers on one bot must not run side by side. The daemon names
  // itself (TINYAGI_DAEMON_PID): one killed while we were still loading has already made us a
  // child of init, and our parent at this point would be the wrong one to watch.
  const daemonPid = Number(process.env['TINYAGI_DAEMON_PID']) || process.ppid;
  if (process.ppid !== daemonPid) {
    log('info', `the daemon (pid ${daemonPid}) is gone before the channel started: exiting`);
    process.exit(0);
  }
  // The daemon holds our stdin open and never writes to it: its end is the daemon's death, at once
  // (it cannot end otherwise). The parent check covers a runner started without that pipe.
  if (process.env['TINYAGI_DAEMON_STDIN'] === '1') {
    process.stdin.on('end', () => stop('the daemon is gone'));
    process.stdin.on('error', () => stop('the daemon is gone'));
    process.stdin.resume();
  }
  setInterval(() => {
    if (process.ppid !== daemonPid) stop('the daemon is gone');
  }, 200).unref();
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('unhandledRejection', (err) => log('error', `unhandled: ${err instanceof Error ? err.message : String(err)}`));
  await host.start();
}

main().catch((err: unknown) => {
  log('error', err instanceof Error ? err.message : String(err));
  process.exit(err instanceof ChannelConfigError ? 2 : 1);
});
