/**
 * The daemon's line logger: `2025-01-01T12:00:00.000Z INFO  [scope] message`. Lines go to the
 * rotating daemon.log and, in the foreground, to stdout as well.
 */
import type { RotatingLog } from './rotating-log.ts';

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
  const write = (level: LogLevel, message: string): void => {
    const line = `${new Date().toISOString()} ${level.toUpperCase().padEnd(5)} [${scope}] ${message}\n`;
    options.file?.write(line);
    if (options.echo && !process.stdout.destroyed) process.stdout.write(line);
  };
  return {
    info: (m) => write('info', m),
    warn: (m) => write('warn', m),
    error: (m) => write('error', m),
    child: (childScope) => createLogger(options, childScope),
  };
}
