/**
 * The channel process: `node runner.js <channel>`, started by the daemon's supervisor (one per
 * enabled channel). It builds the channel from its configuration (channel.ts: the platform's
 * adapter in a ChannelHost), runs it, and stops cleanly on SIGTERM/SIGINT or when its daemon is
 * gone. A configuration problem (no token, unknown channel) exits with code 2 and says what to
 * set; the supervisor's status shows the exit. A platform that refuses the channel's credentials
 * (CredentialsRejectedError) is reported as `STATUS rejected` and the process exits with
 * CHANNEL_EXIT_REJECTED: the daemon does not restart it.
 */
import { CHANNEL_EXIT_REJECTED } from '@tinyagi/client';
import { isCredentialsRejected } from './adapter.ts';
import { createChannel } from './channel.ts';
import { ChannelConfigError, readChannelConfig } from './config.ts';
import type { ConnectionReport } from './host.ts';
import type { ChannelLog } from './log.ts';
import { errorWithCauses } from './retry.ts';

const STOP_GRACE_MS = 10_000;

// stdout is a pipe to the daemon (which writes logs/<channel>.log). If the daemon died, writing
// fails with EPIPE: that must not crash us mid-delivery, so the lines are dropped instead.
process.stdout.on('error', () => {});

const log: ChannelLog = (level, message) => {
  if (process.stdout.writable) process.stdout.write(`${new Date().toISOString()} ${level.toUpperCase().padEnd(5)} ${message}\n`);
};

/**
 * The platform connection, for the daemon's supervisor (docs/channels.md#channel-states): one
 * line `<time> STATUS connected`, or `<time> STATUS reconnecting|rejected <attempt> <error>`.
 */
const reportConnection = (report: ConnectionReport): void => {
  const error = report.error === undefined ? '' : ` ${report.error.replace(/\s+/g, ' ')}`;
  if (process.stdout.writable) process.stdout.write(`${new Date().toISOString()} STATUS ${report.state}${report.state === 'connected' ? '' : ` ${report.attempt}${error}`}\n`);
};

/** An adapter's session that cannot continue: stop cleanly, then exit with `code`. */
function exitFatally(code: number): () => void {
  return () => {
    process.exitCode = code;
    process.kill(process.pid, 'SIGTERM');
  };
}

async function main(): Promise<void> {
  // Everything a channel writes (session keys, held messages, files) is for this user only.
  process.umask(0o077);
  const config = readChannelConfig(process.env, process.argv.slice(2));
  const host = await createChannel(config, { env: process.env, log, exitFatally, onConnection: reportConnection });
  let stopping = false;
  const stop = (reason: string): void => {
    if (stopping) return;
    stopping = true;
    log('info', `${reason}: stopping`);
    // A send the platform never answers must not keep the process alive for ever.
    setTimeout(() => {
      log('warn', 'stop took too long; exiting');
      process.exit(1);
    }, STOP_GRACE_MS).unref();
    host.stop().then(
      () => process.exit(process.exitCode ?? 0),
      (err: unknown) => {
        log('error', `stop failed: ${err instanceof Error ? err.message : String(err)}`);
        process.exit(1);
      },
    );
  };
  // A daemon that died without stopping us (SIGKILL) leaves us orphaned: a new daemon starts its
  // own channel process, and two pollers on one bot must not run side by side. The daemon names
  // itself (TINYAGI_DAEMON_PID): one killed while we were still loading has already made us a
  // child of init, and our parent at this point would be the wrong one to watch.
  const daemonPid = Number(process.env['TINYAGI_DAEMON_PID']) || process.ppid;
  if (process.ppid !== daemonPid) {
    log('info', `the daemon (pid ${daemonPid}) is gone before the channel started: exiting`);
    process.exit(0);
  }
  // The daemon holds our stdin open and never writes to it: its end is the daemon's death, at once
  // (it cannot end otherwise). The parent check covers a runner started without that pipe.
  if (process.env['TINYAGI_DAEMON_STDIN'] === '1') {
    process.stdin.on('end', () => stop('the daemon is gone'));
    process.stdin.on('error', () => stop('the daemon is gone'));
    process.stdin.resume();
  }
  setInterval(() => {
    if (process.ppid !== daemonPid) stop('the daemon is gone');
  }, 200).unref();
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('unhandledRejection', (err) => log('error', `unhandled: ${err instanceof Error ? err.message : String(err)}`));
  await host.start();
}

main().catch((err: unknown) => {
  log('error', errorWithCauses(err));
  if (isCredentialsRejected(err)) {
    reportConnection({ state: 'rejected', attempt: 1, error: err.message });
    process.exit(CHANNEL_EXIT_REJECTED);
  }
  process.exit(err instanceof ChannelConfigError ? 2 : 1);
});
