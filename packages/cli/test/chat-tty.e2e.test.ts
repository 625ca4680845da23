/**
 * `tinyagi chat` in a real terminal (tmux runs a shell; the test types into it): Ctrl-C while a
 * reply is awaited stops waiting and gives the prompt back (the work goes on in the daemon, and
 * the line says how to cancel it), the next line is sent as usual, and Ctrl-C at the prompt
 * leaves with exit code 0. Before, the first Ctrl-C paused the input and the chat hung.
 * Every wait polls the pane with a deadline. CI installs tmux (.ci/run).
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { CLI_BUILT, createDaemon, tmuxInstalled, tmuxServer, type TestDaemon } from '@tinyagi/test-kit';

const server = tmuxServer(`tinyagi-chat-${process.pid}`);
const { tmux } = server;
/** The screen and its scrollback, wrapped lines joined. */
const pane = (): string => tmux('capture-pane', '-p', '-J', '-t', 'chat', '-S', '-200');
const paneWhere = (check: (screen: string) => boolean, what: string, timeoutMs?: number): Promise<string> => server.until(pane, check, what, timeoutMs);

let daemon: TestDaemon;

beforeAll(async () => {
  expect(tmuxInstalled(), 'tmux must be installed (apt-get install -y tmux; .ci/run does it)').toBe(true);
  daemon = await createDaemon({
    prefix: 'tinyagi-chat-tty-',
    settings: ({ root }) => ({
      workspace: { path: `${root}/workspace` },
      models: { provider: 'mock' },
      agents: { slowpoke: { provider: 'mock', mock: { reply: 'hi there', replies: [{ match: 'hang', latency_ms: 600_000, reply: 'too late' }] } } },
      channels: { enabled: [] },
    }),
  });
  await daemon.start();
});

afterAll(async () => {
  server.kill();
  await daemon?.cleanup();
});

it('Ctrl-C while waiting gives the prompt back and says how to cancel; Ctrl-C at the prompt leaves', async () => {
  const envArgs = Object.entries(daemon.env).flatMap(([k, v]) => ['-e', `${k}=${v}`]);
  tmux('new-session', '-d', '-s', 'chat', '-x', '120', '-y', '40', ...envArgs, '/bin/sh');
  // CI=1 (set by .ci/run, inherited by the tmux server) makes every command non-interactive.
  tmux('send-keys', '-t', 'chat', `PS1='$ '; unset CI; '${process.execPath}' '${CLI_BUILT}' chat slowpoke; echo "chat exited $?"`, 'Enter');
  await paneWhere((s) => s.includes('Chatting with @slowpoke'), 'the chat');

  tmux('send-keys', '-t', 'chat', 'please hang on', 'Enter');
  await paneWhere((s) => s.includes('@slowpoke is working'), 'the progress line');
  tmux('send-keys', '-t', 'chat', 'C-c');
  const stopped = await paneWhere((s) => /Stopped waiting for conversation conv_\w+/.test(s), 'the interrupted wait');
  const conversationId = /Stopped waiting for conversation (conv_\w+)/.exec(stopped)![1]!;
  expect(stopped).toContain(`tinyagi cancel ${conversationId}`);
  // The work goes on in the daemon until the user cancels it, as the line says.
  expect((await daemon.api.getConversation({ params: { id: conversationId } })).conversation.status).toBe('active');
  await daemon.cliHereOk(['cancel', conversationId]);

  // The prompt is back: the next line is sent and answered.
  tmux('send-keys', '-t', 'chat', 'quick hello', 'Enter');
  // Ctrl-C while the answer's conversation is still awaited would stop the wait, not leave: the
  // prompt after the answer says the chat waits for a line again.
  await paneWhere((s) => s.includes('hi there') && s.slice(s.lastIndexOf('hi there')).includes('\nyou ›'), 'the answer to the next line, then the prompt');

  tmux('send-keys', '-t', 'chat', 'C-c');
  const after = await paneWhere((s) => /chat exited \d+$/m.test(s), 'the shell after Ctrl-C at the prompt');
  expect(after).toMatch(/chat exited 0$/m);
});
