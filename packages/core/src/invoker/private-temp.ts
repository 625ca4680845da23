import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface PrivateTempDir {
  readonly path: string;
  /** Writes a file only the current user can read (0600) and returns its absolute path. */
  write(name: string, content: string): Promise<string>;
}

/**
 * A per-run directory in the OS temp dir (mkdtemp makes it 0700) for system prompts and
 * generated CLI config: they stay out of argv (ps, the 128 KiB per-argument limit) and out of
 * the agent's workspace, and are removed when the run ends, whatever the outcome.
 */
export async function withPrivateTempDir<T>(fn: (dir: PrivateTempDir) => Promise<T>): Promise<T> {
  const path = await mkdtemp(join(tmpdir(), 'tinyagi-run-'));
  try {
    return await fn({
      path,
      async write(name, content) {
        const file = join(path, name);
        await writeFile(file, content, { mode: 0o600, flag: 'wx' });
        return file;
      },
    });
  } finally {
    await rm(path, { recursive: true, force: true });
  }
}
