/**
 * A worker node on this machine for tests of several nodes (docs/postgresql.md): the CLI's
 * `tinyagi worker --name <name>` (built by default) in a home of its own whose settings hold only
 * the shared `storage` and a workspace, on the API node's PostgreSQL schema. `stop()` ends it as
 * a person does (SIGTERM: the registry says `stopped` at once), `kill()` as a crash does; `start()`
 * again runs it on the same home (the node back). With `machine` (test-kit's `machines()`) it runs
 * on that machine, its home under `root` on that machine's own disk.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { type CliBuild, type SpawnedCli, spawnCli } from './cli.ts';
import type { Machine } from './machines.ts';
import { exitOf, killTree, waitForExit } from './process.ts';
import { tempDir } from './temp.ts';

export interface WorkerNodeOptions {
  name: string;
  /** The API node's `storage` settings (url, schema, pool_size). */
  storage: Record<string, unknown>;
  /** TINYAGI_API_TOKEN: the API node's token. */
  token: string;
  /** TINYAGI_API_URL: the API node's address (for `tinyagi call` inside agents). */
  apiUrl?: string;
  /** The machine it runs on (its home then under `root`, a folder as that machine sees it); none: this host, a temp folder. */
  machine?: Machine;
  root?: string;
  /** Folders before node's own and /usr/bin:/bin on its PATH (git and sh are there). */
  path?: string[];
  /** The CLI build (default 'built'; a machine runs the built one). */
  build?: CliBuild;
}

export interface WorkerNode {
  name: string;
  /** Its TINYAGI_HOME: the worktrees it makes are under it. */
  home: string;
  /** The pid of its current process (undefined before its first start). */
  readonly pid: number | undefined;
  /** Everything it printed, over all its starts. */
  output(): string;
  start(): void;
  stop(): Promise<void>;
  kill(): Promise<void>;
}

export function workerNode(options: WorkerNodeOptions): WorkerNode {
  const { machine } = options;
  if (machine && !options.root) throw new Error(`worker ${options.name}: a worker on machine ${machine.name} needs its root (a folder as that machine sees it)`);
  const root = options.root ?? tempDir(`tinyagi-${options.name}-`);
  const home = join(root, '.tinyagi');
  // The test writes its files where the machine sees them.
  const disk = (path: string): string => (machine ? machine.disk(path) : path);
  mkdirSync(disk(home), { recursive: true });
  writeFileSync(disk(join(home, 'settings.json')), JSON.stringify({ storage: options.storage, workspace: { path: join(root, 'workspace'), name: 'workspace' } }, null, 2));
  const env = {
    HOME: root,
    TINYAGI_HOME: home,
    TINYAGI_API_TOKEN: options.token,
    ...(options.apiUrl ? { TINYAGI_API_URL: options.apiUrl } : {}),
    PATH: [...(options.path ?? []), dirname(process.execPath), '/usr/bin', '/bin'].join(':'),
  };
  const args = ['worker', '--name', options.name];
  let proc: SpawnedCli | undefined;
  let earlier = '';
  const end = async (signal: NodeJS.Signals): Promise<void> => {
    const child = proc?.child;
    if (!child?.pid || child.exitCode !== null || child.signalCode !== null) return;
    if (signal === 'SIGKILL') {
      const gone = exitOf(child);
      killTree(child.pid, signal);
      await gone;
      return;
    }
    child.kill(signal);
    // A clean stop that hangs is killed with its tree, and the error says so.
    await waitForExit(child, 30_000);
  };
  return {
    name: options.name,
    home,
    get pid() {
      return proc?.child.pid;
    },
    output: () => earlier + (proc?.output() ?? ''),
    start() {
      earlier += proc?.output() ?? '';
      proc = machine ? machine.spawnCli(args, env) : spawnCli(args, env, { build: options.build ?? 'built' });
    },
    stop: () => end('SIGTERM'),
    kill: () => end('SIGKILL'),
  };
}
