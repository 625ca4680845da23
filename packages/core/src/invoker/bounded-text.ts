/**
 * Output buffers with a hard size: an agent that prints gigabytes must not take the daemon's
 * memory with it. Older text is dropped first; the newest output is what explains a failure.
 */
export class BoundedTail {
  readonly #limit: number;
  #text = '';

  constructor(limitChars: number) {
    this.#limit = limitChars;
  }

  append(chunk: string): void {
    this.#text += chunk;
    if (this.#text.length > this.#limit) this.#text = this.#text.slice(this.#text.length - this.#limit);
  }

  toString(): string {
    return this.#text;
  }
}

/** Splits a stream into lines; a line longer than `maxLineChars` is dropped (reported through `onOverflow`). */
export class LineSplitter {
  readonly #maxLineChars: number;
  readonly #onLine: (line: string) => void;
  readonly #onOverflow: () => void;
  #partial = '';
  #skipping = false;

  constructor(maxLineChars: number, onLine: (line: string) => void, onOverflow: () => void = () => {}) {
    this.#maxLineChars = maxLineChars;
    this.#onLine = onLine;
    this.#onOverflow = onOverflow;
  }

  push(chunk: string): void {
    let start = 0;
    for (let nl = chunk.indexOf('\n'); nl !== -1; nl = chunk.indexOf('\n', start)) {
      const piece = chunk.slice(start, nl);
      start = nl + 1;
      if (this.#skipping) {
        this.#skipping = false;
        this.#partial = '';
        continue;
      }
      const line = this.#partial + piece;
      this.#partial = '';
      this.#onLine(line.endsWith('\r') ? line.slice(0, -1) : line);
    }
    if (this.#skipping) return;
    this.#partial += chunk.slice(start);
    if (this.#partial.length > this.#maxLineChars) {
      this.#partial = '';
      this.#skipping = true;
      this.#onOverflow();
    }
  }

  /** Emits the last line when the stream ended without a newline. */
  end(): void {
    if (!this.#skipping && this.#partial !== '') this.#onLine(this.#partial);
    this.#partial = '';
    this.#skipping = false;
  }
}
