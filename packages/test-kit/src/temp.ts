/**
 * Temp folders that clean up after themselves: `tempDir` registers the folder, `cleanupTemp`
 * (call it in afterEach/afterAll) removes every folder registered so far, newest first.
 */
import { spawnSync } from 'node:child_process';
import { accessSync, constants, mkdirSync, mkdtempSync, readFileSync, rmSync, statfsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

const created: string[] = [];

export function tempDir(prefix = 'tinyagi-test-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  created.push(dir);
  return dir;
}

export function cleanupTemp(): void {
  for (const dir of created.splice(0).reverse()) removeTree(dir);
}

/**
 * Removes `dir` after detaching what is mounted inside it, deepest first (a layered task worktree
 * is an overlay mount, which a killed daemon leaves mounted): a recursive removal would go through
 * the mount and fail on its mount point.
 */
export function removeTree(dir: string): void {
  let info = '';
  try {
    info = readFileSync('/proc/self/mountinfo', 'utf8');
  } catch {
    // Not Linux: nothing of ours is mounted.
  }
  const points = info
    .split('\n')
    .map((line) => line.split(' ')[4]?.replace(/\\([0-7]{3})/g, (_m, o: string) => String.fromCharCode(Number.parseInt(o, 8))))
    .filter((p): p is string => p?.startsWith(`${dir}/`) === true)
    .sort((a, b) => b.length - a.length);
  for (const point of points) {
    if (spawnSync('umount', ['-l', point]).status !== 0) spawnSync('fusermount3', ['-u', '-z', point]);
  }
  rmSync(dir, { recursive: true, force: true });
}

/** Where a tmpfs is mounted on Linux; what `memoryTmpdir` offers. */
const SHM = '/dev/shm';
/** Free space `memoryTmpdir` asks of the tmpfs (a container's default /dev/shm of 64 MB is too small). */
const SHM_MIN_FREE = 1024 ** 3;

/**
 * A temp root in memory (the tmpfs at /dev/shm) when this machine has one that is writable with
 * 1 GiB free, else undefined (the system temp folder stays). For suites that commit to SQLite
 * files at `durability: 'full'` all the time (the orchestrator's): SQLite and its fsyncs are the
 * same, tmpfs answers them at once, and the wait for the disk goes (half of a teams test file's
 * time on the 2-core CI machine). A suite's vitest config sets it as TMPDIR.
 */
export function memoryTmpdir(): string | undefined {
  try {
    accessSync(SHM, constants.W_OK);
    const fs = statfsSync(SHM);
    return fs.bavail * fs.bsize >= SHM_MIN_FREE ? SHM : undefined;
  } catch {
    return undefined;
  }
}

export interface TempHome {
  /** The temp folder: HOME (so `~/tinyagi-workspace` lands inside it). */
  root: string;
  /** TINYAGI_HOME, `<root>/home`, created with mode 700. */
  home: string;
  /**
   * A minimal environment for a TinyAGI process: PATH holds only node's directory (plus `path`),
   * so no real agent CLI on the machine is found; HOME and TINYAGI_HOME point into the temp folder.
   */
  env: Record<string, string>;
  cleanup(): void;
}

export function tempHome(options: { prefix?: string; path?: string[]; env?: Record<string, string> } = {}): TempHome {
  const root = tempDir(options.prefix ?? 'tinyagi-home-');
  const home = join(root, 'home');
  mkdirSync(home, { recursive: true, mode: 0o700 });
  const env: Record<string, string> = {
    PATH: [...(options.path ?? []), dirname(process.execPath)].join(':'),
    HOME: root,
    TINYAGI_HOME: home,
    NO_COLOR: '1',
    ...options.env,
  };
  return { root, home, env, cleanup: () => removeTree(root) };
}
