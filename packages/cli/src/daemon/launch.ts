/**
 * How a daemon process is started: which node flags, and whether from the daemon's start-up
 * snapshot (docs/startup-snapshot.md).
 *
 * The snapshot: `dist/daemon.cjs` (scripts/bundle.mjs) is the daemon in one CommonJS file whose
 * modules are all evaluated when node builds a snapshot of it (`--build-snapshot`). A daemon
 * started with `--snapshot-blob <blob>` deserializes that heap instead of loading and
 * evaluating ~1.7 MB of modules (figures: docs/benchmarks.md, "Start-up snapshot decision").
 *
 * Contract:
 * - A blob is valid for one node (version, architecture, platform, and the binary's path, size
 *   and mtime) and one daemon.cjs (its path, size, mtime and inode): the key of its file name.
 *   Anything else is a different blob. It holds the daemon's evaluated modules only: no object
 *   of a daemon (settings, stores, the API's app) is built before the daemon runs.
 * - It lives in `dist/snapshot/` beside daemon.cjs when that is writable (`pnpm build` makes
 *   it there for the node that builds), else in `$XDG_CACHE_HOME/tinyagi/snapshot` (default
 *   `~/.cache`). Written to a temporary name and renamed, so a reader never sees half a blob and
 *   two starts building at once do no harm. Older blobs in `dist/snapshot/` are removed.
 * - Missing and `build` asked (start, a plain `run`, restart): built once (~0.5–1 s). A build
 *   that fails leaves `<blob>.failed` with node's reason and is not tried again for that key;
 *   the daemon then starts from its modules as before. Nothing here ever stops a start:
 *   `tinyagi start` also sets aside a blob that node dies on (a damaged file) and starts again
 *   from the modules.
 * - `TINYAGI_SNAPSHOT=0` turns it off. No snapshot on Windows, without daemon.cjs (a source
 *   checkout run through `src/bin.ts`), or with a preload in node's flags or NODE_OPTIONS
 *   (`--import`, `--require`): it would not see the daemon's modules load.
 * - Child processes the daemon starts (channel runners, the agents' `tinyagi` shim, its own
 *   re-execution) never inherit `--snapshot-blob`: `childExecArgv`.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DAEMON_NODE_FLAGS, missingDaemonFlags } from './node-flags.ts';

/** `0` turns the start-up snapshot off. */
export const SNAPSHOT_ENV = 'TINYAGI_SNAPSHOT';
const BLOB_FLAG = '--snapshot-blob';
/** node flags that load code before the daemon's own: with one of them, no snapshot. */
const PRELOAD = /^(--import|--require|-r|--loader|--experimental-loader)(=|$)/;
/** The builder script's name beside bin.js. */
const SNAPSHOT_BUILDER = 'daemon.cjs';

/** The CLI entry script of this installation (src/bin.ts in a checkout, dist/bin.js when built). */
export function binScript(): string {
  const ext = extname(fileURLToPath(import.meta.url));
  return fileURLToPath(new URL(`../bin${ext}`, import.meta.url));
}

/** node's own flags for a child process of the daemon: without the daemon's snapshot. */
export function childExecArgv(execArgv: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < execArgv.length; i++) {
    const arg = execArgv[i]!;
    if (arg === BLOB_FLAG) i++;
    else if (!arg.startsWith(`${BLOB_FLAG}=`)) out.push(arg);
  }
  return out;
}

export type SnapshotState = { state: 'ready'; blob: string } | { state: 'missing'; blob: string } | { state: 'failed'; blob: string; reason: string } | { state: 'off'; reason: string };

interface Locations {
  builder: string;
  name: string;
  dirs: string[];
}

function locations(bin: string, env: NodeJS.ProcessEnv): Locations | { off: string } {
  if (env[SNAPSHOT_ENV] === '0') return { off: `${SNAPSHOT_ENV}=0` };
  if (process.platform === 'win32') return { off: 'not used on Windows' };
  const builder = join(dirname(bin), SNAPSHOT_BUILDER);
  let st: ReturnType<typeof statSync>;
  try {
    st = statSync(builder);
  } catch {
    return { off: `no ${SNAPSHOT_BUILDER} beside ${bin} (not a built CLI)` };
  }
  // node itself too: another build of the same version (a distribution's, a self-built one) may
  // not read a blob this one wrote.
  const node = statSync(process.execPath);
  const key = hash([builder, st.size, st.mtimeMs, st.ino, process.execPath, node.size, node.mtimeMs, process.version, process.arch, process.platform, ...DAEMON_NODE_FLAGS].join('\0'));
  const cache = join(env['XDG_CACHE_HOME'] || join(env['HOME'] || homedir(), '.cache'), 'tinyagi', 'snapshot');
  return { builder, name: `daemon-${process.version}-${process.arch}-${key}.blob`, dirs: [join(dirname(builder), 'snapshot'), cache] };
}

/** Where this installation's snapshot blob stands, without building it. */
export function snapshotState(bin = binScript(), env: NodeJS.ProcessEnv = process.env): SnapshotState {
  const where = locations(bin, env);
  return 'off' in where ? { state: 'off', reason: where.off } : stateAt(where);
}

function stateAt(where: Locations): SnapshotState {
  for (const dir of where.dirs) {
    const blob = join(dir, where.name);
    if (existsSync(blob)) return { state: 'ready', blob };
    if (existsSync(`${blob}.failed`)) return { state: 'failed', blob, reason: readFileSync(`${blob}.failed`, 'utf8').trim() };
  }
  return { state: 'missing', blob: join(where.dirs[0]!, where.name) };
}

/** The blob to start from: the existing one, or one built now when `build` is set. */
export function daemonSnapshot(options: { bin?: string; build: boolean; env?: NodeJS.ProcessEnv }): string | undefined {
  const where = locations(options.bin ?? binScript(), options.env ?? process.env);
  if ('off' in where) return undefined;
  const found = stateAt(where);
  if (found.state === 'ready') return found.blob;
  if (found.state !== 'missing' || !options.build) return undefined;
  for (const dir of where.dirs) {
    const built = buildBlob(where.builder, dir, where.name);
    if (built !== 'unwritable') return built;
  }
  return undefined;
}

/**
 * Builds the blob into `dir`. 'unwritable' when the folder cannot be written (try the next);
 * undefined when node could not build it (recorded in `<blob>.failed`).
 */
function buildBlob(builder: string, dir: string, name: string): string | undefined | 'unwritable' {
  const blob = join(dir, name);
  const temp = `${blob}.${process.pid}.tmp`;
  const config = `${temp}.json`;
  try {
    mkdirSync(dir, { recursive: true });
    writeFileSync(config, JSON.stringify({ builder, withoutCodeCache: true }));
  } catch {
    return 'unwritable';
  }
  try {
    // An empty environment: nothing of this shell (NODE_OPTIONS, preloads) goes into the heap.
    const result = spawnSync(process.execPath, [...DAEMON_NODE_FLAGS, '--no-warnings', BLOB_FLAG, temp, '--build-snapshot-config', config], {
      env: {},
      stdio: ['ignore', 'ignore', 'pipe'],
      timeout: 120_000,
    });
    if (result.status === 0 && existsSync(temp)) {
      renameSync(temp, blob);
      removeOtherBlobs(dir, name);
      return blob;
    }
    const stderr = (result.stderr?.toString() ?? '')
      .split('\n')
      .filter((l) => l.trim() !== '')
      .slice(0, 12)
      .join('\n');
    const why = result.error ? result.error.message : `node exited with ${result.status ?? result.signal}`;
    writeFileSync(`${blob}.failed`, `${why}${stderr ? `\n${stderr}` : ''}\n`);
    return undefined;
  } finally {
    rmSync(temp, { force: true });
    rmSync(config, { force: true });
  }
}

/** The blob in node's arguments made by `daemonNodeArgs`, if any. */
export function snapshotOf(nodeArgs: readonly string[]): string | undefined {
  const at = nodeArgs.indexOf(BLOB_FLAG);
  return at === -1 ? undefined : nodeArgs[at + 1];
}

/**
 * A blob node could not start from (damaged on disk, a node build that cannot read it): removed,
 * and its key marked failed with the reason, so starts use the modules until the file is deleted.
 */
export function setSnapshotAside(blob: string, reason: string): void {
  rmSync(blob, { force: true });
  writeFileSync(`${blob}.failed`, `${reason}\n`);
}

/** In dist/snapshot only this installation's blobs live: the ones of older builds go. */
function removeOtherBlobs(dir: string, keep: string): void {
  if (!dir.endsWith(join('dist', 'snapshot'))) return;
  for (const file of readdirSync(dir)) {
    if (file.startsWith('daemon-') && file !== keep && !file.endsWith('.tmp') && !file.endsWith('.tmp.json')) rmSync(join(dir, file), { force: true });
  }
}

/**
 * node's arguments to run the daemon (`run` and its options in `args`): the daemon's V8 flags
 * the caller's node lacks, the caller's own node flags, then the snapshot or the entry script.
 */
export function daemonNodeArgs(options: { execArgv: readonly string[]; args: readonly string[]; bin?: string; build: boolean; env?: NodeJS.ProcessEnv }): string[] {
  const bin = options.bin ?? binScript();
  const env = options.env ?? process.env;
  const flags = childExecArgv(options.execArgv);
  const nodeOptions = env['NODE_OPTIONS'] ?? '';
  const head = [...missingDaemonFlags(flags, nodeOptions), ...flags];
  // The snapshot runs the daemon only: `run --help` and the like go through the command parser.
  // A preload (`--import`, `--require`: tracing, instrumentation) expects to see the modules load.
  const preload = [...flags, ...nodeOptions.split(/\s+/)].some((a) => PRELOAD.test(a));
  const blob = isPlainRun(options.args) && !preload ? daemonSnapshot({ bin, build: options.build, env }) : undefined;
  return blob ? [...head, BLOB_FLAG, blob, ...options.args] : [...head, bin, ...options.args];
}

/**
 * For `tinyagi run` started some other way (`node bin.js run`, Docker's CMD): node's arguments
 * to replace this process with (same pid), or undefined when it already runs as it should.
 */
export function relaunchArgs(args: readonly string[]): string[] | undefined {
  if (typeof process.execve !== 'function' || process.platform === 'win32') return undefined;
  const wanted = daemonNodeArgs({ execArgv: process.execArgv, args, build: true });
  return wanted.includes(BLOB_FLAG) || missingDaemonFlags(process.execArgv).length > 0 ? wanted : undefined;
}

const RUN_OPTIONS = new Set(['--listen-any', '--debug']);

/** True for `run` with no more than the options the daemon's entry understands without the parser. */
export function isPlainRun(args: readonly string[]): boolean {
  return args[0] === 'run' && args.slice(1).every((a) => RUN_OPTIONS.has(a));
}

/**
 * The daemon's own arguments (`run …`) in this process's argv: after the script, or after
 * node itself when started from a snapshot (a newer node repeats argv[0] at argv[1] there).
 */
export function runArgs(argv: readonly string[] = process.argv): string[] | undefined {
  const at = argv.indexOf('run', 1);
  return at === -1 ? undefined : argv.slice(at);
}

/** 52 bits of FNV-1a over a string, as base 36: a file-name key, not a security boundary. */
function hash(text: string): string {
  let h1 = 0x811c9dc5;
  let h2 = 0x050c5d1f;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    h1 = Math.imul(h1 ^ c, 0x01000193) >>> 0;
    h2 = Math.imul(h2 ^ c, 0x01000193) >>> 0;
  }
  return (((h1 & 0xfffff) * 0x100000000 + h2) as number).toString(36);
}
