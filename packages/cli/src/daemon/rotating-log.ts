/**
 * A size-rotated log file: `daemon.log`, then `daemon.log.1` … `daemon.log.<keep>` (oldest
 * dropped).
 *
 * Rotation is copy-then-truncate rather than rename, because the detached daemon's own stdout
 * and stderr are the same file (crash output from Node lands there) and those descriptors cannot
 * be reopened. Every descriptor is opened with O_APPEND, so after the truncate all writers go on
 * at the new end. Writes are synchronous: a line is on disk before the call returns.
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

  constructor(options: RotatingLogOptions) {
    this.file = options.file;
    this.#maxBytes = options.maxBytes ?? DEFAULT_LOG_MAX_BYTES;
    this.#keep = Math.max(1, options.keep ?? DEFAULT_LOG_KEEP);
    mkdirSync(dirname(this.file), { recursive: true, mode: 0o700 });
    this.#fd = openSync(this.file, 'a', 0o600);
  }

  write(text: string | Uint8Array): void {
    if (this.#fd === undefined) return;
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
    closeSync(this.#fd);
    this.#fd = undefined;
  }
}
