/**
 * A private tmux server (its own socket, no user config) for tests that drive a program in a
 * real pseudo-terminal: type with `send-keys`, read the screen with `capture-pane`, wait for a
 * screen with a deadline (never a fixed sleep). CI installs tmux (.ci/run).
 */
import { execFileSync, spawnSync } from 'node:child_process';

export interface TmuxServer {
  /** Runs a tmux command on this server; its stdout. */
  tmux(...args: string[]): string;
  /** Polls `read` every 50 ms until `check` holds; the error shows the last screen read. */
  until(read: () => string, check: (screen: string) => boolean, what: string, timeoutMs?: number): Promise<string>;
  /** Ends the server and every session on it. */
  kill(): void;
}

export function tmuxServer(socket: string): TmuxServer {
  const tmux = (...args: string[]): string => execFileSync('tmux', ['-L', socket, '-f', '/dev/null', ...args], { encoding: 'utf8' });
  return {
    tmux,
    async until(read, check, what, timeoutMs = 30_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const screen = read();
        if (check(screen)) return screen;
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; the pane shows:\n${screen}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    },
    kill: () => void spawnSync('tmux', ['-L', socket, 'kill-server']),
  };
}

/** True when tmux can be run (the tests say how to install it when not). */
export function tmuxInstalled(): boolean {
  return spawnSync('tmux', ['-V']).status === 0;
}
