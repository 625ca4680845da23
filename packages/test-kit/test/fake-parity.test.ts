/**
 * The fakes of the agent CLIs (bin/claude, bin/codex, bin/opencode) against the shapes the real
 * CLIs were recorded writing (fixtures/cli-shapes, recorded by the real-CLI suite; src/cli-shapes.ts):
 * in each protocol, every message type a fake writes is one the real CLI writes, with no key the
 * real one's messages lack. So a fake cannot drift from its CLI without this failing: when a real
 * CLI renames or drops a key or a message, recording it again makes this test name the fake's
 * stale one.
 *
 * Each fake runs here through the scenarios the fast tests drive it with (directives in the prompt,
 * see bin/fake-common.cjs), as far as the real-CLI suite also makes the real CLI do them (a fake's
 * scenario the real suite never records, such as Claude Code's `FAKE:tasks`, cannot be compared
 * and is not run here).
 */
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { describe, expect, it } from 'vitest';
import { cleanupTemp, fakeCli, mergeShapes, readShapes, shapesBeyond, shapesOf, tempDir, type CliMode, type Shapes, type ShapeCli } from '../src/index.ts';

/** What one run of a fake wrote (stdout) and was sent (stdin), line by line. */
interface Traffic {
  out: string[];
  in: string[];
}

type Json = Record<string, unknown>;

/**
 * Runs a fake CLI: `talk` is given each message it writes and a `send` for ours (JSON lines on its
 * stdin); the run ends when the fake exits, or when `talk` returns true (stdin is closed and the
 * fake killed if it does not exit by itself).
 */
async function runFake(cli: ShapeCli, args: string[], talk: (msg: Json, send: (msg: Json) => void) => boolean, start?: (send: (msg: Json) => void) => void): Promise<Traffic> {
  const cwd = tempDir('tinyagi-fake-parity-');
  const child = spawn(fakeCli(cli), args, { cwd, env: { PATH: process.env.PATH ?? '', HOME: cwd, FAKE_STATE_DIR: cwd }, stdio: ['pipe', 'pipe', 'pipe'] });
  const traffic: Traffic = { out: [], in: [] };
  const send = (msg: Json): void => {
    const line = JSON.stringify(msg);
    traffic.in.push(line);
    child.stdin.write(`${line}\n`);
  };
  const done = new Promise<void>((resolve) => child.once('close', () => resolve()));
  createInterface({ input: child.stdout }).on('line', (line) => {
    traffic.out.push(line);
    let msg: Json;
    try {
      msg = JSON.parse(line) as Json;
    } catch {
      return;
    }
    if (talk(msg, send) === true) {
      child.stdin.end();
      setTimeout(() => child.kill('SIGKILL'), 2_000).unref();
    }
  });
  child.stderr.resume();
  start?.(send);
  if (!start) child.stdin.end();
  await done;
  return traffic;
}

/** A run with the prompt in argv: ends by itself, or when `until` says. */
const printRun = (cli: ShapeCli, args: string[], until: (msg: Json) => boolean = () => false) => runFake(cli, args, (msg) => until(msg));

/** A Claude Code stream-json session (the warm mode): initialize with a PreToolUse hook, one message, answers to its requests. */
function claudeStream(prompt: string, interrupt = false): Promise<Traffic> {
  let sent = 0;
  const control = (request: Json): Json => ({ type: 'control_request', request_id: `req_${++sent}`, request });
  return runFake(
    'claude',
    ['-p', '--input-format', 'stream-json', '--output-format', 'stream-json', '--verbose', '--permission-mode', 'default', '--permission-prompt-tool', 'stdio'],
    (msg, send) => {
      const request = msg.request as Json | undefined;
      if (msg.type === 'control_request' && request) {
        const response = request.subtype === 'can_use_tool' ? { behavior: 'allow', updatedInput: request.input } : {};
        send({ type: 'control_response', response: { subtype: 'success', request_id: msg.request_id, response } });
      }
      if (interrupt && msg.type === 'system' && msg.subtype === 'init') send(control({ subtype: 'interrupt', cancel_queued: true }));
      return msg.type === 'result';
    },
    (send) => {
      send(control({ subtype: 'initialize', hooks: { PreToolUse: [{ matcher: null, hookCallbackIds: ['hook_0'] }] } }));
      send({ type: 'user', message: { role: 'user', content: prompt }, parent_tool_use_id: null, session_id: '', uuid: '0b5f5c3e-1d1e-4a3c-9a57-4f1d2a4e6b70' });
    },
  );
}

/** A JSON-RPC session with `codex app-server`: initialize, a thread, one turn; approvals accepted; `during` runs once the turn started. */
function codexAppServer(prompt: string, during?: (send: (msg: Json) => void, thread: string, turn: string) => void, approvalPolicy = 'never'): Promise<Traffic> {
  let thread = '';
  return runFake(
    'codex',
    ['app-server'],
    (msg, send) => {
      const result = msg.result as Json | undefined;
      if (msg.id === 1 && result) {
        send({ method: 'initialized' });
        send({ id: 2, method: 'thread/start', params: { cwd: '.', approvalPolicy, developerInstructions: 'Be brief.' } });
      } else if (msg.id === 2 && result) {
        thread = String((result.thread as Json).id);
        send({ id: 3, method: 'turn/start', params: { threadId: thread, input: [{ type: 'text', text: prompt }] } });
      } else if (msg.method === 'turn/started') {
        during?.(send, thread, String(((msg.params as Json).turn as Json).id));
      } else if (msg.method === 'item/commandExecution/requestApproval') {
        send({ id: msg.id, result: { decision: 'accept' } });
      } else if (msg.method === 'mcpServer/elicitation/request') {
        send({ id: msg.id, result: { action: 'accept', content: null, _meta: null } });
      }
      return msg.method === 'turn/completed';
    },
    (send) => send({ id: 1, method: 'initialize', params: { clientInfo: { name: 'parity', version: '1.0.0' } } }),
  );
}

/** An ACP session with `opencode acp`: initialize, a session, one prompt; permission requests allowed once; `during` runs at the prompt's first update. */
function opencodeAcp(prompt: string, during?: (send: (msg: Json) => void, session: string) => void): Promise<Traffic> {
  let session = '';
  return runFake(
    'opencode',
    ['acp'],
    (msg, send) => {
      const result = msg.result as Json | undefined;
      if (msg.id === 1 && result) send({ jsonrpc: '2.0', id: 2, method: 'session/new', params: { cwd: process.cwd(), mcpServers: [] } });
      else if (msg.id === 2 && result) {
        session = String(result.sessionId);
        send({ jsonrpc: '2.0', id: 3, method: 'session/prompt', params: { sessionId: session, prompt: [{ type: 'text', text: prompt }] } });
      } else if (msg.method === 'session/update' && during) {
        during(send, session);
        during = undefined;
      } else if (msg.method === 'session/request_permission') {
        send({ jsonrpc: '2.0', id: msg.id, result: { outcome: { outcome: 'selected', optionId: 'once' } } });
      }
      return msg.id === 3;
    },
    (send) => send({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: 1, clientCapabilities: { fs: { readTextFile: false, writeTextFile: false } } } }),
  );
}

/** The fakes' traffic per protocol, from the scenarios each one is run through. */
const scenarios: Record<CliMode, () => Promise<Traffic[]>> = {
  'claude-print': () =>
    Promise.all(
      ['FAKE:reply=hello', 'FAKE:tool', 'FAKE:bash=echo hi', 'FAKE:429'].map((prompt) =>
        printRun('claude', ['-p', '--output-format', 'stream-json', '--verbose', '--dangerously-skip-permissions', prompt], (m) => m.type === 'result'),
      ),
    ),
  'claude-stream': () => Promise.all([claudeStream('FAKE:reply=hello'), claudeStream('FAKE:tool'), claudeStream('FAKE:edit'), claudeStream('FAKE:hang', true)]),
  'codex-exec': () => Promise.all(['FAKE:reply=hello', 'FAKE:tool', 'FAKE:429'].map((prompt) => printRun('codex', ['exec', '--json', '--skip-git-repo-check', prompt]))),
  'codex-app-server': () =>
    Promise.all([
      codexAppServer('FAKE:reply=hello'),
      codexAppServer('FAKE:tool'),
      codexAppServer('FAKE:429'),
      codexAppServer('FAKE:ask-approval'),
      codexAppServer('FAKE:ask-mcp=tinyagi/call_agent', undefined, 'untrusted'),
      codexAppServer('FAKE:wait-steer', (send, threadId, turnId) => send({ id: 4, method: 'turn/steer', params: { threadId, expectedTurnId: turnId, input: [{ type: 'text', text: 'also this' }] } })),
      codexAppServer('FAKE:hang', (send, threadId, turnId) => send({ id: 4, method: 'turn/interrupt', params: { threadId, turnId } })),
    ]),
  'opencode-run': () => Promise.all(['FAKE:reply=hello', 'FAKE:tool', 'FAKE:429'].map((prompt) => printRun('opencode', ['run', '--format', 'json', prompt]))),
  'opencode-acp': () =>
    Promise.all([
      opencodeAcp('FAKE:reply=hello'),
      opencodeAcp('FAKE:tool'),
      opencodeAcp('FAKE:permission'),
      opencodeAcp('FAKE:hang', (send, sessionId) => send({ jsonrpc: '2.0', method: 'session/cancel', params: { sessionId } })),
    ]),
};

/**
 * Message types a fake writes that the real-CLI suite cannot make the real CLI write, with why:
 * not compared. Each must be missing from the recording (once recorded, it is compared).
 */
const NOT_RECORDABLE: Partial<Record<CliMode, Record<string, string>>> = {
  'codex-exec': { 'item.completed/reasoning': 'the stand-in model sends no reasoning' },
  'opencode-acp': { 'session/update/usage_update': "OpenCode sends it only for a model with a known context limit, and a custom provider's model has none" },
};

describe('the fakes write the messages the real CLIs write', () => {
  for (const mode of Object.keys(scenarios) as CliMode[]) {
    it(`${mode}: every message type and key of the fake's is in the real CLI's recorded shapes`, async () => {
      const fixture = readShapes(mode);
      expect(fixture, `no recorded shapes for ${mode}: run the real-CLI suite with TINYAGI_RECORD_SHAPES=1`).toBeDefined();
      let fake: Shapes = {};
      for (const t of await scenarios[mode]()) fake = mergeShapes(fake, shapesOf(mode, t.out, t.in));
      expect(Object.keys(fake).length, 'the fake wrote protocol messages').toBeGreaterThan(0);
      const unrecordable = Object.keys(NOT_RECORDABLE[mode] ?? {});
      expect(
        unrecordable.filter((type) => type in fixture!.messages),
        'recorded now: compare them (remove them from NOT_RECORDABLE)',
      ).toEqual([]);
      const compared = Object.fromEntries(Object.entries(fake).filter(([type]) => !unrecordable.includes(type)));
      expect(shapesBeyond(compared, fixture!.messages), `the fake's messages that ${fixture!.cli} ${fixture!.version} does not write`).toEqual([]);
      cleanupTemp();
    });
  }
});
