/**
 * The daemon the channel end-to-end tests run: @tinyagi/test-kit's launcher (the built daemon from
 * its start-up snapshot, as `tinyagi start` runs it; a fresh API token) whose supervisor starts the
 * real channel process (@tinyagi/channels/runner, built) against a fake platform; a mock agent, `coder`, answers (and any
 * others a test adds).
 */
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { createDaemon, type TestDaemon } from '@tinyagi/test-kit';

export interface ChannelDaemonOptions {
  /** The channels block of settings.json (enabled channels and their platform settings). */
  channels: Record<string, unknown>;
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
      channels: options.channels,
      ...options.extra,
    }),
  });
}
