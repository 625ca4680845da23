/**
 * A reader that goes away early (`tinyagi conversation list | head -1`) closes our stdout; the
 * next write fails with EPIPE, emitted as an 'error' event that would otherwise crash the process
 * with a stack trace. Like Unix tools killed by SIGPIPE, a command then ends quietly with
 * success. The foreground daemon keeps running instead: its log still goes to daemon.log.
 */
let keepRunning = false;

/** For `tinyagi run`: a closed stdout only stops the echo of the log. */
export function keepRunningWhenStdoutCloses(): void {
  keepRunning = true;
}

function isBrokenPipe(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  return code === 'EPIPE' || code === 'ERR_STREAM_DESTROYED' || code === 'ECONNRESET';
}

/** Installs the handlers once, on stdout and stderr of this process. */
export function handleBrokenPipes(): void {
  process.stdout.on('error', (err) => {
    if (!isBrokenPipe(err)) throw err;
    if (!keepRunning) process.exit(0);
  });
  // Nothing useful can be said on a closed stderr: later writes are dropped.
  process.stderr.on('error', (err) => {
    if (!isBrokenPipe(err)) throw err;
  });
}
