/**
 * A size-rotated log file: `daemon.log`, then `daemon.log.1` … `daemon.log.<keep>` (oldest
 * dropped).
 *
 * Rotation is copy-then-truncate rather than rename, because the detached daemon's own stdout
 * and stderr are the same file (crash output from Node lands there) and those descriptors cannot
 * be reopened. Every descriptor is opened with O_APPEND, so after the truncate all writers go on
 * at the new end. What is written in one turn of the event loop goes out in one synchronous
 * write (and one size check) at the end of that turn (`batchPerTurn`), or at once with `flush()`,
 * `close()` and when the process exits: a busy daemon logs a few lines per message, and a write
 * plus an fstat for each line was a measurable part of its CPU (docs/profiling.md, round 5).
 * A SIGKILL loses at most the lines of the turn it interrupted.
 */
import { closeSync, copyFileSync, fstatSync, ftruncateSync, mkdirSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';

export const DEFAULT_LOG_MAX_BYTES = 10 * 1024 * 1024;
export const DEFAULT_LOG_KEEP = 5;

export interface RotatingLogOptions {
  file: string;
  maxBytes?: number;
  /** Rotated files kept besides the live one. */
  keep?: number;
}

export class RotatingLog {
  readonly file: string;
  readonly #maxBytes: number;
  readonly #keep: number;
  #fd: number | undefined;
  readonly #pending = batchPerTurn((chunks) => this.#writeNow(chunks));

  constructor(options: RotatingLogOptions) {
    this.file = options.file;
    this.#maxBytes = options.maxBytes ?? DEFAULT_LOG_MAX_BYTES;
    this.#keep = Math.max(1, options.keep ?? DEFAULT_LOG_KEEP);
    mkdirSync(dirname(this.file), { recursive: true, mode: 0o700 });
    this.#fd = openSync(this.file, 'a', 0o600);
  }

  write(text: string | Uint8Array): void {
    if (this.#fd === undefined) return;
    this.#pending.push(text);
  }

  /** Writes what is pending now. */
  flush(): void {
    this.#pending.flush();
  }

  #writeNow(chunks: Chunk[]): void {
    if (this.#fd === undefined) return;
    const text = joinChunks(chunks);
    // Two calls because writeSync's overloads take a string or bytes, not a union of the two.
    if (typeof text === 'string') writeSync(this.#fd, text);
    else writeSync(this.#fd, text);
    // fstat, not a counter: other descriptors (the daemon's stdio) append to the same file.
    if (fstatSync(this.#fd).size >= this.#maxBytes) this.rotate();
  }

  rotate(): void {
    if (this.#fd === undefined) return;
    rmSync(`${this.file}.${this.#keep}`, { force: true });
    for (let i = this.#keep - 1; i >= 1; i--) {
      try {
        renameSync(`${this.file}.${i}`, `${this.file}.${i + 1}`);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      }
    }
    copyFileSync(this.file, `${this.file}.1`);
    ftruncateSync(this.#fd, 0);
  }

  close(): void {
    if (this.#fd === undefined) return;
    this.#pending.flush();
    this.#pending.dispose();
    closeSync(this.#fd);
    this.#fd = undefined;
  }
}

/**
 * Collects chunks and hands them to `write` together once the current turn of the event loop is
 * over (setImmediate), on `flush()`, and when the process exits. `dispose()` stops listening for
 * the exit.
 */
export function batchPerTurn(write: (chunks: Chunk[]) => void): { push(chunk: Chunk): void; flush(): void; dispose(): void } {
  let chunks: Chunk[] = [];
  let scheduled: NodeJS.Immediate | undefined;
  const flush = (): void => {
    if (scheduled !== undefined) clearImmediate(scheduled);
    scheduled = undefined;
    if (chunks.length === 0) return;
    const out = chunks;
    chunks = [];
    write(out);
  };
  if (flushAtExit.size === 0) process.on('exit', flushAll);
  flushAtExit.add(flush);
  return {
    push(chunk) {
      chunks.push(chunk);
      scheduled ??= setImmediate(flush);
    },
    flush,
    dispose: () => {
      flushAtExit.delete(flush);
      if (flushAtExit.size === 0) process.off('exit', flushAll);
    },
  };
}

type Chunk = string | Uint8Array;

/** The chunks as one string (log lines) or, when bytes are among them (a channel's output), one buffer. */
export function joinChunks(chunks: readonly Chunk[]): string | Uint8Array {
  if (chunks.length === 1) return chunks[0]!;
  return chunks.every((c) => typeof c === 'string') ? chunks.join('') : Buffer.concat(chunks.map((c) => (typeof c === 'string' ? Buffer.from(c) : c)));
}

/** Every live batch, flushed by one exit listener. */
const flushAtExit = new Set<() => void>();
function flushAll(): void {
  for (const flush of flushAtExit) flush();
}
