/**
 * A real TinyAGI daemon for the browser tests and the bench scripts, on @tinyagi/test-kit's
 * createDaemon: the built CLI (packages/cli/dist) as `tinyagi run` in a temp TINYAGI_HOME and
 * HOME, a free loopback port, and mock agents whose runs wait at gates the test opens
 * (`openGate`; the mock runtime's `gate`, docs/cli.md), never on a clock:
 * - coder leads team dev; "handoff" replies at gate `handoff` with a handoff to reviewer,
 *   "quick" replies at gate `quick`, "slow" works until cancelled (gate `never`, never opened),
 *   "broken" fails for good (a dead letter);
 * - reviewer answers "please check" at gate `check`.
 * Channels run a stand-in runner (test/fixtures/channel-runner.mjs) that connects to nothing.
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, type Browser, type BrowserContext, type Page } from '@playwright/test';
import { addKindModule, CLI_BUILT, createDaemon, type TestDaemon } from '@tinyagi/test-kit';

export const CLI_BIN = CLI_BUILT;
export const OFFICE_OUT = fileURLToPath(new URL('../out', import.meta.url));
/** Enabled channels run this instead of the real runner: no network, the test plants their state. */
export const CHANNEL_RUNNER = fileURLToPath(new URL('./fixtures/channel-runner.mjs', import.meta.url));

/** A provider key planted in settings: the page may show it only masked. */
export const PLANTED_KEY = 'sk-ant-PLANTED-office-0123456789abcdefXYZW';

export const SETTINGS = (root: string) => ({
  workspace: { path: join(root, 'workspace') },
  models: { provider: 'mock', anthropic: { api_key: PLANTED_KEY } },
  channels: { enabled: [] },
  agents: {
    coder: {
      name: 'Coder',
      provider: 'mock',
      mock: {
        reply: 'coder done',
        replies: [
          { match: 'handoff', gate: 'handoff', reply: 'Drafted it. [@reviewer: please check the draft]' },
          { match: 'slow', gate: 'never', reply: 'finally done' },
          { match: 'broken', fail: 'permanent' },
          { match: 'quick', gate: 'quick', reply: 'quick done' },
        ],
      },
    },
    reviewer: { name: 'Reviewer', provider: 'mock', mock: { reply: 'reviewed', replies: [{ match: 'please check', gate: 'check', reply: 'looks good' }] } },
  },
  teams: { dev: { name: 'Dev', agents: ['coder', 'reviewer'], leader_agent: 'coder' } },
});

export interface Daemon {
  url: string;
  home: string;
  /** The kit's daemon (api client, token, logs, kill …). */
  kit: TestDaemon;
  /** Runs `tinyagi <args>` against this home; resolves with stdout, rejects on a non-zero exit. */
  cli(args: string[]): Promise<string>;
  /** A fresh one-time login link from `tinyagi office --no-open`. */
  loginLink(): Promise<string>;
  /** Opens the mock gates named: runs held there go on, and later runs pass until it is closed. */
  openGate(...names: string[]): void;
  /** Closes the mock gates named: the next runs that reach one are held until it is opened. */
  closeGate(...names: string[]): void;
  start(): Promise<void>;
  stop(): Promise<void>;
  cleanup(): Promise<void>;
}

/**
 * The kit's daemon with SETTINGS (or the spec's own, built on them), the channel runner override, started; `path`: the daemon's PATH folders (the kit's default otherwise); `env`: more of the daemon's environment (a fake CLI's FAKE_LOG);
 * `kindModules`: modules the daemon loads from TINYAGI_HOME/kinds/ as a plugin's (test-kit's addKindModule).
 */
export async function startDaemon(options: { settings?: (root: string) => Record<string, unknown>; path?: string[]; env?: Record<string, string>; kindModules?: string[] } = {}): Promise<Daemon> {
  const kit = await createDaemon({
    prefix: 'tinyoffice-e2e-',
    settings: ({ root }) => (options.settings ?? SETTINGS)(root),
    env: { TINYAGI_CHANNEL_RUNNER: CHANNEL_RUNNER, ...options.env },
    // A spec whose agent is a fake CLI (test-kit's FAKE_BIN_DIR) or whose project runs git puts their folders on PATH.
    ...(options.path === undefined ? {} : { path: options.path }),
  });
  for (const file of options.kindModules ?? []) addKindModule(kit.home, file);
  const cli = (args: string[]): Promise<string> => kit.cliOk(args, { timeoutMs: 90_000 });
  // The mock runtime's default gate directory (TINYAGI_HOME/mock-gates).
  const gates = join(kit.home, 'mock-gates');
  const daemon: Daemon = {
    url: kit.url,
    home: kit.home,
    kit,
    cli,
    async loginLink() {
      const out = await cli(['office', '--no-open']);
      const link = /http:\/\/\S+\/login#code=\S+/.exec(out)?.[0];
      if (!link) throw new Error(`tinyagi office printed no link:\n${out}`);
      return link;
    },
    openGate(...names) {
      mkdirSync(gates, { recursive: true });
      for (const name of names) writeFileSync(join(gates, name), '');
    },
    closeGate(...names) {
      for (const name of names) rmSync(join(gates, name), { force: true });
    },
    start: () => kit.start(),
    stop: async () => void (await kit.stop()),
    cleanup: () => kit.cleanup(),
  };
  try {
    await kit.start();
  } catch (err) {
    await kit.cleanup().catch(() => undefined);
    throw err;
  }
  return daemon;
}

/** A started daemon and a browser context logged in to its office, on a page whose event stream is open. */
export async function openOffice(browser: Browser, options: Parameters<typeof startDaemon>[0] = {}): Promise<{ daemon: Daemon; context: BrowserContext; page: Page }> {
  const daemon = await startDaemon(options);
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(await daemon.loginLink());
  await expect(page.getByTestId('connection')).toHaveAttribute('data-state', 'open');
  return { daemon, context, page };
}
