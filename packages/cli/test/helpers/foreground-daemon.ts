/**
 * A foreground daemon (`tinyagi run`) as a child process of the test, so the test can SIGKILL
 * it at any moment and start it again on the same home and port.
 */
import type { ChildProcess } from 'node:child_process';
import { isApiError, type ApiClient } from '@tinyagi/client';
import { spawnCli } from './cli.ts';

export interface ForegroundDaemon {
  child: ChildProcess;
  pid: number;
  /** Resolves when the process has exited (and was reaped). */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Everything the process printed so far. */
  output(): string;
}

export function startForegroundDaemon(env: Record<string, string>): ForegroundDaemon {
  const { child, output } = spawnCli(['run'], env);
  if (child.pid === undefined) throw new Error(`tinyagi run did not start\n${output()}`);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('exit', (code, signal) => resolve({ code, signal }));
  });
  return { child, pid: child.pid, exited, output };
}

/** Polls GET /api/health until it answers; fails at once if the daemon exits first. */
export async function waitHealthy(client: ApiClient, daemon: ForegroundDaemon, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  void daemon.exited.then((e) => (exit = e));
  for (;;) {
    if (exit) throw new Error(`tinyagi run exited (code ${exit.code}, signal ${exit.signal}) before it was healthy\n${daemon.output()}`);
    try {
      await client.health({ signal: AbortSignal.timeout(2000) });
      return;
    } catch (err) {
      if (!isApiError(err, 'NETWORK_ERROR')) throw err;
    }
    if (Date.now() > deadline) throw new Error(`tinyagi run (pid ${daemon.pid}) was not healthy after ${timeoutMs} ms\n${daemon.output()}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** SIGKILL, then wait until the process is gone. */
export async function killHard(daemon: ForegroundDaemon): Promise<void> {
  daemon.child.kill('SIGKILL');
  await daemon.exited;
}
