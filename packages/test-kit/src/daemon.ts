/**
 * A real daemon for end-to-end tests, started the way users get it by default: the built CLI's
 * daemon from its start-up snapshot, with the node arguments and environment `tinyagi start` uses
 * (the CLI's own `daemonNodeArgs` and `daemonEnv`; docs/startup-snapshot.md). `build: 'source'`
 * runs `tinyagi run` from the sources instead (a few tests, no build needed). A child process
 * of the test, in a temp HOME and TINYAGI_HOME, on a free loopback port. `start()` returns once
 * GET /api/health answers (and fails at once, with the daemon's output and log, if it exits
 * first); `stop()` is SIGTERM and a wait for the exit; `kill()` is SIGKILL, for crash tests; a
 * second `start()` reuses the home and the port.
 *
 * Everything a caller may need to vary is an option: the settings.json written before the first
 * start, extra environment (a channel runner override, FAKE_* variables), directories put first on
 * PATH (the fake agent CLIs), the API token, the CLI build, and whether the daemon's stores follow
 * the test run's backend switch (`storesOnTestBackend`: on the PostgreSQL run, TINYAGI_DATABASE_URL
 * naming a fresh database, dropped at cleanup).
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { createApiClient, type ApiClient } from '@tinyagi/client';
import { CLI_BUILT, runCli, runCliOk, spawnCli, spawnNode, type CliBuild, type CliResult, type RunCliOptions, type SpawnedCli } from './cli.ts';
import { runCliHere, runCliHereOk, type RunCliHereOptions } from './cli-here.ts';
import { freePort } from './port.ts';
import { exitOf, killTree, waitForExit, type ExitStatus } from './process.ts';
import { tempHome } from './temp.ts';
import { waitFor } from './wait.ts';

export interface DaemonOptions {
  /** settings.json, written before the first start (none: the CLI's first-run defaults). */
  settings?: Record<string, unknown> | ((paths: { root: string; home: string }) => Record<string, unknown>);
  /**
   * 'built' (default): packages/cli/dist, what users run, its daemon from the start-up snapshot
   * as `tinyagi start` launches it. 'source': `tinyagi run` from src/bin.ts, no build needed.
   */
  build?: CliBuild;
  /** Put first on PATH (e.g. FAKE_BIN_DIR). PATH otherwise holds only node's directory. */
  path?: string[];
  /** Extra environment for the daemon and every `cli()` call (e.g. TINYAGI_CHANNEL_RUNNER). */
  env?: Record<string, string>;
  /** TINYAGI_API_TOKEN for the daemon; without it the daemon creates TINYAGI_HOME/api-token. */
  apiToken?: string;
  /** Temp folder name prefix. */
  prefix?: string;
  /** node options for the daemon process (e.g. --cpu-prof; a preload such as --import means no snapshot, as for users). */
  nodeOptions?: string[];
  /**
   * node's whole argument list for the daemon instead of `[...nodeOptions, <entry>, 'run']`:
   * how `tinyagi start` launches it (the CLI's `daemonNodeArgs`, from the start-up snapshot).
   */
  nodeArgs?: string[];
  /** How long `start()` waits for /api/health (default 60 s: a loaded 2-core machine). */
  healthTimeoutMs?: number;
  /** Between /api/health probes (default 25 ms; a start-up benchmark wants it finer). */
  healthPollMs?: number;
  /**
   * The daemon's stores follow the run's TINYAGI_TEST_BACKEND (`./stores.ts`): on `postgres`, the
   * daemon gets TINYAGI_DATABASE_URL naming a database of its own (created here, dropped by
   * `cleanup()`; settings.json is left as the test makes it, so a fresh home still gets the
   * first-run defaults). On SQLite (the default run) nothing changes.
   */
  storesOnTestBackend?: boolean;
}

export interface TestDaemon {
  /** The temp folder (HOME). */
  root: string;
  /** TINYAGI_HOME. */
  home: string;
  port: number;
  /** http://127.0.0.1:<port> */
  url: string;
  /** The daemon's environment; `cli()` uses it too. Edit before `start()` to change it. */
  env: Record<string, string>;
  /** The API token (TINYAGI_API_TOKEN, else the api-token file the daemon wrote). */
  token(): string;
  /** A typed client with the token (made on first use after start). */
  readonly api: ApiClient;
  /** The running `tinyagi run` process (undefined before start). */
  readonly child: SpawnedCli['child'] | undefined;
  readonly pid: number;
  /** Resolves when the current daemon process has exited. */
  readonly exited: Promise<ExitStatus>;
  /** What every daemon process of this home printed so far. */
  output(): string;
  /** output() and the tail of logs/daemon.log: attach to a failure. */
  logs(): string;
  start(): Promise<void>;
  /** SIGTERM and wait for a clean exit (SIGKILL of the tree if it hangs; that is an error). */
  stop(timeoutMs?: number): Promise<ExitStatus | undefined>;
  /** SIGKILL (no cleanup at all), then wait until it is gone. */
  kill(): Promise<void>;
  /** Runs `tinyagi <args>` against this home with the same build and environment. */
  cli(args: string[], options?: RunCliOptions & { env?: Record<string, string> }): Promise<CliResult>;
  /** Like cli(), requiring exit code 0; returns stdout. */
  cliOk(args: string[], options?: RunCliOptions & { env?: Record<string, string> }): Promise<string>;
  /** Runs `tinyagi <args>` against this home in the test's own process (`runCliHere`: the CLI's sources), with the same environment. */
  cliHere(args: string[], options?: RunCliHereOptions & { env?: Record<string, string> }): Promise<CliResult>;
  /** Like cliHere(), requiring exit code 0; returns stdout. */
  cliHereOk(args: string[], options?: RunCliHereOptions & { env?: Record<string, string> }): Promise<string>;
  /** Stops the daemon (also one started detached by `tinyagi start`) and removes the temp folder. */
  cleanup(): Promise<void>;
}

/** Prepares the home and port; call `start()` to launch (see `startDaemon`). */
export async function createDaemon(options: DaemonOptions = {}): Promise<TestDaemon> {
  const build = options.build ?? 'built';
  const temp = tempHome({ prefix: options.prefix ?? 'tinyagi-daemon-', ...(options.path ? { path: options.path } : {}) });
  const { root, home } = temp;
  if (options.settings) {
    const settings = typeof options.settings === 'function' ? options.settings({ root, home }) : options.settings;
    writeFileSync(join(home, 'settings.json'), `${JSON.stringify(settings, null, 2)}\n`, { mode: 0o600 });
  }
  // Loaded only when asked for: the kit's other users never load node-postgres.
  const kit = options.storesOnTestBackend ? await import('./stores.ts') : undefined;
  const pg = kit?.testBackend() === 'postgres' ? await kit.createTestDatabase() : undefined;
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const env: Record<string, string> = {
    ...temp.env,
    TINYAGI_API_PORT: String(port),
    ...(options.apiToken ? { TINYAGI_API_TOKEN: options.apiToken } : {}),
    ...(pg ? { TINYAGI_DATABASE_URL: pg.url } : {}),
    ...options.env,
  };
  let out = '';
  let current: SpawnedCli | undefined;
  let exited: Promise<ExitStatus> = Promise.resolve({ code: null, signal: null });
  let api: ApiClient | undefined;

  const token = (): string => env['TINYAGI_API_TOKEN'] ?? readFileSync(join(home, 'api-token'), 'utf8').trim();
  const logs = (): string => {
    const file = join(home, 'logs', 'daemon.log');
    const log = existsSync(file) ? readFileSync(file, 'utf8').split('\n').slice(-80).join('\n') : '(no logs/daemon.log)';
    return `--- daemon output (${root}) ---\n${out}\n--- logs/daemon.log (last 80 lines) ---\n${log}`;
  };
  const running = (): boolean => current !== undefined && current.child.exitCode === null && current.child.signalCode === null;
  const cliOptions = (o: RunCliOptions & { env?: Record<string, string> } = {}) => ({ build, ...o });

  const daemon: TestDaemon = {
    root,
    home,
    port,
    url,
    env,
    token,
    get api() {
      api ??= createApiClient({ baseUrl: url, token: token() });
      return api;
    },
    get child() {
      return current?.child;
    },
    get pid() {
      const pid = current?.child.pid;
      if (pid === undefined) throw new Error('the daemon is not started');
      return pid;
    },
    get exited() {
      return exited;
    },
    output: () => out + (current?.output() ?? ''),
    logs,
    async start() {
      if (running()) throw new Error('the daemon is already running');
      if (current) out += current.output();
      const spawned = options.nodeArgs
        ? spawnNode(options.nodeArgs, env)
        : build === 'built'
          ? await spawnAsStartDoes(env, options.nodeOptions ?? [])
          : spawnCli(['run'], env, { build, ...(options.nodeOptions ? { nodeOptions: options.nodeOptions } : {}) });
      current = spawned;
      exited = exitOf(spawned.child);
      let exit: ExitStatus | undefined;
      void exited.then((e) => (exit = e));
      try {
        await waitFor(
          async () => {
            if (exit) throw new Error(`tinyagi run exited (code ${exit.code}, signal ${exit.signal}) before /api/health answered`);
            try {
              return (await fetch(`${url}/api/health`, { signal: AbortSignal.timeout(2000) })).ok;
            } catch {
              return false; // not listening yet
            }
          },
          options.healthTimeoutMs ?? 60_000,
          `GET ${url}/api/health`,
          options.healthPollMs ?? 25,
        );
      } catch (err) {
        if (running()) killTree(spawned.child.pid!);
        await exited;
        throw new Error(`${(err as Error).message}\n${logs()}`);
      }
    },
    async stop(timeoutMs = 20_000) {
      if (!current || !running()) return undefined;
      current.child.kill('SIGTERM');
      try {
        return await waitForExit(current.child, timeoutMs);
      } catch (err) {
        throw new Error(`${(err as Error).message}\n${logs()}`);
      }
    },
    async kill() {
      if (!current || !running()) return;
      current.child.kill('SIGKILL');
      await exited;
    },
    cli: (args, o) => runCli(args, { ...env, ...o?.env }, cliOptions(o)),
    cliOk: (args, o) => runCliOk(args, { ...env, ...o?.env }, cliOptions(o)),
    cliHere: (args, o) => runCliHere(args, { ...env, ...o?.env }, o),
    cliHereOk: (args, o) => runCliHereOk(args, { ...env, ...o?.env }, o),
    async cleanup() {
      try {
        await daemon.stop();
        // A detached daemon (`tinyagi start` through cli()) holds the lock; `tinyagi stop` ends it.
        if (existsSync(join(home, 'daemon.lock')) || existsSync(join(home, 'tinyagi.pid'))) await daemon.cli(['stop', '--timeout', '10']).catch(() => undefined);
      } finally {
        temp.cleanup();
        await pg?.drop();
      }
    },
  };
  return daemon;
}

/** The environment as the CLI's launch functions take it (not NodeJS.ProcessEnv: Next's types make NODE_ENV required there). */
type LaunchEnv = Record<string, string | undefined>;

interface CliLaunch {
  daemonNodeArgs(options: { execArgv: readonly string[]; args: readonly string[]; bin?: string; build: boolean; env?: LaunchEnv }): string[];
  snapshotState(bin?: string, env?: LaunchEnv): { state: string; reason?: string };
}

/**
 * The built daemon as `tinyagi start` starts it (daemon/start.ts): node with the CLI's
 * `daemonNodeArgs` (its V8 flags and `--snapshot-blob`, the blob built if missing) and `daemonEnv`.
 * A blob that cannot be built (or a build without daemon.cjs) fails the start here: the tests
 * would otherwise quietly run the daemon from its modules, which users do not (unless
 * TINYAGI_SNAPSHOT=0 asks for it, or a preload rules it out).
 */
async function spawnAsStartDoes(env: Record<string, string>, nodeOptions: string[]): Promise<SpawnedCli> {
  const dist = join(CLI_BUILT, '..', 'daemon');
  if (!existsSync(join(dist, 'launch.js'))) throw new Error(`the built CLI (${CLI_BUILT}) is missing: run \`pnpm --filter tinyagi... build\``);
  const launch = (await import(pathToFileURL(join(dist, 'launch.js')).href)) as CliLaunch;
  const flags = (await import(pathToFileURL(join(dist, 'node-flags.js')).href)) as { daemonEnv(env: LaunchEnv): LaunchEnv };
  const argv = launch.daemonNodeArgs({ execArgv: nodeOptions, args: ['run'], bin: CLI_BUILT, build: true, env });
  const state = launch.snapshotState(CLI_BUILT, env);
  const unusable = state.state === 'failed' || (state.state === 'off' && env['TINYAGI_SNAPSHOT'] !== '0' && process.platform !== 'win32');
  if (!argv.includes('--snapshot-blob') && unusable)
    throw new Error(`the daemon's start-up snapshot is not usable (${state.reason ?? state.state}): rebuild the CLI (\`pnpm --filter tinyagi... build\`)`);
  return spawnNode(argv, flags.daemonEnv(env) as Record<string, string>);
}

/** createDaemon + start. */
export async function startDaemon(options: DaemonOptions = {}): Promise<TestDaemon> {
  const daemon = await createDaemon(options);
  try {
    await daemon.start();
  } catch (err) {
    await daemon.cleanup().catch(() => undefined);
    throw err;
  }
  return daemon;
}
