/**
 * The daemon the channel tests run: @tinyagi/test-kit's launcher (the built daemon from its
 * start-up snapshot, as `tinyagi start` runs it; a fresh API token); a mock agent, `coder`,
 * answers (and any others a test adds).
 *
 * Two ways to run a channel against it:
 * - as the real channel process (the *.e2e.test.ts files): the channel is enabled in settings and
 *   the daemon's supervisor starts @tinyagi/channels/runner (built) against a fake platform;
 * - inside the test process (the host-*.test.ts files): `startChannel` builds the channel as the
 *   channel process does (src/channel.ts: the kind's factory, the ChannelHost) from a settings
 *   block, with the channel-scoped token the daemon would give that process. Each case then costs
 *   the platform's and the agent's time, not process starts.
 */
import { createHmac, randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createDaemon, type TestDaemon } from '@tinyagi/test-kit';
import { createChannel } from '../src/channel.ts';
import type { ChannelHost } from '../src/host.ts';

export interface ChannelDaemonOptions {
  /** The channels block of settings.json (default: none enabled, for channels run in-process). */
  channels?: Record<string, unknown>;
  /** coder's settings besides `provider: 'mock'` (default: reply `coder done: {{message}}`); gets TINYAGI_HOME. */
  coder?: (home: string) => Record<string, unknown>;
  /** More agents beside coder (their whole settings block). */
  agents?: Record<string, unknown>;
  /** Other settings.json sections (e.g. `queue`, `teams`). */
  extra?: Record<string, unknown>;
}

export function createChannelDaemon(options: ChannelDaemonOptions): Promise<TestDaemon> {
  return createDaemon({
    prefix: 'tinyagi-channels-',
    apiToken: randomBytes(32).toString('base64url'),
    settings: ({ root, home }) => ({
      workspace: { path: join(root, 'workspace'), name: 'workspace' },
      models: { provider: 'mock' },
      agents: { coder: { provider: 'mock', ...(options.coder?.(home) ?? { mock: { reply: 'coder done: {{message}}' } }) }, ...options.agents },
      channels: options.channels ?? { enabled: [] },
      ...options.extra,
    }),
  });
}

/** Opens the mock runtime's gate `name` (docs/cli.md): the run holding at it goes on. */
export function openGate(d: TestDaemon, name: string): void {
  mkdirSync(join(d.home, 'mock-gates'), { recursive: true });
  writeFileSync(join(d.home, 'mock-gates', name), '');
}

/**
 * The token the daemon gives the process of `channel` (packages/server/src/security/channel-token.ts:
 * `channel.<name>.<base64url HMAC-SHA256 of "channel\0<name>" keyed by the API token>`). Should
 * the daemon mint it differently, every in-process channel is refused (AUTH_INVALID) at once.
 */
export function channelToken(apiToken: string, channel: string): string {
  return `channel.${channel}.${createHmac('sha256', apiToken).update(`channel\0${channel}`).digest('base64url')}`;
}

/** A channel running inside the test process. */
export interface InProcessChannel {
  readonly host: ChannelHost;
  /** TINYAGI_HOME/channels/<name>. */
  readonly stateDir: string;
  /** What the channel logged, `<level> <message>` a line. */
  readonly logs: string[];
  /** The exit codes the adapter asked for (a session that cannot continue). */
  readonly fatal: number[];
  /** Stops the channel as SIGTERM stops its process (queued replies handed back). */
  stop(): Promise<void>;
}

/**
 * Builds `channel` from its settings `block` as the channel process does, against the daemon `d`,
 * and starts it. `login` runs beside the start (WhatsApp's start waits until the QR code is scanned).
 */
export async function startChannel(d: TestDaemon, channel: string, block: Record<string, unknown>, login?: (stateDir: string) => Promise<void>): Promise<InProcessChannel> {
  const logs: string[] = [];
  const fatal: number[] = [];
  const host = await createChannel(
    { channel, apiUrl: d.url, apiToken: channelToken(d.token(), channel), home: d.home, block },
    { env: {}, log: (level, message) => logs.push(`${level} ${message}`), exitFatally: (code) => () => void fatal.push(code) },
  );
  const stateDir = join(d.home, 'channels', channel);
  let stopped: Promise<void> | undefined;
  const running: InProcessChannel = { host, stateDir, logs, fatal, stop: () => (stopped ??= host.stop()) };
  await Promise.all([host.start(), login?.(stateDir)]);
  return running;
}
