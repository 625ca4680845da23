/**
 * Approvals answered at the terminal (docs/approvals.md), against a real daemon with a runtime
 * that asks (fixtures/approval-runtime). `tinyagi send --wait` answers its conversation's requests:
 * - in a real terminal (tmux runs a shell, the test types into it): the request is printed and
 *   asked; `o` allows it once and the agent's answer arrives; `d` and the reason asked next deny,
 *   and the agent reads the reason; a request answered elsewhere meanwhile withdraws the prompt and says by whom;
 *   Ctrl-C at the prompt leaves the request pending and says how to answer it, and so does Ctrl-D
 *   (the input ended) while the wait goes on;
 *   a question (an agent's ask_human over MCP, fixtures/mcp-tool-runtime) shows its choices
 *   numbered: a number picks one, or the answer is typed;
 * - without a terminal: one line says how to answer and nothing blocks; `tinyagi approve` answers;
 * - `tinyagi chat` (in tmux): a request is asked on the chat's prompt line and answered there;
 *   Ctrl-C at it stops the wait, leaves the request waiting and gives the chat back;
 * - the TUI dashboard (`tinyagi visualize` in tmux): the header counts the requests waiting, `a`
 *   opens them, `o` allows one, `d` and a typed reason deny the next, live as they arrive.
 * Every wait polls the pane or the output with a deadline. CI installs tmux (.ci/run).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { Approval } from '@tinyagi/client';
import { cliArgv, createDaemon, exitOf, spawnCli, tmuxInstalled, tmuxServer, waitFor, type TestDaemon } from '@tinyagi/test-kit';
import { afterAll, beforeAll, expect, it } from 'vitest';

const FIXTURE = fileURLToPath(new URL('./fixtures/approval-runtime/runtime.mjs', import.meta.url));
/** A runtime whose agent calls TinyAGI's MCP tools (here ask_human) the way a CLI agent does. */
const MCP_FIXTURE = fileURLToPath(new URL('./fixtures/mcp-tool-runtime/runtime.mjs', import.meta.url));
const PROMPT = '[o]nce / [s]ession / [a]lways / [d]eny (reason) ?';

const server = tmuxServer(`tinyagi-approvals-tty-${process.pid}`);
const { tmux } = server;
/** The screen and its scrollback, wrapped lines joined. */
const pane = (): string => tmux('capture-pane', '-p', '-J', '-t', 'send', '-S', '-300');
const paneWhere = (check: (screen: string) => boolean, what: string, timeoutMs = 60_000): Promise<string> => server.until(pane, check, what, timeoutMs);

let daemon: TestDaemon;
let runs = 0;

beforeAll(async () => {
  expect(tmuxInstalled(), 'tmux must be installed (apt-get install -y tmux; .ci/run does it)').toBe(true);
  daemon = await createDaemon({
    prefix: 'tinyagi-approvals-tty-',
    settings: ({ root }) => ({
      workspace: { path: `${root}/workspace` },
      models: { provider: 'mock' },
      agents: { careful: { provider: 'asks-test', permission_mode: 'ask' }, curious: { provider: 'mcp-tools-test' } },
      channels: { enabled: [] },
    }),
  });
  mkdirSync(join(daemon.home, 'kinds'), { recursive: true });
  writeFileSync(join(daemon.home, 'kinds', 'asks-test.mjs'), `export * from ${JSON.stringify(pathToFileURL(FIXTURE).href)};\n`);
  writeFileSync(join(daemon.home, 'kinds', 'mcp-tools-test.mjs'), `export * from ${JSON.stringify(pathToFileURL(MCP_FIXTURE).href)};\n`);
  await daemon.start();
  const envArgs = Object.entries(daemon.env).flatMap(([k, v]) => ['-e', `${k}=${v}`]);
  tmux('new-session', '-d', '-s', 'send', '-x', '160', '-y', '50', ...envArgs, '/bin/sh');
  // CI=1 (set by .ci/run, inherited by the tmux server) makes every command non-interactive.
  tmux('send-keys', '-t', 'send', `PS1='$ '; unset CI; echo re""ady`, 'Enter');
  await paneWhere((s) => /ready$/m.test(s), 'the shell');
}, 120_000);

afterAll(async () => {
  server.kill();
  await daemon?.cleanup();
});

/** Types `tinyagi send --wait` asking for these tool calls (or, for @curious, making these MCP calls); returns the marker its exit line carries. */
function typeSend(thread: string, asks: unknown[], agent = 'careful'): string {
  runs += 1;
  const cli = cliArgv('built')
    .map((a) => `'${a}'`)
    .join(' ');
  const message = `${agent === 'careful' ? 'ASK' : 'MCP'}:${JSON.stringify(asks)}`;
  tmux('send-keys', '-t', 'send', `'${process.execPath}' ${cli} send --agent ${agent} --thread ${thread} --wait '${message}'; echo "send ${runs} exited $?"`, 'Enter');
  return `send ${runs} exited`;
}

async function pendingOf(seen: Set<string>): Promise<Approval> {
  const a = await waitFor(async () => (await daemon.api.listApprovals({ query: { status: 'pending', agent: 'careful' } })).find((x) => !seen.has(x.id)), 60_000, 'a pending request');
  seen.add(a.id);
  return a;
}

const seen = new Set<string>();

/** Notes whether the request was still pending, then denies it so the next test starts clean (also after a failure). */
const release = (request: Approval) => async (): Promise<void> => {
  const now = await daemon.api.getApproval({ params: { id: request.id } });
  if (now.status !== 'pending') return;
  pendingWhenStopped = true;
  await daemon.cliHereOk(['deny', request.id, '--reason', 'cleanup']);
};
let pendingWhenStopped = false;

it('in a terminal: the request is asked, `o` allows it once and the agent’s answer arrives', async () => {
  const done = typeSend('a', [{ tool: 'Bash', input: { command: 'npm test' } }]);
  const asked = await paneWhere((s) => s.includes(PROMPT), 'the prompt');
  const request = await pendingOf(seen);
  expect(asked).toContain(`@careful asks to run Bash: npm test (${request.id}, expires in`);
  tmux('send-keys', '-t', 'send', 'o', 'Enter');
  const after = await paneWhere((s) => new RegExp(`^${done} \\d+$`, 'm').test(s), 'send to finish');
  expect(after).toContain('Allowed once by cli: @careful Bash: npm test.');
  // Said once, as this terminal's own answer (its event may arrive before the daemon's reply).
  expect(after).not.toContain('Answered elsewhere');
  expect(after).toContain('Bash: allowed (cli)');
  expect(after).toMatch(new RegExp(`^${done} 0$`, 'm'));
  expect(await daemon.api.getApproval({ params: { id: request.id } })).toMatchObject({ status: 'allowed', decision: 'allow_once', decidedBy: 'cli' });
}, 180_000);

it('answered elsewhere: the prompt is withdrawn and says by whom; the next is denied with a typed reason', async () => {
  tmux('send-keys', '-t', 'send', 'clear', 'Enter');
  const done = typeSend('b', [
    { tool: 'Bash', input: { command: 'make deploy' } },
    { tool: 'Bash', input: { command: 'git push' } },
  ]);
  await paneWhere((s) => s.includes('asks to run Bash: make deploy') && s.includes(PROMPT), 'the first prompt');
  const first = await pendingOf(seen);
  await daemon.api.decideApproval({ params: { id: first.id }, body: { decision: 'deny', reason: 'not on a Friday', by: 'dashboard' } });
  await paneWhere((s) => s.includes('Answered elsewhere: Denied by dashboard: @careful Bash: make deploy (not on a Friday).'), 'the withdrawn prompt');
  await paneWhere((s) => s.includes('asks to run Bash: git push'), 'the second prompt');
  await pendingOf(seen);
  tmux('send-keys', '-t', 'send', 'd', 'Enter');
  await paneWhere((s) => s.includes('Reason (the agent reads it; Enter for none):'), 'the reason prompt');
  tmux('send-keys', '-t', 'send', 'push after review', 'Enter');
  const after = await paneWhere((s) => new RegExp(`^${done} \\d+$`, 'm').test(s), 'send to finish');
  expect(after).toContain('Bash: refused (dashboard) denied by dashboard: not on a Friday');
  expect(after).toContain('Bash: refused (cli) denied by cli: push after review');
  expect(after).toMatch(new RegExp(`^${done} 0$`, 'm'));
}, 180_000);

it('a question (ask_human): its choices numbered, a number picks one, or the answer is typed', async () => {
  tmux('send-keys', '-t', 'send', 'clear', 'Enter');
  const done = typeSend(
    'q',
    [
      { tool: 'ask_human', args: { question: 'Which colour for the button?', choices: ['red', 'blue'] } },
      { tool: 'ask_human', args: { question: 'And its label?' } },
    ],
    'curious',
  );
  const asked = await paneWhere((s) => s.includes('[1-2] or your answer (/decline to decline) ?'), 'the question prompt');
  expect(asked).toMatch(/@curious asks you: Which colour for the button\? \(apr_\w+, expires in/);
  expect(asked).toContain('  1) red');
  expect(asked).toContain('  2) blue');
  tmux('send-keys', '-t', 'send', '2', 'Enter');
  await paneWhere((s) => s.includes('Answered by cli: @curious Which colour for the button? -> blue.'), 'the chosen answer');
  await paneWhere((s) => s.includes('@curious asks you: And its label?') && s.includes('Your answer (/decline to decline) ?'), 'the second question');
  tmux('send-keys', '-t', 'send', '-l', 'Sign in');
  tmux('send-keys', '-t', 'send', 'Enter');
  const after = await paneWhere((s) => new RegExp(`^${done} \\d+$`, 'm').test(s), 'send to finish');
  expect(after).toContain('ask_human: blue');
  expect(after).toContain('ask_human: Sign in');
  expect(after).toMatch(new RegExp(`^${done} 0$`, 'm'));
}, 180_000);

it('Ctrl-C at the prompt leaves the request pending and says how to answer it', async () => {
  tmux('send-keys', '-t', 'send', 'clear', 'Enter');
  const done = typeSend('c', [{ tool: 'Bash', input: { command: 'npm publish' } }]);
  await paneWhere((s) => s.includes('asks to run Bash: npm publish') && s.includes(PROMPT), 'the prompt');
  const request = await pendingOf(seen);
  tmux('send-keys', '-t', 'send', 'C-c');
  const after = await paneWhere((s) => new RegExp(`^${done} \\d+$`, 'm').test(s), 'send to stop').finally(release(request));
  expect(after).toContain(`Left ${request.id} unanswered: it still waits`);
  expect(after).toContain(`tinyagi approve ${request.id}`);
  expect(after).toMatch(new RegExp(`^${done} 130$`, 'm'));
  // The terminal is usable again (cooked mode): a typed line reaches the shell.
  tmux('send-keys', '-t', 'send', 'echo still-$((40 + 2))', 'Enter');
  await paneWhere((s) => /^still-42$/m.test(s), 'the shell to answer');
  expect(pendingWhenStopped).toBe(true);
}, 180_000);

it('Ctrl-D at the prompt (the input ended): the request still waits, is said how to answer, and the wait goes on until it is answered', async () => {
  tmux('send-keys', '-t', 'send', 'clear', 'Enter');
  const done = typeSend('e', [{ tool: 'Bash', input: { command: 'make clean' } }]);
  await paneWhere((s) => s.includes('asks to run Bash: make clean') && s.includes(PROMPT), 'the prompt');
  const request = await pendingOf(seen);
  tmux('send-keys', '-t', 'send', 'C-d');
  await paneWhere((s) => s.includes(`The terminal's input ended: ${request.id} still waits; answer with \`tinyagi approve ${request.id}\``), 'the line saying how to answer');
  expect(await daemon.cliHereOk(['approve', request.id])).toContain('Allowed once by cli: @careful Bash: make clean.');
  const after = await paneWhere((s) => new RegExp(`^${done} \\d+$`, 'm').test(s), 'send to finish');
  expect(after).toContain('Bash: allowed (cli)');
  expect(after).toMatch(new RegExp(`^${done} 0$`, 'm'));
}, 180_000);

it('without a terminal: one line says how to answer, nothing blocks, and `tinyagi approve` answers', async () => {
  const send = spawnCli(['send', '--agent', 'careful', '--thread', 'd', '--wait', `ASK:${JSON.stringify([{ tool: 'Bash', input: { command: 'ls -la' } }])}`], daemon.env, { build: 'built' });
  const request = await pendingOf(seen);
  await waitFor(() => send.output().includes(`Not a terminal, so not asked here: answer with \`tinyagi approve ${request.id}\``), 60_000, 'the hint line');
  expect(send.output()).toContain(`@careful asks to run Bash: ls -la (${request.id}`);
  expect(await daemon.cliHereOk(['approve', request.id])).toContain('Allowed once by cli: @careful Bash: ls -la.');
  const exit = await exitOf(send.child);
  expect(exit.code, send.output()).toBe(0);
  expect(send.output()).toContain('Bash: allowed (cli)');
}, 180_000);

it('the TUI dashboard: the header counts what waits, `a` opens the requests, `o` allows one, `d` and a typed reason deny the next', async () => {
  const cli = cliArgv('built')
    .map((a) => `'${a}'`)
    .join(' ');
  const envArgs = Object.entries(daemon.env).flatMap(([k, v]) => ['-e', `${k}=${v}`]);
  tmux('new-session', '-d', '-s', 'tui', '-x', '120', '-y', '40', ...envArgs, '/bin/sh');
  const screen = (): string => tmux('capture-pane', '-p', '-t', 'tui');
  const screenWhere = (check: (s: string) => boolean, what: string): Promise<string> => server.until(screen, check, what, 60_000);
  // Type only once the shell is reading (keys sent before its first prompt are echoed before it,
  // and the line the dashboard leaves behind would share a line with a stray prompt).
  tmux('send-keys', '-t', 'tui', `PS1='$ '; unset CI; echo re""ady`, 'Enter');
  await screenWhere((s) => /^(?:[#$] )?ready$/m.test(s), 'the shell');
  tmux('send-keys', '-t', 'tui', `'${process.execPath}' ${cli} visualize; echo "tui exited $?"`, 'Enter');
  await screenWhere((s) => s.includes('● live'), 'the live dashboard');

  const send = spawnCli(
    [
      'send',
      '--agent',
      'careful',
      '--thread',
      'tui',
      '--wait',
      '--json',
      '-q',
      `ASK:${JSON.stringify([
        { tool: 'Bash', input: { command: 'npm run build' } },
        { tool: 'Bash', input: { command: 'git push --force' } },
      ])}`,
    ],
    daemon.env,
    { build: 'built' },
  );
  const first = await pendingOf(seen);
  await screenWhere((s) => s.includes('⚑ 1 approval (a)'), 'the count in the header');
  tmux('send-keys', '-t', 'tui', 'a');
  const panel = await screenWhere((s) => s.includes('Approvals waiting (1)') && s.includes('o allow once'), 'the approvals panel');
  expect(panel).toContain(`▸ @careful Bash: npm run build`);
  expect(panel).toContain(first.id);
  tmux('send-keys', '-t', 'tui', 'o');
  await screenWhere((s) => s.includes(`${first.id} allowed once by tui (@careful Bash: npm run build)`), 'the answer said');

  // The next request arrives in the open panel, live.
  const second = await pendingOf(seen);
  await screenWhere((s) => s.includes('▸ @careful Bash: git push --force'), 'the next request');
  tmux('send-keys', '-t', 'tui', 'd');
  await screenWhere((s) => s.includes('Reason (the agent reads it):'), 'the reason line');
  tmux('send-keys', '-t', 'tui', '-l', 'not before review');
  await screenWhere((s) => s.includes('not before review▌'), 'the typed reason');
  tmux('send-keys', '-t', 'tui', 'Enter');
  await screenWhere((s) => s.includes(`${second.id} denied by tui: not before review (@careful Bash: git push --force)`), 'the denial said');
  const exit = await exitOf(send.child);
  expect(exit.code, send.output()).toBe(0);
  expect(send.output()).toContain('Bash: allowed (tui)');
  expect(send.output()).toContain('Bash: refused (tui) denied by tui: not before review');
  await screenWhere((s) => s.includes('Nothing waits for your answer.') && !s.includes('⚑'), 'the empty panel');

  tmux('send-keys', '-t', 'tui', 'Escape');
  await screenWhere((s) => !s.includes('Approvals waiting'), 'the panel closed');
  tmux('send-keys', '-t', 'tui', 'q');
  const after = await screenWhere((s) => /^tui exited \d+$/m.test(s), 'the shell after q');
  expect(after).toMatch(/^tui exited 0$/m);
}, 180_000);

it('`tinyagi chat`: a request is asked on the chat’s own prompt line, `o` allows it and the reply arrives; Ctrl-C at a prompt leaves the request waiting and gives the chat back', async () => {
  const cli = cliArgv('built')
    .map((a) => `'${a}'`)
    .join(' ');
  const envArgs = Object.entries(daemon.env).flatMap(([k, v]) => ['-e', `${k}=${v}`]);
  tmux('new-session', '-d', '-s', 'chat', '-x', '160', '-y', '50', ...envArgs, '/bin/sh');
  const chatPane = (): string => tmux('capture-pane', '-p', '-J', '-t', 'chat', '-S', '-300');
  const chatWhere = (check: (s: string) => boolean, what: string): Promise<string> => server.until(chatPane, check, what, 60_000);
  tmux('send-keys', '-t', 'chat', `PS1='$ '; unset CI; '${process.execPath}' ${cli} chat careful; echo "chat exited $?"`, 'Enter');
  await chatWhere((s) => s.includes('Chatting with @careful'), 'the chat');

  tmux('send-keys', '-t', 'chat', '-l', `ASK:${JSON.stringify([{ tool: 'Bash', input: { command: 'npm run lint' } }])}`);
  tmux('send-keys', '-t', 'chat', 'Enter');
  const asked = await chatWhere((s) => s.includes('asks to run Bash: npm run lint') && s.includes(PROMPT), 'the prompt in the chat');
  const request = await pendingOf(seen);
  expect(asked).toContain(`@careful asks to run Bash: npm run lint (${request.id}, expires in`);
  tmux('send-keys', '-t', 'chat', 'o', 'Enter');
  const answered = await chatWhere((s) => s.includes('Allowed once by cli: @careful Bash: npm run lint.') && s.includes('Bash: allowed (cli)'), 'the answer and the reply');
  expect(answered).not.toContain('Answered elsewhere');
  expect(await daemon.api.getApproval({ params: { id: request.id } })).toMatchObject({ status: 'allowed', decision: 'allow_once', decidedBy: 'cli' });

  // The next line is a message again.
  tmux('send-keys', '-t', 'chat', '-l', `ASK:${JSON.stringify([{ tool: 'Bash', input: { command: 'rm -rf build' } }])}`);
  tmux('send-keys', '-t', 'chat', 'Enter');
  await chatWhere((s) => s.includes('asks to run Bash: rm -rf build') && s.includes(PROMPT), 'the second prompt');
  const second = await pendingOf(seen);
  tmux('send-keys', '-t', 'chat', 'C-c');
  const stopped = await chatWhere((s) => /Stopped waiting for conversation conv_\w+/.test(s), 'the interrupted wait').finally(release(second));
  expect(stopped).toContain(`Left ${second.id} unanswered: it still waits`);
  expect(stopped).toContain(`tinyagi approve ${second.id}`);
  expect(pendingWhenStopped).toBe(true);

  tmux('send-keys', '-t', 'chat', '/exit', 'Enter');
  // The shell's first prompt ('# ' as root) may lead the line: these keys may reach it before its first prompt.
  const after = await chatWhere((s) => /^(?:[#$] )?chat exited \d+$/m.test(s), 'the shell after /exit');
  expect(after).toMatch(/^(?:[#$] )?chat exited 0$/m);
}, 180_000);
