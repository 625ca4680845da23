/**
 * Work on one repository that must not interleave with other work of the same kind on it, run
 * one at a time per repository folder, in the order asked (in this process: a daemon is the one
 * process that changes its projects' worktree lists and merges into their bases). A failure ends
 * its own turn only.
 */
import { resolve } from 'node:path';

export class PerRepositoryQueue {
  /** Per repository folder: the tail of the work queued so far. */
  readonly #tails = new Map<string, Promise<unknown>>();

  run<T>(repoDir: string, work: () => Promise<T>): Promise<T> {
    const key = resolve(repoDir);
    const run = (this.#tails.get(key) ?? Promise.resolve()).then(work, work);
    const tail = run.catch(() => undefined);
    this.#tails.set(key, tail);
    void tail.then(() => {
      if (this.#tails.get(key) === tail) this.#tails.delete(key);
    });
    return run;
  }

  /** Whether work for `repoDir` is queued or running now. */
  busy(repoDir: string): boolean {
    return this.#tails.has(resolve(repoDir));
  }
}
