/**
 * Live activity in the terminal, against a real daemon (the built CLI, a temp TINYAGI_HOME) whose
 * mock agent streams what a coding CLI does: a plan, tool calls with ids, kinds and titles, their
 * results (one failing), per-call usage.
 * - `send --wait` prints a line per tool call, per result (named after its call by id, a failure
 *   with its output's first line) and per plan change, in order, on stderr; the reply on stdout.
 * - `send --wait --json` keeps stdout one JSON document and passes every event through on stderr,
 *   one JSON object a line.
 * - The TUI (`tinyagi team visualize`, in tmux; first, so its conversation is the only one): the
 *   selected run's plan and tool calls, live.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI_BUILT, createDaemon, tmuxInstalled, tmuxServer, type TestDaemon } from '@tinyagi/test-kit';

const progress = [
  {
    plan: [
      { text: 'reproduce the bug', status: 'completed' },
      { text: 'fix the parser', status: 'in_progress' },
      { text: 'run the tests', status: 'pending' },
    ],
  },
  { tool: 'Read', id: 'call-1', kind: 'file_read', title: 'src/parser.ts' },
  { tool_result: 'Read', id: 'call-1', ok: true, output: 'export function parse() {}' },
  { tool: 'Bash', id: 'call-2', kind: 'command', title: 'npm test' },
  { usage: { input_tokens: 1200, output_tokens: 40, cache_read_tokens: 1000 } },
  // A result that names only its call's id (as Claude Code's tool_result blocks do).
  { tool_result: '', id: 'call-2', ok: false, output: '\nFAIL parser.test.ts\n  expected 2, got 3' },
  // The same plan again (a CLI re-sends it): no new line.
  {
    plan: [
      { text: 'reproduce the bug', status: 'completed' },
      { text: 'fix the parser', status: 'in_progress' },
      { text: 'run the tests', status: 'pending' },
    ],
  },
  {
    plan: [
      { text: 'reproduce the bug', status: 'completed' },
      { text: 'fix the parser', status: 'completed' },
      { text: 'run the tests', status: 'in_progress' },
    ],
  },
  { tool: 'Edit', id: 'call-3', kind: 'file_edit', title: 'src/parser.ts' },
];

let daemon: TestDaemon;

beforeAll(async () => {
  daemon = await createDaemon({
    prefix: 'tinyagi-live-activity-',
    settings: ({ root }) => ({
      workspace: { path: `${root}/workspace` },
      models: { provider: 'mock' },
      agents: {
        fixer: {
          provider: 'mock',
          mock: {
            reply: 'fixed',
            replies: [
              { match: 'fix the parser', progress, reply: 'Parser fixed.' },
              { match: 'keep fixing', progress, latency_ms: 600_000, reply: 'too late' },
            ],
          },
        },
      },
      teams: { dev: { agents: ['fixer'], leader_agent: 'fixer' } },
      channels: { enabled: [] },
    }),
  });
  await daemon.start();
});

afterAll(async () => {
  await daemon?.cleanup();
});

describe('the TUI (tmux)', () => {
  const server = tmuxServer(`tinyagi-activity-${process.pid}`);
  const { tmux } = server;
  const pane = (): string => tmux('capture-pane', '-p', '-t', 'vis');
  const paneWhere = (check: (screen: string) => boolean, what: string): Promise<string> => server.until(pane, check, what, 60_000);

  afterAll(() => server.kill());

  it("the selected run's plan and tool calls, live, within the terminal's width", async () => {
    expect(tmuxInstalled(), 'tmux must be installed (apt-get install -y tmux; .ci/run does it)').toBe(true);
    const envArgs = Object.entries(daemon.env).flatMap(([k, v]) => ['-e', `${k}=${v}`]);
    tmux('new-session', '-d', '-s', 'vis', '-x', '100', '-y', '40', ...envArgs, '/bin/sh');
    // Type only once the shell is reading: keys sent before its first prompt are echoed before it,
    // and what the dashboard leaves behind then shares a line with a stray prompt. These first keys
    // may be sent before it too, so the shell's first prompt ('# ' as root) may lead the answer's line.
    tmux('send-keys', '-t', 'vis', `PS1='$ '; echo re""ady`, 'Enter');
    await paneWhere((s) => /^(?:[#$] )?ready$/m.test(s), 'the shell');
    tmux('send-keys', '-t', 'vis', `'${process.execPath}' '${CLI_BUILT}' team visualize dev; echo "dashboard exited $?"`, 'Enter');
    await paneWhere((s) => s.includes('● live'), 'the live dashboard');
    const sent = JSON.parse(await daemon.cliHereOk(['send', '--team', 'dev', '--json', 'keep fixing the parser'])) as { conversationId: string };
    const screen = await paneWhere((s) => s.includes('⟳ Edit src/parser.ts'), 'the running Edit call');
    const lines = screen.split('\n').map((l) => l.trimEnd());
    const head = lines.findIndex((l) => l.startsWith('Run activity @fixer'));
    expect(head, screen).toBeGreaterThan(-1);
    expect(lines[head]).toContain('3 tool calls · 1 model calls · 1.0k cached');
    expect(lines.slice(head + 1)).toEqual(expect.arrayContaining(['  plan 2/3: run the tests', '  ✓ Read src/parser.ts', '  ✗ Bash npm test — FAIL parser.test.ts', '  ⟳ Edit src/parser.ts']));
    for (const line of lines) expect(line.length).toBeLessThanOrEqual(100);
    await daemon.cliHereOk(['cancel', sent.conversationId]);
    await paneWhere((s) => /@fixer d0 cancelled/.test(s), 'the cancelled run');
    tmux('send-keys', '-t', 'vis', 'q');
    await paneWhere((s) => /^dashboard exited 0$/m.test(s), 'the shell after q');
  }, 120_000);
});

describe('send --wait', () => {
  it('a line per tool call, result and plan change, in order; the reply on stdout', async () => {
    const sent = await daemon.cliHere(['send', '--agent', 'fixer', '--wait', 'please fix the parser']);
    expect(sent.code, sent.stderr).toBe(0);
    expect(sent.stdout).toContain('Parser fixed.');
    const lines = sent.stderr.split('\n').filter((l) => l.startsWith('@fixer: '));
    expect(lines).toEqual([
      '@fixer: plan 1/3: fix the parser',
      '@fixer: Read: src/parser.ts',
      '@fixer: Read: src/parser.ts done',
      '@fixer: Bash: npm test',
      '@fixer: Bash: npm test failed: FAIL parser.test.ts',
      '@fixer: plan 2/3: run the tests',
      '@fixer: Edit: src/parser.ts',
    ]);
  });

  it('--json: stdout stays one JSON document; every event passes through on stderr, one a line', async () => {
    const sent = await daemon.cliHere(['send', '--agent', 'fixer', '--wait', '--json', 'please fix the parser']);
    expect(sent.code, sent.stderr).toBe(0);
    const result = JSON.parse(sent.stdout) as { outcome: string; replies: Array<{ text: string }> };
    expect(result.outcome).toBe('completed');
    expect(result.replies).toHaveLength(1);
    expect(result.replies[0]!.text).toMatch(/^Parser fixed\./);
    const events = sent.stderr
      .split('\n')
      .filter((l) => l.trim() !== '')
      .map((l) => JSON.parse(l) as { type: string; data: Record<string, unknown> });
    // (`turn`: the agent's session turn, 2 here: the first test's conversation was turn 1)
    const activity = events.filter((e) => e.type === 'run.progress').map(({ data: { turn: _turn, ...data } }) => data);
    expect(activity.filter((d) => d['type'] !== 'text')).toEqual([
      { type: 'plan', steps: progress[0]!.plan },
      { type: 'tool', name: 'Read', id: 'call-1', kind: 'file_read', title: 'src/parser.ts' },
      { type: 'tool_result', name: 'Read', id: 'call-1', ok: true, output: 'export function parse() {}' },
      { type: 'tool', name: 'Bash', id: 'call-2', kind: 'command', title: 'npm test' },
      { type: 'usage', inputTokens: 1200, outputTokens: 40, cacheReadTokens: 1000 },
      { type: 'tool_result', id: 'call-2', ok: false, output: '\nFAIL parser.test.ts\n  expected 2, got 3' },
      { type: 'plan', steps: progress[6]!.plan },
      { type: 'plan', steps: progress[7]!.plan },
      { type: 'tool', name: 'Edit', id: 'call-3', kind: 'file_edit', title: 'src/parser.ts' },
    ]);
    expect(events.map((e) => e.type)).toContain('conversation.completed');
  });
});
