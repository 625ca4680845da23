/**
 * Durable commits that do not stop the event loop.
 *
 * At `synchronous = FULL` SQLite fsyncs the WAL inside every COMMIT: better-sqlite3 is
 * synchronous, so the daemon's only thread waited for the disk on every commit (2.1 s of the
 * 11.7 s B0 run, docs/profiling.md fix 22), and could not start the next agent CLI meanwhile.
 * Here the connection commits at NORMAL (the frames are in the WAL file, in the OS's cache: safe
 * from a crash of the process, not yet from a power loss) and this module fsyncs the WAL file on
 * a libuv thread. Whatever a commit makes visible outside the process waits for that fsync:
 * its `afterCommit` callbacks (events, deliveries) run after it, and the API answers a
 * mutating request only after `whenDurable()` (server/src/app.ts). Commits made while an fsync
 * runs share the next one: group commit without a timer.
 *
 * Same guarantee as FULL: SQLite at FULL fsyncs the same file after appending the same frames;
 * a frame whose fsync did not finish is dropped by SQLite's checksums at recovery, and its
 * commit was not acknowledged. A checkpoint at NORMAL fsyncs the WAL itself before copying it.
 * An fsync that fails ends the process (the next start recovers from what is on disk): after a
 * failed fsync the kernel may have dropped the dirty pages, so retrying could report success
 * for data that is gone.
 */
import { closeSync, fdatasync, fdatasyncSync, openSync } from 'node:fs';

export class DurableCommits {
  /** Commits (non-lazy) so far, and how many of them an fsync has covered. */
  #committed = 0;
  #synced = 0;
  #inflight: Promise<void> | undefined;
  #inflightCovers = 0;
  #fd: number | undefined;
  /** Set by flushSync (the database closes): an fsync still running then closes the file itself. */
  #closed = false;
  /** Callbacks of commits in commit order, each waiting for the fsync that covers its commit. */
  #queue: Array<{ needs: number; run: () => void }> = [];
  readonly #walPath: string;

  constructor(databasePath: string) {
    this.#walPath = `${databasePath}-wal`;
  }

  /**
   * A commit happened; `callbacks` run once it is durable (`durable: false`: a lazy commit, whose
   * callbacks need no fsync but still run after those of earlier commits, in order).
   */
  committed(callbacks: Array<() => void>, durable: boolean): void {
    if (durable) this.#committed++;
    if (callbacks.length === 0 && !durable) return;
    const needs = durable ? this.#committed : 0;
    if (this.#queue.length === 0 && needs <= this.#synced) {
      for (const cb of callbacks) cb();
      return;
    }
    this.#queue.push({
      needs,
      run: () => {
        for (const cb of callbacks) cb();
      },
    });
    if (durable) void this.whenDurable();
  }

  /** Resolves once every commit made so far is on disk. */
  whenDurable(): Promise<void> {
    const target = this.#committed;
    if (target <= this.#synced) return Promise.resolve();
    if (this.#inflight !== undefined && this.#inflightCovers >= target) return this.#inflight;
    const after = this.#inflight ?? Promise.resolve();
    const next = after.then(() => this.#sync());
    return next;
  }

  /** Synchronous fsync of whatever is pending (closing the database). */
  flushSync(): void {
    if (this.#committed > this.#synced) {
      const fd = this.#walFd();
      if (fd !== undefined) fdatasyncSync(fd);
      this.#done(this.#committed);
    }
    this.#closed = true;
    // An fsync on a libuv thread may still be using the descriptor: it closes it when it ends.
    if (this.#fd !== undefined && this.#inflight === undefined) closeSync(this.#fd);
    if (this.#inflight === undefined) this.#fd = undefined;
  }

  #sync(): Promise<void> {
    const covers = this.#committed;
    if (covers <= this.#synced || this.#closed) return Promise.resolve();
    if (this.#inflight !== undefined && this.#inflightCovers >= covers) return this.#inflight;
    const run = new Promise<void>((resolve) => {
      const fd = this.#walFd();
      if (fd === undefined) {
        this.#done(covers);
        resolve();
        return;
      }
      fdatasync(fd, (err) => {
        if (this.#closed) {
          // flushSync synced everything on close; this descriptor is ours to close now.
          this.#fd = undefined;
          try {
            closeSync(fd);
          } catch {}
          this.#done(covers);
          resolve();
          return;
        }
        if (err) {
          // See the header: never go on after a failed fsync.
          process.nextTick(() => {
            throw Object.assign(new Error(`fsync of ${this.#walPath} failed (${err.code ?? err.message}); stopping so that the next start recovers from what is on disk.`), { cause: err });
          });
          return;
        }
        this.#done(covers);
        resolve();
      });
    });
    this.#inflight = run;
    this.#inflightCovers = covers;
    void run.then(() => {
      if (this.#inflight === run) this.#inflight = undefined;
    });
    return run;
  }

  #done(covers: number): void {
    this.#synced = Math.max(this.#synced, covers);
    while (this.#queue.length > 0 && this.#queue[0]!.needs <= this.#synced) this.#queue.shift()!.run();
  }

  /** The WAL file, opened once (its inode stays while the database is open; SQLite truncates, never replaces it). */
  #walFd(): number | undefined {
    if (this.#fd === undefined) {
      try {
        this.#fd = openSync(this.#walPath, 'r');
      } catch (err) {
        // No WAL file: nothing was written through it.
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
        throw err;
      }
    }
    return this.#fd;
  }
}
