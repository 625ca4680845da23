/**
 * One channel built from its configuration (config.ts): its kind's adapter (a kind built into this
 * package, kinds.ts and its folder's factory.ts, or the factory module the daemon names in
 * TINYAGI_CHANNEL_MODULE, a plugin's kind) inside a ChannelHost with the block's host settings
 * (`max_file_bytes`, `lease_ms`, `max_inline_retry_ms`, `live_replies`). The channel process
 * (runner.ts) starts one and wires it to the process; the tests run one inside the test process.
 */
import { createApiClient } from '@tinyagi/client';
import { extname } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { LIVE_REPLY_MODES, type ChannelKind, type LiveReplyMode } from '@tinyagi/client/contract';
import type { ChannelAdapter } from './adapter.ts';
import { ChannelConfigError, filesDir, optionalNumber, type ChannelProcessConfig } from './config.ts';
import { ChannelHost, channelStateDir, type ConnectionReport } from './host.ts';
import type { ChannelLog } from './log.ts';
import type { ChannelAdapterModule } from './kind.ts';
import { BUILTIN_CHANNEL_KINDS } from './kinds.ts';

export interface ChannelContext {
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly log: ChannelLog;
  /** A callback for an adapter's session that cannot continue: stop the channel, then exit with `code`. */
  exitFatally(code: number): () => void;
  /** The platform connection's changes (the runner reports them to the daemon). */
  onConnection?(report: ConnectionReport): void;
}

/** The adapter of the channel: its built-in kind's factory, or the module TINYAGI_CHANNEL_MODULE names. */
async function createAdapter(config: ChannelProcessConfig, context: ChannelContext): Promise<ChannelAdapter> {
  const builtin = BUILTIN_CHANNEL_KINDS.find((k) => k.name === config.channel);
  const specifier = context.env['TINYAGI_CHANNEL_MODULE'];
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
    env: context.env,
    log: context.log,
    stateDir: channelStateDir(config.home, config.channel),
    exitFatally: (code) => context.exitFatally(code),
  });
}

/** `live_replies` of the block (the settings check refuses other values; an unknown one here means the default). */
function liveReplyMode(value: unknown, log: ChannelLog): LiveReplyMode {
  if (value === undefined) return 'status';
  if ((LIVE_REPLY_MODES as readonly unknown[]).includes(value)) return value as LiveReplyMode;
  log('warn', `live_replies: ${JSON.stringify(value)} is not one of ${LIVE_REPLY_MODES.join(', ')}; using status`);
  return 'status';
}

/** The channel's host around its adapter, not started yet (`host.start()`). */
export async function createChannel(config: ChannelProcessConfig, context: ChannelContext): Promise<ChannelHost> {
  const adapter = await createAdapter(config, context);
  const maxFileBytes = optionalNumber(config.block, 'max_file_bytes');
  const leaseMs = optionalNumber(config.block, 'lease_ms');
  const maxInlineRetryMs = optionalNumber(config.block, 'max_inline_retry_ms');
  return new ChannelHost({
    channel: config.channel,
    adapter,
    api: createApiClient({ baseUrl: config.apiUrl, token: config.apiToken }),
    stateDir: channelStateDir(config.home, config.channel),
    filesDir: filesDir(config.home),
    ...(maxFileBytes ? { maxFileBytes } : {}),
    ...(leaseMs ? { leaseMs } : {}),
    ...(maxInlineRetryMs ? { maxInlineRetryMs } : {}),
    liveReplies: liveReplyMode(config.block['live_replies'], context.log),
    log: context.log,
    ...(context.onConnection !== undefined ? { onConnection: (report: ConnectionReport) => context.onConnection?.(report) } : {}),
  });
}
