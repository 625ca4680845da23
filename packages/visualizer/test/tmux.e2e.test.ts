/**
 * The dashboard under a real pseudo-terminal: tmux runs a shell, the test types
 * `tinyagi team visualize dev` into it (the built CLI, packages/cli/dist, against a real daemon
 * with mock agents in a temp TINYAGI_HOME), sends a team message, reads the pane until the
 * handoff shows, restarts the daemon (the dashboard shows it reconnecting, then live), presses q,
 * and checks the shell's screen is back as it was (alternate screen
 * left, the prompt usable, the exit code 0). Every wait polls the pane with a deadline.
 * turbo builds the CLI before this package's tests (turbo.json); CI installs tmux (.ci/run).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI_BUILT, tmuxInstalled, tmuxServer, type TestDaemon } from '@tinyagi/test-kit';
import { startTeamDaemon } from './daemon.ts';

const server = tmuxServer(`tinyagi-vis-${process.pid}`);
const { tmux } = server;
const pane = (): string => tmux('capture-pane', '-p', '-t', 'vis');
const paneFlag = (flag: string): string => tmux('display-message', '-p', '-t', 'vis', `#{${flag}}`).trim();
const paneWhere = (check: (screen: string) => boolean, what: string, timeoutMs?: number): Promise<string> => server.until(pane, check, what, timeoutMs);

describe('tinyagi team visualize in a real terminal (tmux)', () => {
  let daemon: TestDaemon | undefined;
  let env: Record<string, string> = {};

  beforeAll(async () => {
    expect(tmuxInstalled(), 'tmux must be installed (apt-get install -y tmux; .ci/run does it)').toBe(true);
    daemon = await startTeamDaemon();
    env = daemon.env;
  });

  afterAll(async () => {
    server.kill();
    await daemon?.cleanup();
  });

  it('shows the conversation’s handoff live, reconnects after a daemon restart, and q exits restoring the terminal', async () => {
    const envArgs = Object.entries(env).flatMap(([k, v]) => ['-e', `${k}=${v}`]);
    tmux('new-session', '-d', '-s', 'vis', '-x', '80', '-y', '24', ...envArgs, '/bin/sh');
    tmux('send-keys', '-t', 'vis', `PS1='$ '; echo before-dashboard`, 'Enter');
    // Keys sent before the shell's first prompt are echoed before it, so that prompt ('# ' as root) may lead the answer's line.
    await paneWhere((s) => /^(?:[#$] )?before-dashboard$/m.test(s), 'the shell');

    tmux('send-keys', '-t', 'vis', `'${process.execPath}' '${CLI_BUILT}' team visualize dev; echo "dashboard exited $?"`, 'Enter');
    const idle = await paneWhere((s) => s.includes('● live') && s.includes('@reviewer'), 'the live dashboard');
    expect(idle).toMatch(/★ @coder\s+○ idle/);
    expect(paneFlag('alternate_on')).toBe('1');

    await daemon!.cliOk(['send', '--team', 'dev', 'please build the login page']);
    const handoff = await paneWhere((s) => s.includes('@coder ─▶ @reviewer'), 'the handoff arrow');
    expect(handoff).toMatch(/Handoffs @coder ─▶ @reviewer hop 1/);
    expect(handoff).toContain('"please build the login page"');
    const tree = await paneWhere((s) => /└─ @reviewer d0 (running|completed)/.test(s), 'the reviewer under the coder in the run tree');
    expect(tree).toMatch(/@coder d0 completed/);
    for (const line of tree.split('\n')) expect(line.length).toBeLessThanOrEqual(80);

    // The daemon goes away and comes back: the dashboard says so, then resumes.
    await daemon!.stop();
    await paneWhere((s) => s.includes('⟳ reconnecting'), 'the reconnecting state');
    await daemon!.start();
    await paneWhere((s) => s.includes('● live'), 'live again after the restart');

    tmux('send-keys', '-t', 'vis', 'q');
    const after = await paneWhere((s) => /^dashboard exited \d+$/m.test(s), 'the shell after q');
    expect(after).toMatch(/^dashboard exited 0$/m);
    expect(after).toContain('before-dashboard'); // the main screen is back, untouched
    expect(after).not.toContain('TinyAGI');
    expect(paneFlag('alternate_on')).toBe('0');
    expect(paneFlag('cursor_flag')).toBe('1'); // the cursor is visible again
    // The terminal is back in cooked mode: a typed line reaches the shell.
    tmux('send-keys', '-t', 'vis', 'echo still-$((40 + 2))', 'Enter');
    await paneWhere((s) => /^still-42$/m.test(s), 'the shell to answer');
  });
});
