/**
 * How the channel process builds a kind's adapter (docs/kinds.md). Each channel's folder, named
 * as its kind, holds a `kind.ts` (the descriptor, `@tinyagi/client/contract`'s ChannelKind: zod
 * and the contract only, so the CLI and the daemon load it without the platform's SDK) and a
 * `factory.ts` exporting `createAdapter` (which loads the SDK); `kinds.ts` lists the built-in
 * descriptors, and the channel process (runner.ts) imports `<name>/factory` of the one it runs.
 *
 * A kind that lives elsewhere (a plugin's) names its factory module in the descriptor's
 * `adapterModule`; the daemon passes it to the channel process (TINYAGI_CHANNEL_MODULE).
 */
import type { ChannelKind } from '@tinyagi/client/contract';
import type { ChannelAdapter } from './adapter.ts';
import { ChannelConfigError, type ChannelProcessConfig } from './config.ts';
import type { ChannelLog } from './log.ts';

/** What `createAdapter` gets in the channel process. */
export interface ChannelAdapterContext {
  /** The kind's name and environment bindings (a plugin's factory module may export its descriptor as `kind`). */
  readonly kind: Pick<ChannelKind, 'name' | 'env'>;
  /** The process's configuration; `config.block` is `channels.<name>` of settings.json (secrets included: never log it). */
  readonly config: ChannelProcessConfig;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly log: ChannelLog;
  /** The channel's own state folder (`<home>/channels/<name>`). */
  readonly stateDir: string;
  /** A callback for a session that cannot continue: stops the channel cleanly, then exits with `code` (2: configuration, 3: logged out). */
  exitFatally(code: number): () => void;
}

export type CreateChannelAdapter = (context: ChannelAdapterContext) => ChannelAdapter | Promise<ChannelAdapter>;

/** The module a kind's adapter is loaded from (`factory.ts`, or a plugin's `adapterModule`). */
export interface ChannelAdapterModule {
  createAdapter: CreateChannelAdapter;
}

/** The descriptor's value at `path` of the block: its environment variable (`env` bindings) wins over settings. */
export function settingValue(context: Pick<ChannelAdapterContext, 'kind' | 'config' | 'env'>, path: string): unknown {
  const binding = context.kind.env.find((e) => e.path === path);
  const fromEnv = binding ? context.env[binding.variable] : undefined;
  if (fromEnv !== undefined && fromEnv !== '') return fromEnv;
  let node: unknown = context.config.block;
  for (const key of path.split('.')) node = node !== null && typeof node === 'object' && !Array.isArray(node) ? (node as Record<string, unknown>)[key] : undefined;
  return node;
}

/** A string the channel cannot start without (a bot token): refused with what to set when missing. */
export function requiredString(context: Pick<ChannelAdapterContext, 'kind' | 'config' | 'env'>, path: string): string {
  const value = settingValue(context, path);
  if (typeof value === 'string' && value !== '') return value;
  const binding = context.kind.env.find((e) => e.path === path);
  const name = context.kind.name;
  throw new ChannelConfigError(`No ${path.replaceAll('_', ' ')} for ${name}: set ${binding ? `${binding.variable} or ` : ''}channels.${name}.${path} in settings.json.`);
}

export function optionalStringSetting(context: Pick<ChannelAdapterContext, 'kind' | 'config' | 'env'>, path: string): string | undefined {
  const value = settingValue(context, path);
  return typeof value === 'string' && value !== '' ? value : undefined;
}
