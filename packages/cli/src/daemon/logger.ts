/**
 * The daemon's line logger: `2025-01-01T12:00:00.000Z INFO  [scope] message`. Lines go to the
 * rotating daemon.log and, in the foreground, to stdout as well; both are written once per turn
 * of the event loop (errors at once). A URL's password in a message (an OTLP endpoint
 * `http://user:password@…`, a database URL in an error) is masked before the line is written.
 */
import { maskUrlSecretsInText } from '../core-internal.ts';
import { batchPerTurn, joinChunks, type RotatingLog } from './rotating-log.ts';

export type LogLevel = 'info' | 'warn' | 'error';

export interface Logger {
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
  child(scope: string): Logger;
}

export interface LoggerOptions {
  file?: RotatingLog;
  /** Also write to stdout (foreground `tinyagi run`). */
  echo?: boolean;
}

export function createLogger(options: LoggerOptions, scope = 'daemon'): Logger {
  // The echo to stdout is batched per turn of the event loop like the file (rotating-log.ts).
  const echo = options.echo ? batchPerTurn((chunks) => !process.stdout.destroyed && process.stdout.write(joinChunks(chunks))) : undefined;
  return scopedLogger(options.file, echo, scope);
}

function scopedLogger(file: RotatingLog | undefined, echo: ReturnType<typeof batchPerTurn> | undefined, scope: string): Logger {
  const write = (level: LogLevel, message: string): void => {
    const line = `${new Date().toISOString()} ${level.toUpperCase().padEnd(5)} [${scope}] ${maskUrlSecretsInText(message)}\n`;
    file?.write(line);
    echo?.push(line);
    // An error may be the last thing the process says: on disk before the call returns.
    if (level === 'error') {
      file?.flush();
      echo?.flush();
    }
  };
  return {
    info: (m) => write('info', m),
    warn: (m) => write('warn', m),
    error: (m) => write('error', m),
    child: (childScope) => scopedLogger(file, echo, childScope),
  };
}
