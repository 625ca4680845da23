import { mkdtempSync, rmSync } from 'node:fs';
import { unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';

export interface PrivateTempDir {
  /** Writes a file only the current user can read (0600) and returns its absolute path. */
  write(name: string, content: string): Promise<string>;
}

let processDir: string | undefined;

/**
 * One directory per process in the OS temp dir (mkdtemp makes it 0700), removed when the
 * process exits; created on first use. A per-run directory cost a mkdtemp and a recursive
 * remove (lstat, readdir, unlink, rmdir) for every message (docs/profiling.md, fix 23).
 */
function privateDir(): string {
  if (processDir === undefined) {
    const dir = mkdtempSync(join(tmpdir(), 'tinyagi-run-'));
    processDir = dir;
    process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
  }
  return processDir;
}

/**
 * Private files for one run (system prompts, generated CLI config): they stay out of argv (ps,
 * the 128 KiB per-argument limit) and out of the agent's workspace, each under a name no other
 * run uses, and are deleted when the run ends, whatever the outcome.
 */
export async function withPrivateTempDir<T>(fn: (dir: PrivateTempDir) => Promise<T>): Promise<T> {
  const written: string[] = [];
  try {
    return await fn({
      async write(name, content) {
        const file = join(privateDir(), `${randomUUID()}-${name}`);
        await writeFile(file, content, { mode: 0o600, flag: 'wx' });
        written.push(file);
        return file;
      },
    });
  } finally {
    await Promise.all(written.map((file) => unlink(file).catch(() => undefined)));
  }
}
