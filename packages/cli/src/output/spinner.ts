/**
 * A one-line progress indicator for long waits (start, restart, stop). It writes to stderr and
 * only when that stream is a terminal (and TERM is not `dumb`): piped or redirected output and
 * `--json` get nothing, so scripted output stays byte-identical. NO_COLOR keeps the spinner but
 * drops its colour. Nothing is drawn for waits shorter than one frame.
 */

export interface SpinnerStream {
  isTTY?: boolean;
  write(chunk: string): unknown;
}

export interface SpinnerOptions {
  /** Default process.stderr. */
  stream?: SpinnerStream;
  /** Default process.env (NO_COLOR, TERM). */
  env?: Readonly<Record<string, string | undefined>>;
  /** False turns it off (e.g. with --json). Default true. */
  enabled?: boolean;
  /** Frame interval in ms. Default 80. */
  intervalMs?: number;
}

export interface Spinner {
  /** Replaces the text after the spinner. */
  update(text: string): void;
  /** Clears the line; idempotent. */
  stop(): void;
}

const FRAMES = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];
const CLEAR_LINE = '\r\u001b[2K';

export function startSpinner(text: string, options: SpinnerOptions = {}): Spinner {
  const stream = options.stream ?? process.stderr;
  const env = options.env ?? process.env;
  if (options.enabled === false || stream.isTTY !== true || env['TERM'] === 'dumb') return { update() {}, stop() {} };
  const colour = env['NO_COLOR'] === undefined || env['NO_COLOR'] === '';
  const startedAt = Date.now();
  let label = text;
  let frame = 0;
  let drawn = false;
  const draw = (): void => {
    const glyph = FRAMES[frame++ % FRAMES.length] ?? '';
    const seconds = Math.floor((Date.now() - startedAt) / 1000);
    const elapsed = seconds > 0 ? ` ${seconds}s` : '';
    stream.write(`${CLEAR_LINE}${colour ? `\u001b[36m${glyph}\u001b[39m` : glyph} ${label}${colour && elapsed ? `\u001b[2m${elapsed}\u001b[22m` : elapsed}`);
    drawn = true;
  };
  const timer = setInterval(draw, options.intervalMs ?? 80);
  timer.unref();
  let stopped = false;
  return {
    update(next) {
      label = next;
    },
    stop() {
      if (stopped) return;
      stopped = true;
      clearInterval(timer);
      if (drawn) stream.write(CLEAR_LINE);
    },
  };
}

/** Runs `work` with a spinner showing `text`; the line is cleared before the result or error is printed. */
export async function withSpinner<T>(text: string, work: () => Promise<T>, options: SpinnerOptions = {}): Promise<T> {
  const spinner = startSpinner(text, options);
  try {
    return await work();
  } finally {
    spinner.stop();
  }
}
